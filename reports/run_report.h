// The report of a run (docs/contracts.md "Cell object and report.json"): building it from
// cell objects, summarizing, merging shards, and writing it through report plug-ins
// (lit's JsonReport/XunitReport): report.json, junit.xml, summary.md, report.html.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "report_model.h"
#include "run_meta.h"  // the report's identity and its meta

namespace pvm {

/// Summary of `cells` (cell objects): total, by_status (every status, zeros included),
/// by_kernel and by_hv (status -> count), unexpected (cells that make `run` exit 1).
nlohmann::json summarize_cells(const nlohmann::json& cells);

/// Every disagreement between a cell's `predicted` (harness/predict.h) and what its boot showed
/// (cells without a prediction, or whose boot was ERROR/SKIP, are not compared):
/// [{"id", "kind": "status"|"probe"|"binding", "predicted", "observed", "detail"}]. make_report
/// lists them as the report's `findings`.
nlohmann::json prediction_findings(const nlohmann::json& cells);

/// The report.json object. `axes` is {"kernels", "hypervisors", "configs": [{name, cmdline}]}.
nlohmann::json make_report(nlohmann::json meta, nlohmann::json axes, nlohmann::json cells, bool complete);

/// Sorts cells in the order of the axes (kernel, then hv, then config): the matrix order.
void sort_cells_by_axes(const ReportAxes& axes, nlohmann::json* cells);

/// Merges shard reports into one. Errors (false, `*err`): different schema versions,
/// matrix digests or git revisions; different axes; a cell id present in two inputs.
/// `names` labels the inputs in messages (file paths).
bool merge_reports(const std::vector<nlohmann::json>& reports, const std::vector<std::string>& names,
                   nlohmann::json* out, std::string* err);

/// One output format of a report.
class ReportWriter {
 public:
  virtual ~ReportWriter() = default;
  /// File name in the output directory ("report.json").
  virtual std::string file_name() const = 0;
  /// The file's content; false with `*err` if it cannot be rendered.
  virtual bool render(const nlohmann::json& report, std::string* out, std::string* err) const = 0;
};

std::unique_ptr<ReportWriter> make_json_report();
std::unique_ptr<ReportWriter> make_junit_report();
std::unique_ptr<ReportWriter> make_summary_report();
/// report.html through reports/html_report.h (the HTML engineer's renderer).
std::unique_ptr<ReportWriter> make_html_report();

/// Every format `pvmatrix run` writes: report.json, junit.xml, summary.md, report.html.
std::vector<std::unique_ptr<ReportWriter>> default_report_writers();

/// Renders and atomically writes each format into `dir`. Stops at the first failure.
bool write_reports(const nlohmann::json& report, const std::string& dir,
                   const std::vector<std::unique_ptr<ReportWriter>>& writers, std::string* err);

}  // namespace pvm
