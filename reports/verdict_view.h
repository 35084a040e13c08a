// Verdicts as the HTML report shows them: per cell, the DESIGN §5 / issue 4 verdict of a run
// against a baseline run. Used when report.json carries no verdicts of its own (the gate's
// reports/verdicts.h owns the authoritative diff; this view only has to agree with it).
#pragma once

#include <nlohmann/json_fwd.hpp>

namespace pvm {

/// Verdicts of `head` against `base`, both report.json objects, as an object keyed by cell id:
/// {"verdict": "REGRESSION"|"FIXED"|"STILL_FAILING"|"BINDING_CHANGED"|"NEW"|"GONE"|"ERROR"|
///  "UNCHANGED", "base_status", "head_status", "base_binding", "head_binding", "kernel", "hv",
///  "config"}. UNCHANGED (same passing status and binding, or both SKIP) is not a DESIGN verdict:
/// it marks a cell with nothing to say.
nlohmann::json compute_verdict_view(const nlohmann::json& head, const nlohmann::json& base);

/// A report's own `verdicts` (an array of objects naming the cell by "id" or "cell" and the
/// verdict by "verdict"), keyed by cell id like compute_verdict_view(); other keys are kept.
/// Returns null when the report has none.
nlohmann::json verdict_view_from_report(const nlohmann::json& report);

}  // namespace pvm
