#include "known_issues.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "json_text.h"

namespace pvm {
using nlohmann::json;

namespace {
bool is_expectable(Status s) { return s == Status::Fail || s == Status::Crash || s == Status::Hang; }
bool is_failure_outcome(Status s) { return s != Status::Pass && s != Status::Skip; }
}  // namespace

bool KnownIssues::load(const std::string& path, std::string* err) {
  std::string text;
  if (!read_text_file(path, &text, err)) return false;
  return parse(text, path, err);
}

bool KnownIssues::parse(const std::string& text, const std::string& path, std::string* err) {
  JsonError jerr;
  std::optional<JsonText> doc_text = JsonText::parse(text, path, &jerr);
  if (!doc_text) return *err = jerr.to_string(), false;
  const json& doc = doc_text->root();
  auto error = [&](const std::string& ptr, std::string message) {
    return doc_text->error_at(ptr, std::move(message)).to_string();
  };
  auto check_keys = [&](const std::string& ptr, std::initializer_list<std::string_view> allowed) {
    if (doc_text->check_keys(ptr, allowed, &jerr)) return true;
    std::string names;
    for (std::string_view k : allowed) names += (names.empty() ? "" : ", ") + std::string(k);
    jerr.message += " (expected one of: " + names + ")";
    *err = jerr.to_string();
    return false;
  };
  if (!doc.is_object() || !doc.contains("known_issues") || !doc["known_issues"].is_array()) {
    *err = error("", "a known-issue file is {\"known_issues\": [{\"cells\", \"expect\", \"reason\", \"link\"}, ...]}");
    return false;
  }
  if (!check_keys("", {"known_issues", "description"})) return false;
  const json& list = doc["known_issues"];
  for (size_t i = 0; i < list.size(); ++i) {
    std::string ptr = "/known_issues/" + std::to_string(i);
    const json& e = list[i];
    if (!e.is_object()) return *err = error(ptr, "expected {\"cells\", \"expect\", \"reason\", \"link\"}"), false;
    if (!check_keys(ptr, {"cells", "expect", "reason", "link"})) return false;
    KnownIssue issue;
    issue.where = error(ptr, "");
    issue.where.resize(issue.where.find(": "));
    // cells: one pattern or an array of patterns.
    if (!e.contains("cells")) return *err = error(ptr, "missing \"cells\" (a cell pattern)"), false;
    std::vector<std::pair<std::string, std::string>> patterns;  // (text, pointer)
    if (e["cells"].is_string()) {
      patterns.push_back({e["cells"].get<std::string>(), ptr + "/cells"});
    } else if (e["cells"].is_array() && !e["cells"].empty()) {
      for (size_t j = 0; j < e["cells"].size(); ++j) {
        std::string p = ptr + "/cells/" + std::to_string(j);
        if (!e["cells"][j].is_string()) return *err = error(p, "expected a cell pattern string"), false;
        patterns.push_back({e["cells"][j].get<std::string>(), p});
      }
    } else {
      return *err = error(ptr + "/cells", "\"cells\" must be a cell pattern or an array of them"), false;
    }
    for (const auto& [pattern_text, p] : patterns) {
      std::string perr;
      auto pat = CellPattern::parse(pattern_text, &perr);
      if (!pat) return *err = error(p, perr), false;
      issue.cells.push_back(std::move(*pat));
    }
    // expect: one outcome or an array of them.
    if (!e.contains("expect")) return *err = error(ptr, "missing \"expect\" (FAIL, CRASH or HANG)"), false;
    std::vector<std::pair<json, std::string>> expects;
    if (e["expect"].is_array() && !e["expect"].empty()) {
      for (size_t j = 0; j < e["expect"].size(); ++j)
        expects.push_back({e["expect"][j], ptr + "/expect/" + std::to_string(j)});
    } else {
      expects.push_back({e["expect"], ptr + "/expect"});
    }
    for (const auto& [v, p] : expects) {
      std::optional<Status> s = v.is_string() ? status_from_string(v.get<std::string>()) : std::nullopt;
      if (!s || !is_expectable(*s))
        return *err = error(p, fmt::format("\"expect\" must be FAIL, CRASH or HANG (got {})", v.dump())), false;
      issue.expect.push_back(*s);
    }
    if (!e.contains("reason") || !e["reason"].is_string() || e["reason"].get<std::string>().empty())
      return *err = error(e.contains("reason") ? ptr + "/reason" : ptr, "every known issue needs a \"reason\""), false;
    issue.reason = e["reason"].get<std::string>();
    if (e.contains("link")) {
      if (!e["link"].is_string()) return *err = error(ptr + "/link", "\"link\" must be a string"), false;
      issue.link = e["link"].get<std::string>();
    }
    entries_.push_back(std::move(issue));
  }
  return true;
}

bool KnownIssues::check_names(const std::vector<std::string>& kernels, const std::vector<std::string>& hvs,
                               std::string* err) const {
  auto known = [](const std::vector<std::string>& names, const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  auto list = [](const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : " ") + n;
    return s;
  };
  for (const KnownIssue& issue : entries_)
    for (const CellPattern& p : issue.cells)
      for (const auto& [key, names] : {std::pair{"kernel", &kernels}, std::pair{"hv", &hvs}})
        for (const std::string& n : p.literal_names(key))
          if (!known(*names, n)) {
            *err = issue.where + ": cells: \"" + p.text() + "\": " + key + " \"" + n + "\" does not exist (known: " +
                   list(*names) + ")";
            return false;
          }
  return true;
}

bool load_known_issues(const Matrix& matrix, const World& world, KnownIssues* out, std::string* err) {
  for (const std::string& f : matrix.known_issue_files)
    if (!out->load(f, err)) return false;
  std::vector<std::string> kernels = world.releases(), hvs;
  kernels.insert(kernels.end(), world.fixtures().begin(), world.fixtures().end());
  for (const auto& v : world.versions()) hvs.push_back(v.name);
  return out->check_names(kernels, hvs, err);
}

const KnownIssue* KnownIssues::find(const std::string& kernel, const std::string& hv, const std::string& cfg) const {
  for (const KnownIssue& issue : entries_)
    for (const CellPattern& p : issue.cells)
      if (p.matches(kernel, hv, cfg)) return &issue;
  return nullptr;
}

bool should_retry(const KnownIssue* issue, Status outcome) {
  if (!is_failure_outcome(outcome)) return false;
  return !issue || std::find(issue->expect.begin(), issue->expect.end(), outcome) == issue->expect.end();
}

void apply_expectation(const KnownIssue* issue, CellResult* cell) {
  if (issue) {
    cell->expected = to_string(issue->expect.front());
    cell->expected_reason = issue->reason;
    cell->expected_link = issue->link;
  } else {
    cell->expected.reset();
    cell->expected_reason.clear();
    cell->expected_link.clear();
  }
  const Status last = cell->outcome;
  bool failed_before = false;
  for (size_t i = 0; i + 1 < cell->attempts.size(); ++i)
    failed_before = failed_before || is_failure_outcome(cell->attempts[i].status);
  if (last == Status::Pass && failed_before) {
    cell->status = Status::Flaky;
    cell->reason = fmt::format("passed on attempt {} after failing: {}", cell->attempts.size(),
                               cell->attempts.front().reason);
  } else if (last == Status::Pass) {
    cell->status = issue ? Status::Xpass : Status::Pass;
    if (issue) cell->reason = "passed, but a known issue expects " + *cell->expected + ": " + issue->reason;
  } else if (issue && std::find(issue->expect.begin(), issue->expect.end(), last) != issue->expect.end()) {
    cell->status = Status::Xfail;
    cell->expected = to_string(last);
  } else {
    cell->status = last;
  }
}

}  // namespace pvm
