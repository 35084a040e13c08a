// What `pvmatrix list MATRIX --json [--inputs]` prints (docs/contracts.md "The gate's cells"): the
// cells a matrix expands to, each with what boots it and what is expected of it. The gate reads
// it from the pvmatrix built at another revision, so this is the one place that knows its keys.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "result_cache.h"

namespace pvm {

struct ListedCell {
  std::string id, kernel, hv, config, cmdline, machine, cpu;
  uint32_t memory_mib = 0;
  double timeout_s = 0;
  int retries = 0;
  std::vector<std::string> expected_any;  ///< a known issue's outcomes; the first is `expected`
  std::string expected_reason, expected_link;
  std::optional<CellInputs> inputs;       ///< with --inputs: what the cell is made of
};

struct MatrixListing {
  std::string matrix, name, sha256;  ///< the matrix file's path, its name and digest
  std::vector<ListedCell> cells;     ///< in matrix order
};

/// The document: the listing, its `count` and the status table (`statuses`, cell.h), which the
/// pytest driver reads instead of keeping its own.
void to_json(nlohmann::json& j, const MatrixListing& l);
/// Reads a listing. False with *err naming the cell (index) and field when it is not one: `cells`
/// not an array, a cell without a string id, inputs that do not read.
bool read_matrix_listing(const nlohmann::json& doc, MatrixListing* out, std::string* err);

}  // namespace pvm
