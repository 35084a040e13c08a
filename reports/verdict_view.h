// Verdicts as the HTML report shows them: per cell, the DESIGN §5 / issue 4 verdict of a run
// against a baseline run. Used when report.json carries no verdicts of its own (the gate's
// reports/verdicts.h owns the rules; this is the shape the HTML data block takes).
#pragma once

#include <nlohmann/json_fwd.hpp>

namespace pvm {

/// Verdicts of `head` against `base`, both report.json objects, as an object keyed by cell id:
/// the objects of to_json(CellVerdict) (reports/verdicts.h, the one copy of the rules) without
/// their evidence. Empty when the two cannot be compared (a report without cells, a duplicate id).
nlohmann::json compute_verdict_view(const nlohmann::json& head, const nlohmann::json& base);

/// A report's own `verdicts` (an array of objects naming the cell by "id" or "cell" and the
/// verdict by "verdict"), keyed by cell id like compute_verdict_view(); other keys are kept.
/// Returns null when the report has none.
nlohmann::json verdict_view_from_report(const nlohmann::json& report);

}  // namespace pvm
