// Known issues: expectations scoped to cells, applied in one place (lit's way):
// an expected failure becomes XFAIL, an unexpected pass XPASS, a failure then a pass on
// retry FLAKY. A file (matrix/known-issues.json, `//` comments allowed):
//
//   {"known_issues": [
//     {"cells": "kernel=2.6.25/hv=rom-1.1|rom-1.12/cfg=default",   // pattern or [patterns]
//      "expect": "FAIL",                                            // or ["FAIL", "CRASH"]
//      "reason": "2.6.25 needs one-shot alarms; ...",
//      "link": "https://..."}                                       // optional
//   ]}
//
// `expect` names outcomes a kernel or hypervisor is responsible for: FAIL, CRASH, HANG.
// ERROR is infrastructure and never expected; SKIP is not a failure. The first entry
// whose pattern matches a cell applies to it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cell.h"
#include "matrix.h"
#include "world.h"

namespace pvm {

/// One known issue.
struct KnownIssue {
  std::vector<CellPattern> cells;   ///< any may match
  std::vector<Status> expect;       ///< outcomes that are expected (FAIL/CRASH/HANG)
  std::string reason;               ///< why, for the report
  std::string link;                 ///< bug/mail URL, optional
  std::string where;                ///< "file:line:col" of the entry, for messages
};

/// Every known issue of a run, in file order.
class KnownIssues {
 public:
  /// Reads one file and appends its entries; false with "file:line:col: message".
  bool load(const std::string& path, std::string* err);
  /// Same, from text (tests).
  bool parse(const std::string& text, const std::string& path, std::string* err);
  /// The first entry matching the cell, or nullptr.
  const KnownIssue* find(const std::string& kernel, const std::string& hv, const std::string& cfg) const;
  const std::vector<KnownIssue>& entries() const { return entries_; }
  /// Every plain kernel/hv name in a pattern must exist (`kernels`, `hvs`): a typo would
  /// otherwise silently expect nothing. False with "file:line:col: cells: ..." naming it.
  bool check_names(const std::vector<std::string>& kernels, const std::vector<std::string>& hvs,
                   std::string* err) const;

 private:
  std::vector<KnownIssue> entries_;
};

/// Loads every known-issue file of `matrix` and checks the names in its patterns against `world`
/// (its releases, fixtures and versions). False with the located error.
bool load_known_issues(const Matrix& matrix, const World& world, KnownIssues* out, std::string* err);

/// Final status of a cell from its attempts and its expectation (nullptr: none):
/// - a failing attempt followed by a passing one: FLAKY;
/// - last outcome PASS: XPASS if an issue was expected, else PASS;
/// - last outcome in issue->expect: XFAIL;
/// - otherwise the last outcome (a CRASH where FAIL was expected stays CRASH).
/// Also fills `expected`, `expected_reason`, `expected_link` of `cell`.
void apply_expectation(const KnownIssue* issue, CellResult* cell);

/// True if an outcome deserves another attempt: a failure that is not expected.
bool should_retry(const KnownIssue* issue, Status outcome);

}  // namespace pvm
