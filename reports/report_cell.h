// A report.json cell object as the writers and the verdicts read it (docs/contracts.md "Cell
// object"): the one place in reports/ that knows a cell's key names. A report may come from this
// pvmatrix, an older one, a merge or an import, so reading never throws: a missing or mistyped
// field reads as empty, and a status name this pvmatrix does not know stays as written.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "cell.h"

namespace pvm {

struct ReportCell {
  std::string id, kernel, hv, config;
  std::string status;                   ///< "PASS", "FAIL", ... as written
  std::string outcome;                  ///< what the last boot showed
  std::optional<std::string> expected;  ///< a known issue's expected outcome
  std::string expected_reason, expected_link;
  std::string stage, reason, evidence;
  std::string log, reproduce;           ///< the serial log's path; the command that reboots the cell
  std::string cmdline;                  ///< the cell's kernel command line
  std::string verdict;                  ///< a gate's verdict on the cell ("" if none)
  std::map<std::string, std::string> binding;  ///< op group -> "rom" | "xen" | "native"
  std::string failed_probe, failed_probe_detail;  ///< the first probe with status "fail"
  size_t attempts = 0;
  uint64_t duration_ms = 0;
  struct History {
    std::string text, kind;  ///< the history words (issue 17): "failing since run 12", "failing"
  };
  std::optional<History> history;
  bool predicted = false;  ///< the cell carries a prediction (harness/predict.h)

  /// The status as a Status, nullopt for a name this pvmatrix does not know.
  std::optional<Status> known_status() const { return status_from_string(status); }
};

/// Reads a cell object; never throws (not an object: every field empty).
ReportCell read_report_cell(const nlohmann::json& cell);

/// `obj[key]` when it is a string, else "" (obj need not be an object): how reports/ reads a
/// field leniently.
std::string string_field(const nlohmann::json& obj, const char* key);

}  // namespace pvm
