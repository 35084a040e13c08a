// Prints run progress (ninja's StatusPrinter + LinePrinter): on a terminal one
// `[done/total] ...` line that overwrites itself, with unexpected results printed above
// it; plain lines, one per finished cell, when not a terminal, in CI or with TERM=dumb.
#pragma once

#include <cstdio>
#include <string>

#include "scheduler.h"

namespace pvm {

/// How progress lines are written.
enum class LineMode { Overwrite, Plain };

/// Overwrite if `stream` is a terminal and neither CI (set, not "false"/"0") nor TERM=dumb.
LineMode detect_line_mode(std::FILE* stream);

class StatusPrinter : public RunStatus {
 public:
  StatusPrinter(std::FILE* out, LineMode mode) : out_(out), mode_(mode) {}

  void run_started(size_t total, int parallelism) override;
  void cell_started(const CellSpec& spec, int attempt) override;
  void cell_finished(const CellResult& result, size_t done, size_t total) override;
  void run_finished(bool interrupted) override;

 private:
  /// Replaces the status line (Overwrite) or prints a line (Plain).
  void status_line(const std::string& text);
  /// Prints a full line, above the status line in Overwrite mode.
  void full_line(const std::string& text);

  std::FILE* out_;
  LineMode mode_;
  size_t total_ = 0;
  size_t done_ = 0;
  size_t running_ = 0;
  bool have_status_line_ = false;  ///< Overwrite: a status line is on screen, unterminated
};

}  // namespace pvm
