// One cell, end to end: boot (through any Launcher), parse the serial output, classify,
// and optionally write the serial log. `pvmatrix cell` and every cell of `pvmatrix run`
// go through run_cell, so a cell classifies the same way wherever it runs.
#pragma once

#include <string>

#include "cell.h"
#include "launcher.h"

namespace pvm {

/// How run_cell treats the side effects of one boot.
struct RunCellOptions {
  /// Write the serial output (bounded, as the launcher kept it) to this file; "" = no log.
  /// Missing parent directories are created. A log that cannot be written never changes
  /// the status: it is appended to the result's evidence as a harness note.
  std::string log_file;
  /// What CellResult::log_path records (e.g. "logs/<id>.log", relative to a report
  /// directory); "" = log_file as given.
  std::string log_field;
};

/// Boots `spec` once with `launcher`, parses the serial records and classifies them
/// (docs/contracts.md "Classification"). Never throws for guest or host faults: a launcher
/// that cannot start gives an ERROR result. The result holds exactly one Attempt; `status`
/// equals `outcome` (expectations and retries are the caller's business). Thread-safe if
/// the launcher is.
CellResult run_cell(Launcher& launcher, const CellSpec& spec, const RunCellOptions& options = {});

}  // namespace pvm
