#include "run_report.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "cell.h"
#include "html_report.h"
#include "report_model.h"
#include "text_util.h"

namespace pvm {
using nlohmann::json;

json summarize_cells(const json& cells) {
  json by_status = json::object();
  for (const StatusInfo& s : kStatuses) by_status[s.name] = 0;
  json by_kernel = json::object();
  json by_hv = json::object();
  int unexpected = 0;
  // Host pressure: what QEMU got against the wall time its boots took, over every attempt that
  // measured it (docs/contracts.md "Timeouts").
  uint64_t wall = 0, cpu = 0, starved = 0, measured = 0;
  for (const json& cell : cells) {
    const ReportCell c = read_report_cell(cell);
    for (const ReportCell::Attempt& a : c.attempts) {
      if (!a.starved_ms || !a.cpu_ms) continue;
      ++measured;
      wall += a.duration_ms;
      cpu += *a.cpu_ms;
      starved += *a.starved_ms;
    }
    by_status[c.status] = by_status.value(c.status, 0) + 1;
    for (json* group : {&by_kernel[c.kernel], &by_hv[c.hv]}) {
      if (group->is_null()) *group = json::object();
      (*group)[c.status] = group->value(c.status, 0) + 1;
    }
    auto s = c.known_status();
    if (!s || is_unexpected_failure(*s)) ++unexpected;
  }
  json out{{"total", cells.size()},
           {"unexpected", unexpected},
           {"by_status", by_status},
           {"by_kernel", by_kernel},
           {"by_hv", by_hv}};
  if (measured > 0)
    out["host"] = {{"attempts", measured}, {"wall_ms", wall}, {"qemu_cpu_ms", cpu}, {"starved_ms", starved},
                   {"starved_fraction", wall ? static_cast<double>(starved) / static_cast<double>(wall) : 0.0}};
  return out;
}

json prediction_findings(const json& cells) {
  json out = json::array();
  for (const json& cell : cells) {
    const ReportCell c = read_report_cell(cell);
    if (!c.predicted || !c.predicted->status) continue;
    const ReportCell::Predicted& pred = *c.predicted;
    const std::string& predicted = *pred.status;
    const std::string& observed = c.outcome.empty() ? c.status : c.outcome;
    if (observed == "ERROR" || observed == "SKIP") continue;  // infrastructure: nothing was observed
    auto finding = [&](const char* kind, std::string p, std::string o, std::string detail) {
      out.push_back({{"id", c.id}, {"kind", kind}, {"predicted", p}, {"observed", o}, {"detail", detail}});
    };
    if (predicted != observed) {
      finding("status", predicted, observed,
              fmt::format("predicted {} ({}), the boot showed {}: {}", predicted, pred.reason, observed, c.reason));
      continue;
    }
    if (predicted == "FAIL") {
      if (c.failed_probe != pred.probe) {
        finding("probe", pred.probe, c.failed_probe,
                fmt::format("both FAIL, but the prediction names probe {} and the boot failed {} first", pred.probe,
                            c.failed_probe));
      }
    }
    if (!c.binding.empty() && pred.binding) {
      std::vector<std::string> diffs;
      for (const auto& [group, want] : *pred.binding) {
        auto it = c.binding.find(group);
        const std::string got = it == c.binding.end() ? "native" : it->second;
        if (got != want) diffs.push_back(fmt::format("{} predicted {}, bound {}", group, want, got));
      }
      if (!diffs.empty()) {
        std::vector<std::string> p, o;
        for (const auto& [group, v] : *pred.binding) p.push_back(group + "=" + v);
        for (const auto& [group, v] : c.binding) o.push_back(group + "=" + v);
        finding("binding", join(p, " "), join(o, " "), "binding differs: " + join(diffs, "; "));
      }
    }
  }
  return out;
}

void sort_cells_by_axes(const ReportAxes& axes, json* cells) {
  auto index_of = [](const auto& list, const std::string& name, auto name_of) {
    for (size_t i = 0; i < list.size(); ++i)
      if (name_of(list[i]) == name) return i;
    return list.size();
  };
  auto itself = [](const std::string& s) { return s; };
  using Key = std::tuple<size_t, size_t, size_t, std::string>;
  std::vector<std::pair<Key, json>> keyed;
  for (json& c : *cells) {
    const ReportCell r = read_report_cell(c);
    Key key{index_of(axes.kernels, r.kernel, itself), index_of(axes.hypervisors, r.hv, itself),
            index_of(axes.configs, r.config, [](const ReportAxisConfig& cfg) { return cfg.name; }), r.id};
    keyed.emplace_back(std::move(key), std::move(c));
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  json sorted = json::array();
  for (auto& [key, c] : keyed) sorted.push_back(std::move(c));
  *cells = std::move(sorted);
}

json make_report(json meta, json axes, json cells, bool complete) {
  json summary = summarize_cells(cells);
  json findings = prediction_findings(cells);  // [] without predictions
  json report = report_document(std::move(meta), std::move(cells), complete);
  set_report_parts(&report, std::move(axes), std::move(summary), std::move(findings));
  return report;
}

bool merge_reports(const std::vector<json>& reports, const std::vector<std::string>& names, json* out,
                   std::string* err) {
  if (reports.empty()) return *err = "report merge: no input reports", false;
  const json& first = reports.front();
  auto name = [&](size_t i) { return i < names.size() ? names[i] : fmt::format("input {}", i + 1); };
  // What must agree between shards, as shown in messages: the JSON value, null when absent.
  auto shown = [](const std::optional<std::string>& v) { return (v ? json(*v) : json(nullptr)).dump(); };
  auto digest = [](const ReportHeader& h) { return h.meta.matrix ? h.meta.matrix->sha256 : std::nullopt; };
  auto revision = [](const ReportHeader& h) { return h.meta.git ? h.meta.git->revision : std::nullopt; };
  const ReportHeader head = read_report_header(first);
  const ReportAxes axes = read_report_axes(first);
  std::map<std::string, size_t> seen;  // cell id -> input index
  json cells = json::array();
  std::vector<ReportSource> sources;
  bool complete = true;
  std::string started, ended;
  for (size_t i = 0; i < reports.size(); ++i) {
    const json& r = reports[i];
    const ReportHeader h = read_report_header(r);
    if (r.value("schema_version", 0) != first.value("schema_version", 0))
      return *err = fmt::format("report merge: {} and {} have different schema versions", name(0), name(i)), false;
    if (digest(h) != digest(head))
      return *err = fmt::format("report merge: {} and {} ran different matrix files (sha256 {} vs {})", name(0),
                                name(i), shown(digest(head)), shown(digest(h))),
             false;
    if (revision(h) != revision(head))
      return *err = fmt::format("report merge: {} and {} come from different git revisions ({} vs {})", name(0),
                                name(i), shown(revision(head)), shown(revision(h))),
             false;
    if (read_report_axes(r) != axes)
      return *err = fmt::format("report merge: {} and {} have different axes", name(0), name(i)), false;
    const json* shard_cells = report_cells(r);
    if (!shard_cells) return *err = fmt::format("report merge: {} is not a report (no cells)", name(i)), false;
    for (const json& c : *shard_cells) {
      std::string id = report_cell_id(c);
      auto [it, inserted] = seen.emplace(id, i);
      if (!inserted)
        return *err = fmt::format("report merge: cell {} is in both {} and {} (conflict)", id, name(it->second),
                                  name(i)),
               false;
      cells.push_back(c);
    }
    complete = complete && h.complete.value_or(false);
    if (!h.meta.started_at.empty() && (started.empty() || h.meta.started_at < started)) started = h.meta.started_at;
    if (!h.meta.ended_at.empty() && h.meta.ended_at > ended) ended = h.meta.ended_at;
    sources.push_back({name(i), h.meta.host, h.meta.shard, h.complete.value_or(false), shard_cells->size()});
  }
  RunMeta merged = head.meta;
  merged.shard.clear();
  merged.started_at = started;
  merged.ended_at = ended;
  merged.duration_ms.reset();
  merged.merged_from = std::move(sources);
  json meta = merged;
  for (const auto& [key, value] : report_meta(first).items())
    if (!meta.contains(key)) meta[key] = value;  // fields a newer pvmatrix added pass through
  sort_cells_by_axes(axes, &cells);
  *out = make_report(std::move(meta), json(axes), std::move(cells), complete);
  return true;
}

// ---------------------------------------------------------------------------------------
// Writers
// ---------------------------------------------------------------------------------------

namespace {
class JsonReport : public ReportWriter {
 public:
  std::string file_name() const override { return "report.json"; }
  bool render(const json& report, std::string* out, std::string* err) const override {
    try {
      // Guest text may hold invalid UTF-8: replace it rather than fail the whole report.
      *out = report.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
      return true;
    } catch (const std::exception& e) {
      *err = std::string("report.json: ") + e.what();
      return false;
    }
  }
};

/// report.html: the renderer is reports/html_report.* (the HTML report's owner); this only
/// adapts it to ReportWriter so the file is written atomically like the others.
class HtmlReport : public ReportWriter {
 public:
  std::string file_name() const override { return "report.html"; }
  bool render(const json& report, std::string* out, std::string* err) const override {
    try {
      *out = render_html_report(report);
      return true;
    } catch (const std::exception& e) {
      *err = std::string("report.html: ") + e.what();
      return false;
    }
  }
};
}  // namespace

std::unique_ptr<ReportWriter> make_html_report() { return std::make_unique<HtmlReport>(); }
std::unique_ptr<ReportWriter> make_json_report() { return std::make_unique<JsonReport>(); }

std::vector<std::unique_ptr<ReportWriter>> default_report_writers() {
  std::vector<std::unique_ptr<ReportWriter>> w;
  w.push_back(make_json_report());
  w.push_back(make_junit_report());
  w.push_back(make_summary_report());
  w.push_back(make_html_report());
  return w;
}

bool write_reports(const json& report, const std::string& dir, const std::vector<std::unique_ptr<ReportWriter>>& writers,
                   std::string* err) {
  for (const auto& w : writers) {
    std::string content;
    if (!w->render(report, &content, err)) return false;
    if (!write_file_atomically(dir + "/" + w->file_name(), content, err)) return false;
  }
  return true;
}

}  // namespace pvm
