// The matrix scheduler: keeps N boots busy, retries unexpected failures, applies known
// issues, and reports progress to a RunStatus (ninja's Status). It knows nothing of QEMU:
// each attempt goes through a BootOnce function (run_cell in `pvmatrix run`, fakes in tests).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cell.h"

namespace pvm {

class KnownIssues;

/// Progress events of a run. The scheduler calls them one at a time (never concurrently).
/// (ninja calls this interface Status; ours is RunStatus because pvm::Status is a cell status.)
class RunStatus {
 public:
  virtual ~RunStatus() = default;
  /// Before the first boot.
  virtual void run_started(size_t total, int parallelism) = 0;
  /// An attempt of a cell began (attempt is 1-based).
  virtual void cell_started(const CellSpec& spec, int attempt) = 0;
  /// A cell has its final result; `done` cells of `total` are finished.
  virtual void cell_finished(const CellResult& result, size_t done, size_t total) = 0;
  /// After the last boot (or after an interruption stopped the run).
  virtual void run_finished(bool interrupted) = 0;
};

/// Boots one cell once (attempt is 1-based) and returns its classified result with one
/// Attempt. May be called from several threads at once. An exception becomes an ERROR.
using BootOnce = std::function<CellResult(const CellSpec& spec, int attempt)>;

struct SchedulerOptions {
  int parallelism = 1;                       ///< boots in flight at most
  int retries = 0;                           ///< extra attempts after an unexpected failure
  const KnownIssues* known_issues = nullptr; ///< expectations (nullptr: none)
  /// Nonzero (a signal number) means: stop starting cells.
  const std::atomic<int>* interrupt = nullptr;
  /// Readable once `interrupt` is set (a signal handler writes to a pipe): the scheduler sleeps
  /// on it instead of polling the flag 20 times a second. -1: the flag is polled.
  int interrupt_fd = -1;
  /// Called (repeatedly, until every boot returned) once an interruption is seen:
  /// kill the guests in flight (Launcher::kill_all).
  std::function<void()> on_interrupt;
};

/// What a run produced.
struct ScheduledRun {
  /// One slot per input cell, same order; nullopt for a cell that never finished
  /// (not started, or its boot was cut short by the interruption).
  std::vector<std::optional<CellResult>> results;
  int interrupted_by = 0;  ///< signal number that stopped the run, 0 if it ran to the end
  size_t max_in_flight = 0;  ///< most boots seen running at once (for tests and benches)
};

/// Runs every cell through `boot` with at most `options.parallelism` at once. Attempts of
/// a cell are merged into one result: the last attempt's details, every Attempt in order,
/// the final status from known issues and retries (known_issues.h apply_expectation).
ScheduledRun run_cells(const std::vector<CellSpec>& cells, const BootOnce& boot, RunStatus& status,
                       const SchedulerOptions& options);

}  // namespace pvm
