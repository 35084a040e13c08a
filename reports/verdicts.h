// Verdicts of a run against a baseline run (DESIGN §5): a pure function of two report.json
// objects, per cell id. `pvmatrix diff` prints them, `pvmatrix gate` re-runs the doubtful
// ones, adds workarounds and fails on REGRESSION only.
//
// The rules, in order (a cell "works" when its status is PASS, XPASS or FLAKY — it booted
// and passed, perhaps against an expectation, perhaps on a retry; it "fails" when its status
// is FAIL, CRASH, HANG or XFAIL):
//   only in head → NEW; only in base → GONE;
//   ERROR on either side → ERROR (infrastructure: never a regression);
//   SKIP on either side → UNCHANGED (nothing was compared);
//   works → fails → REGRESSION. XPASS → anything failing is a REGRESSION too: the cell
//     worked, whatever a known-issue file said; a head XFAIL is a REGRESSION as well — a
//     known issue explains a failure, it does not excuse breaking a cell that worked;
//   fails → works → FIXED (XFAIL → XPASS included: the expectation is stale);
//   fails → fails → STILL_FAILING (a changed binding is noted, the verdict stays);
//   works → works, and an op group the base bound to the hypervisor (rom, xen) is native in the
//     head while the head's command line has no pv.native mask naming it (or "all") →
//     BINDING_LOST: the kernel silently stopped using the hypervisor (VMI's quiet "mismatched
//     rom version" fallback), which fails the gate like a REGRESSION;
//   works → works → BINDING_CHANGED if the op groups' targets differ otherwise (a group gained,
//     a mask asked for it), else UNCHANGED.
// FLAKY on either side sets `needs_rerun`: `diff` alone cannot re-run, so it reports the
// verdict as computed (a base FLAKY that now fails is a REGRESSION; a head FLAKY over a
// stable PASS is UNCHANGED but flagged); the gate re-runs every flagged cell and every
// REGRESSION once before it believes it (see confirm_with_rerun()).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "report_model.h"

namespace pvm {

/// A cell's verdict against the baseline. UNCHANGED is not a DESIGN verdict: nothing to say.
enum class Verdict { Regression, BindingLost, Fixed, StillFailing, BindingChanged, New, Gone, Error, Unchanged };

/// "REGRESSION", "BINDING_LOST", "FIXED", "STILL_FAILING", "BINDING_CHANGED", "NEW", "GONE",
/// "ERROR", "UNCHANGED".
const char* to_string(Verdict v);
/// Parses the names above; nullopt otherwise.
std::optional<Verdict> verdict_from_string(const std::string& s);

/// The verdict of one cell.
struct CellVerdict {
  std::string id;       ///< "kernel=2.6.25/hv=rom-1.12/cfg=default"
  std::string kernel, hv, config;
  Verdict verdict = Verdict::Unchanged;
  std::optional<ReportCell> base;  ///< absent for NEW
  std::optional<ReportCell> head;  ///< absent for GONE
  std::vector<std::string> binding_changes;  ///< "timer: rom -> native", in op-group order
  std::vector<std::string> lost_groups;      ///< BINDING_LOST: groups that fell back to native unasked
  bool needs_rerun = false;      ///< FLAKY on a side, or an unconfirmed REGRESSION
  std::string rerun;             ///< what a re-run showed ("" if none): "FAIL", "PASS" ...
  std::vector<Workaround> workarounds;  ///< masks tried (gate only), in the order tried
};

/// Every verdict of a diff, regressions first, then by verdict, then in base/head cell order.
struct VerdictSet {
  std::vector<CellVerdict> cells;
  std::string base_label, head_label;  ///< what was compared (file names or revisions)

  /// Number of cells with verdict `v`.
  size_t count(Verdict v) const;
  /// True if any cell is a REGRESSION.
  bool has_regression() const { return count(Verdict::Regression) > 0; }
  /// True if any cell is a REGRESSION or BINDING_LOST: the gate's and diff's exit 1.
  bool fails() const { return has_regression() || count(Verdict::BindingLost) > 0; }
  /// The verdict of cell `id`, or null.
  CellVerdict* find(const std::string& id);
};

/// The verdict of one cell from its two sides (either may be absent, not both).
CellVerdict judge(const std::string& id, const nlohmann::json* base, const nlohmann::json* head);

/// Per-cell verdicts of `head` against `base` (report.json objects). False with `*err`
/// naming the field when either is not a report (no `cells` array, a cell without `id`,
/// a duplicate id).
bool diff(const nlohmann::json& base, const nlohmann::json& head, VerdictSet* out, std::string* err);

/// Replaces a cell's head side with a re-run's cell object and recomputes its verdict: a
/// REGRESSION stays one only if the re-run does not work either (then it is confirmed and
/// `needs_rerun` is cleared); if the re-run works the head side becomes FLAKY (failed, then
/// passed) and the verdict is recomputed from that.
void confirm_with_rerun(CellVerdict* verdict, const nlohmann::json& base_cell,
                        const nlohmann::json& rerun_cell);


/// One line per verdict, e.g. "REGRESSION kernel=2.6.25/hv=rom-1.12/cfg=default: was PASS,
/// now FAIL at stage timer (probe time.oneshot: SetAlarm refused one-shot); works around
/// with pv.native=timer".
std::string verdict_line(const CellVerdict& v);

/// Markdown summary for a patch review: counts, then regressions with evidence, then the
/// other verdicts (UNCHANGED only counted).
std::string render_markdown(const VerdictSet& set);

/// One verdict as a JSON object: {"id","verdict","kernel","hv","config","base_status",
/// "head_status","base_binding","head_binding","binding_changes","needs_rerun","rerun",
/// "workarounds":[{"mask","status"}],"line","base_reason","head_reason","head_stage",
/// "head_probe","head_probe_detail","evidence"}. Statuses/bindings are null on a missing side.
void to_json(nlohmann::json& j, const CellVerdict& v);
/// verdicts.json: {"schema":"pvmatrix-verdicts","schema_version":1,"base","head",
/// "summary":{"REGRESSION":n,...},"regressions":n,"verdicts":[...]}.
void to_json(nlohmann::json& j, const VerdictSet& set);

/// The op groups a `pv.native=` word of `cmdline` keeps native ("all" names every group).
std::set<std::string> masked_groups(const std::string& cmdline);

/// Puts the verdicts into a head report.json: the top-level `verdicts` array (the objects
/// of to_json(CellVerdict)), and on each cell `verdict` and, when tried, `workarounds`.
void annotate_report(nlohmann::json* head_report, const VerdictSet& set);

}  // namespace pvm
