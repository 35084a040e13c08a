// A cell of a run as `pvmatrix run` builds it before writing report.json: the typed record the
// scheduler's results, the workaround search and the prediction fill (harness/report_model.h has
// the reading side).
#pragma once

#include <optional>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cell.h"
#include "predict.h"
#include "report_model.h"

namespace pvm {

/// A cell of a run as `run` writes it into report.json: the classified boot, the workarounds
/// tried on it (--workarounds) and what was predicted for it. The history words are added to
/// the written report (harness/run_history.h).
struct CellRecord {
  CellResult result;
  std::vector<Workaround> workarounds;  ///< in the order tried; written only when not empty
  std::optional<Prediction> predicted;  ///< written as `predicted` when set
};

void to_json(nlohmann::json& j, const CellRecord& c);
/// Strict, as from_json(CellResult): throws std::runtime_error naming the field (a resumed or
/// --from-cells cell that is not one of ours is an error, not a guess).
void from_json(const nlohmann::json& j, CellRecord& c);

}  // namespace pvm
