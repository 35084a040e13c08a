#include "verdicts.h"

#include <algorithm>
#include <array>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "cell.h"
#include "op_group.h"
#include "report_model.h"
#include "text_util.h"

namespace pvm {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<Verdict, const char*>, 9> kVerdictNames{{
    {Verdict::Regression, "REGRESSION"},
    {Verdict::BindingLost, "BINDING_LOST"},
    {Verdict::Fixed, "FIXED"},
    {Verdict::StillFailing, "STILL_FAILING"},
    {Verdict::BindingChanged, "BINDING_CHANGED"},
    {Verdict::New, "NEW"},
    {Verdict::Gone, "GONE"},
    {Verdict::Error, "ERROR"},
    {Verdict::Unchanged, "UNCHANGED"},
}};

// Order verdicts are listed in: what needs a person first.
int rank(Verdict v) {
  switch (v) {
    case Verdict::Regression: return 0;
    case Verdict::BindingLost: return 1;
    case Verdict::Error: return 2;
    case Verdict::Fixed: return 3;
    case Verdict::BindingChanged: return 4;
    case Verdict::StillFailing: return 5;
    case Verdict::New: return 6;
    case Verdict::Gone: return 7;
    case Verdict::Unchanged: return 8;
  }
  return 9;
}

// A cell that booted and passed: on the first try, on a retry (FLAKY), or against an
// expectation (XPASS).
bool works(const std::string& status) {
  auto s = status_from_string(status);
  return s && pvm::works(*s);
}

// Guest text on one line of a summary: control characters become spaces, long text is cut.
std::string one_line(const std::string& text, size_t limit = 160) {
  std::string out;
  for (char c : text) {
    if (out.size() >= limit) {
      out += "...";
      break;
    }
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::vector<std::string> binding_changes(const ReportCell& b, const ReportCell& h) {
  std::set<std::string> keys;
  for (const auto& [k, _] : b.binding) keys.insert(k);
  for (const auto& [k, _] : h.binding) keys.insert(k);
  std::vector<std::string> order(std::begin(kOpGroups), std::end(kOpGroups));
  for (const auto& k : keys)
    if (std::find(order.begin(), order.end(), k) == order.end()) order.push_back(k);
  auto get = [](const ReportCell& s, const std::string& k) {
    auto it = s.binding.find(k);
    return it == s.binding.end() ? std::string{"?"} : it->second;
  };
  std::vector<std::string> changes;
  for (const auto& k : order) {
    if (!keys.count(k)) continue;
    std::string from = get(b, k), to = get(h, k);
    if (from != to) changes.push_back(k + ": " + from + " -> " + to);
  }
  return changes;
}

// Groups the base bound to the hypervisor that the head runs natively with no mask asking.
std::vector<std::string> lost_groups(const ReportCell& b, const ReportCell& h) {
  const std::set<std::string> masked = masked_groups(h.cmdline);
  std::vector<std::string> lost;
  for (const char* g : kOpGroups) {
    auto bt = b.binding.find(g), ht = h.binding.find(g);
    if (bt == b.binding.end() || ht == h.binding.end()) continue;
    if (bt->second != "native" && ht->second == "native" && !masked.count(g)) lost.push_back(g);
  }
  return lost;
}

Verdict verdict_of(const ReportCell* b, const ReportCell* h, bool binding_differs, bool binding_lost) {
  if (!b) return Verdict::New;
  if (!h) return Verdict::Gone;
  // Infrastructure failures are never blamed on the kernel.
  if (b->status == "ERROR" || h->status == "ERROR") return Verdict::Error;
  if (b->status == "SKIP" || h->status == "SKIP") return Verdict::Unchanged;
  bool bw = works(b->status), hw = works(h->status);
  if (bw && !hw) return Verdict::Regression;
  if (!bw && hw) return Verdict::Fixed;
  if (!bw && !hw) return Verdict::StillFailing;
  if (binding_lost) return Verdict::BindingLost;
  return binding_differs ? Verdict::BindingChanged : Verdict::Unchanged;
}

// "FAIL at stage timer (probe time.oneshot: SetAlarm refused one-shot)"
std::string describe(const ReportCell& s) {
  std::string out = s.status;
  if (!works(s.status) && s.status != "SKIP") {
    if (!s.stage.empty()) out += " at stage " + s.stage;
    if (!s.failed_probe.empty()) {
      out += " (probe " + s.failed_probe;
      if (!s.failed_probe_detail.empty()) out += ": " + one_line(s.failed_probe_detail);
      out += ")";
    } else if (!s.reason.empty()) {
      out += " (" + one_line(s.reason) + ")";
    }
  }
  return out;
}

json binding_json(const std::optional<ReportCell>& s) {
  if (!s) return nullptr;
  json j = json::object();
  for (const auto& [k, v] : s->binding) j[k] = v;
  return j;
}

}  // namespace

const char* to_string(Verdict v) {
  for (const auto& [value, name] : kVerdictNames)
    if (value == v) return name;
  return "UNCHANGED";
}

std::optional<Verdict> verdict_from_string(const std::string& s) {
  for (const auto& [value, name] : kVerdictNames)
    if (s == name) return value;
  return std::nullopt;
}

size_t VerdictSet::count(Verdict v) const {
  return static_cast<size_t>(std::count_if(cells.begin(), cells.end(), [v](const CellVerdict& c) { return c.verdict == v; }));
}

CellVerdict* VerdictSet::find(const std::string& id) {
  for (auto& c : cells)
    if (c.id == id) return &c;
  return nullptr;
}

CellVerdict judge(const std::string& id, const json* base, const json* head) {
  CellVerdict v;
  v.id = id;
  const json& any = head ? *head : *base;
  v.kernel = string_field(any, "kernel");
  v.hv = string_field(any, "hv");
  v.config = string_field(any, "config");
  if (base) v.base = read_report_cell(*base);
  if (head) v.head = read_report_cell(*head);
  if (v.base && v.head) {
    v.binding_changes = binding_changes(*v.base, *v.head);
    v.lost_groups = lost_groups(*v.base, *v.head);
  }
  v.verdict = verdict_of(v.base ? &*v.base : nullptr, v.head ? &*v.head : nullptr, !v.binding_changes.empty(),
                         !v.lost_groups.empty());
  if (v.verdict != Verdict::BindingLost) v.lost_groups.clear();
  v.needs_rerun = (v.base && v.base->status == "FLAKY") || (v.head && v.head->status == "FLAKY") ||
                  v.verdict == Verdict::Regression || v.verdict == Verdict::BindingLost;
  return v;
}

bool diff(const json& base, const json& head, VerdictSet* out, std::string* err) {
  // Cells by id, keeping the order they appear in (head first, then cells only in base).
  auto index = [err](const json& report, const char* side, std::vector<std::pair<std::string, const json*>>* cells) {
    if (!report.is_object()) {
      *err = std::string(side) + ": not a JSON object (expected a report.json)";
      return false;
    }
    auto it = report.find("cells");
    if (it == report.end() || !it->is_array()) {
      *err = std::string(side) + ": no \"cells\" array (expected a report.json)";
      return false;
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < it->size(); ++i) {
      const json& cell = (*it)[i];
      std::string id = cell.is_object() ? string_field(cell, "id") : "";
      if (id.empty()) {
        *err = std::string(side) + ": cells[" + std::to_string(i) + "] has no string \"id\"";
        return false;
      }
      if (!cell.contains("status") || !cell.at("status").is_string()) {
        *err = std::string(side) + ": cells[" + std::to_string(i) + "] (" + id + ") has no string \"status\"";
        return false;
      }
      if (!seen.insert(id).second) {
        *err = std::string(side) + ": cells[" + std::to_string(i) + "]: duplicate id " + id;
        return false;
      }
      cells->emplace_back(id, &cell);
    }
    return true;
  };
  std::vector<std::pair<std::string, const json*>> b, h;
  if (!index(base, "base", &b) || !index(head, "head", &h)) return false;

  std::map<std::string, const json*> base_by_id(b.begin(), b.end());
  std::set<std::string> head_ids;
  out->cells.clear();
  for (const auto& [id, cell] : h) {
    head_ids.insert(id);
    auto it = base_by_id.find(id);
    out->cells.push_back(judge(id, it == base_by_id.end() ? nullptr : it->second, cell));
  }
  for (const auto& [id, cell] : b)
    if (!head_ids.count(id)) out->cells.push_back(judge(id, cell, nullptr));
  std::stable_sort(out->cells.begin(), out->cells.end(),
                   [](const CellVerdict& x, const CellVerdict& y) { return rank(x.verdict) < rank(y.verdict); });
  return true;
}

void confirm_with_rerun(CellVerdict* v, const json& base_cell, const json& rerun_cell) {
  json head = rerun_cell;
  std::string rerun_status = string_field(rerun_cell, "status");
  bool head_was_clean = v->head && (v->head->status == "PASS" || v->head->status == "XPASS");
  // Failed before, passes now: that is what FLAKY means.
  if (works(rerun_status) && !head_was_clean) head["status"] = "FLAKY";
  auto workarounds = std::move(v->workarounds);
  *v = judge(v->id, base_cell.is_object() ? &base_cell : nullptr, &head);
  v->workarounds = std::move(workarounds);
  v->rerun = rerun_status;
  v->needs_rerun = false;
}

std::set<std::string> masked_groups(const std::string& cmdline) {
  std::set<std::string> out;
  size_t pos = 0;
  while (pos < cmdline.size()) {
    size_t end = cmdline.find(' ', pos);
    std::string word = cmdline.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? cmdline.size() : end + 1;
    const std::string key = "pv.native=";
    if (word.rfind(key, 0) != 0) continue;
    std::string list = word.substr(key.size());
    size_t p = 0;
    while (p <= list.size()) {
      size_t comma = list.find(',', p);
      std::string g = list.substr(p, comma == std::string::npos ? std::string::npos : comma - p);
      if (g == "all") out.insert(std::begin(kOpGroups), std::end(kOpGroups));
      else if (!g.empty()) out.insert(g);
      if (comma == std::string::npos) break;
      p = comma + 1;
    }
  }
  return out;
}

std::string verdict_line(const CellVerdict& v) {
  std::string line = std::string(to_string(v.verdict)) + " " + v.id + ": ";
  const ReportCell* b = v.base ? &*v.base : nullptr;
  const ReportCell* h = v.head ? &*v.head : nullptr;
  switch (v.verdict) {
    case Verdict::New: line += "new cell, " + describe(*h); break;
    case Verdict::Gone: line += "no longer in the run, was " + describe(*b); break;
    case Verdict::StillFailing:
      line += describe(*h);
      if (b->status != h->status || b->stage != h->stage || b->failed_probe != h->failed_probe)
        line += ", was " + describe(*b);
      break;
    case Verdict::Unchanged:
      line += describe(*h);
      break;
    case Verdict::BindingChanged:
      line += h->status;
      break;
    case Verdict::BindingLost:
      line += h->status + " but stopped using the hypervisor for " + join(v.lost_groups, ", ") +
              " (no pv.native mask asks for it)";
      break;
    default:
      line += "was " + describe(*b) + ", now " + describe(*h);
  }
  if (h && v.verdict == Verdict::Error) line += "; infrastructure, not blamed on the kernel";
  if (!v.binding_changes.empty())
    line += (v.verdict == Verdict::BindingChanged || v.verdict == Verdict::BindingLost ? ", " : "; binding ") +
            join(v.binding_changes, ", ");
  if (h && !h->expected_reason.empty() && v.verdict == Verdict::Regression)
    line += "; known issue: " + one_line(h->expected_reason);
  if (v.verdict == Verdict::Regression && !v.workarounds.empty()) {
    std::vector<std::string> ok;
    for (const auto& w : v.workarounds)
      if (works(w.status)) ok.push_back(w.mask);
    line += ok.empty() ? "; no workaround tried works" : "; works around with " + join(ok, " or ");
  }
  if (!v.rerun.empty()) line += " [re-run: " + v.rerun + "]";
  if (v.needs_rerun) {
    bool flaky = (b && b->status == "FLAKY") || (h && h->status == "FLAKY");
    line += flaky ? " [FLAKY: needs re-run]" : " [needs re-run]";
  }
  return line;
}

std::string render_markdown(const VerdictSet& set) {
  std::string md = "# pvmatrix verdicts";
  if (!set.base_label.empty() || !set.head_label.empty()) md += ": " + set.head_label + " against " + set.base_label;
  md += "\n\n";
  std::vector<std::string> counts;
  for (const auto& [value, name] : kVerdictNames)
    if (size_t n = set.count(value)) counts.push_back(std::to_string(n) + " " + name);
  md += counts.empty() ? std::string("no cells") : join(counts, ", ");
  if (set.fails()) {
    std::vector<std::string> why;
    if (size_t n = set.count(Verdict::Regression)) why.push_back(std::to_string(n) + " regression(s)");
    if (size_t n = set.count(Verdict::BindingLost))
      why.push_back(std::to_string(n) + " cell(s) that stopped using the hypervisor (BINDING_LOST)");
    md += ". **The gate fails: " + join(why, ", ") + ".**\n";
  } else {
    md += ". No regression.\n";
  }
  Verdict current = Verdict::Unchanged;
  bool first = true;
  for (const auto& v : set.cells) {
    if (v.verdict == Verdict::Unchanged && !v.needs_rerun) continue;
    if (first || v.verdict != current) {
      md += std::string("\n## ") + to_string(v.verdict) + "\n\n";
      current = v.verdict;
      first = false;
    }
    md += "- " + verdict_line(v) + "\n";
    if (v.verdict == Verdict::Regression && v.head) {
      if (!v.head->reason.empty()) md += "  - reason: " + one_line(v.head->reason, 300) + "\n";
      if (!v.head->evidence.empty()) {
        md += "  - evidence:\n\n    ```\n";
        std::string ev = v.head->evidence.substr(0, 2000);
        size_t pos = 0;
        while (pos < ev.size()) {
          size_t nl = ev.find('\n', pos);
          std::string ln = ev.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
          // A guest line can't close the fence.
          if (ln.rfind("```", 0) == 0) ln = " " + ln;
          md += "    " + one_line(ln, 300) + "\n";
          if (nl == std::string::npos) break;
          pos = nl + 1;
        }
        md += "    ```\n";
      }
    }
  }
  return md;
}

void to_json(json& j, const CellVerdict& v) {
  json wa = json::array();  // [] when none was tried
  for (const auto& w : v.workarounds) wa.push_back(w);
  j = json{{"id", v.id},
           {"verdict", to_string(v.verdict)},
           {"kernel", v.kernel},
           {"hv", v.hv},
           {"config", v.config},
           {"base_status", v.base ? json(v.base->status) : json(nullptr)},
           {"head_status", v.head ? json(v.head->status) : json(nullptr)},
           {"base_binding", binding_json(v.base)},
           {"head_binding", binding_json(v.head)},
           {"binding_changes", v.binding_changes},
           {"lost_groups", v.lost_groups},
           {"needs_rerun", v.needs_rerun},
           {"rerun", v.rerun.empty() ? json(nullptr) : json(v.rerun)},
           {"workarounds", wa},
           {"line", verdict_line(v)},
           {"base_reason", v.base ? json(v.base->reason) : json(nullptr)},
           {"head_reason", v.head ? json(v.head->reason) : json(nullptr)},
           {"head_stage", v.head ? json(v.head->stage) : json(nullptr)},
           {"head_probe", v.head && !v.head->failed_probe.empty() ? json(v.head->failed_probe) : json(nullptr)},
           {"head_probe_detail", v.head && !v.head->failed_probe.empty() ? json(v.head->failed_probe_detail) : json(nullptr)},
           {"evidence", v.head ? json(v.head->evidence) : json(nullptr)}};
}

void to_json(json& j, const VerdictSet& set) {
  json summary = json::object();
  for (const auto& [value, name] : kVerdictNames) summary[name] = set.count(value);
  json cells = json::array();
  for (const auto& v : set.cells) cells.push_back(v);
  j = json{{"schema", "pvmatrix-verdicts"},
           {"schema_version", 1},
           {"base", set.base_label},
           {"head", set.head_label},
           {"summary", summary},
           {"regressions", set.count(Verdict::Regression)},
           {"bindings_lost", set.count(Verdict::BindingLost)},
           {"verdicts", cells}};
}

void annotate_report(json* report, const VerdictSet& set) {
  json verdicts = json::array();
  for (const auto& v : set.cells) verdicts.push_back(v);
  set_report_verdicts(report, std::move(verdicts));
  for_each_report_cell(report, [&](json& cell, const std::string& id) {
    for (const auto& v : set.cells)
      if (v.id == id) return set_cell_verdict(&cell, to_string(v.verdict), v.workarounds);
  });
}

}  // namespace pvm
