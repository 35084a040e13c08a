// The history store (docs/contracts.md "History"): every run's results, kept across nightlies
// in an SQLite file or a PostgreSQL database with the same schema. It keeps results, not logs:
// per run its metadata and counts, per cell its status, stage, binding, first failing probe
// and reason. Forward-only migrations (a version table); each run is written in one
// transaction, so an interrupted write leaves no half-written run, and writers exclude each
// other, so two runs (two shards) can record at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>  // HistoryBaseline holds a report

#include "history_words.h"
#include "result_cache.h"  // CellInputs
#include "sql_connection.h"

namespace pvm {

/// Runs read for a run's history words: the window. Older results are read only for the
/// cells that need them (see HistoryStore::timelines), so recording costs the same in a year.
inline constexpr size_t kHistoryDepth = kHistoryWindow;

/// The schema version this pvmatrix writes and reads.
inline constexpr int kHistorySchemaVersion = 2;  // 2: each result's inputs (the gate's --baseline history)

/// Why a store could not be opened.
enum class HistoryOpenError {
  None,
  NewerSchema,  ///< written by a newer pvmatrix: nothing may be written
  Unavailable,  ///< cannot open, connect or read it (a corrupt file, a server down)
};

/// One recorded run, as `pvmatrix history` lists it.
struct HistoryRun {
  int64_t id = 0;
  std::string matrix, revision, host, started_at, shard, source;
  bool dirty = false, complete = false;
  int total = 0, unexpected = 0;
  std::map<std::string, int> by_status;  ///< non-zero counts only
};

/// One result of one cell, with its run, as `pvmatrix history PATTERN` shows it.
struct HistoryResult {
  std::string cell, kernel, hv, config, matrix;
  HistoryEntry entry;
  std::string stage, reason;
};

/// Results grouped by (matrix, cell): `order` lists the groups in the order their cells first
/// appear in `results`; `by_cell` holds each group's results, in `results`' order.
struct CellTimelines {
  std::vector<std::pair<std::string, std::string>> order;
  std::map<std::pair<std::string, std::string>, std::vector<const HistoryResult*>> by_cell;
};
CellTimelines group_by_cell(const std::vector<HistoryResult>& results);

/// What the store recorded of a matrix's last complete run (HistoryStore::baseline).
struct HistoryBaseline {
  /// Report-shaped, for the readers of report.json (`diff`, the gate's verdicts): meta (the
  /// matrix's name, the git revision, the store and the run) and the cells as recorded (status,
  /// stage, binding, the failed probe, reasons, the run that recorded each: `history_run`).
  nlohmann::json report;
  /// The inputs each cell was booted with, by cell id, for the cells recorded with them (history
  /// schema 2; `gate --baseline history` compares them with the head's).
  std::map<std::string, CellInputs> inputs;
  std::string label;  ///< which runs: "history run 41 (matrix nightly, revision abc1234)"
};

class HistoryStore {
 public:
  /// Opens the store at `location` (a file path, `sqlite:PATH`, or `postgresql://...`),
  /// migrating an older schema forward. `create`: make an SQLite file that does not exist.
  /// Null with `*err` and `*why` on failure; a newer schema names both versions.
  static std::unique_ptr<HistoryStore> open(const std::string& location, bool create, std::string* err,
                                            HistoryOpenError* why);

  /// `location` as shown to people: a PostgreSQL URI without its password.
  static std::string display(const std::string& location);
  /// True for `postgresql://` and `postgres://` locations.
  static bool is_postgres(const std::string& location);

  /// Records a report.json object as one run, in one transaction. A run already recorded (the
  /// same `meta`, whatever `history` annotations it carries) is not recorded twice:
  /// `*already` is set and `*run_id` is its number. `source`: "run" or the imported path.
  /// `inputs` (may be null: an imported report has none): each cell's inputs by cell id, kept
  /// once per distinct set, so a gate can choose its cells against a recorded run.
  bool record(const nlohmann::json& report, const std::string& source, int64_t* run_id, bool* already,
              std::string* err, const std::map<std::string, CellInputs>* inputs = nullptr);

  /// Runs, newest first (`matrix` "" = every matrix; `limit` 0 = all).
  bool runs(const std::string& matrix, size_t limit, std::vector<HistoryRun>* out, std::string* err);

  /// The timeline of every cell of `matrix`, oldest first, up to and including run `up_to`
  /// (0 = every run): cell id -> entries (no revision). Only the last `depth` runs (0 = all),
  /// except for a cell that worked in none of them: its whole timeline. `cut` (may be null)
  /// receives the cells whose older results were not read.
  bool timelines(const std::string& matrix, int64_t up_to, std::map<std::string, std::vector<HistoryEntry>>* out,
                 std::string* err, std::set<std::string>* cut = nullptr, size_t depth = kHistoryDepth);

  /// Every cell id with a result (any matrix), from the index alone.
  bool cells(std::vector<std::string>* out, std::string* err);

  /// Results, oldest first (`matrix` "" = every matrix), with their runs' revision and time:
  /// only of `only_cells` when given, only of the newest `last_runs` runs when > 0.
  bool results(const std::string& matrix, std::vector<HistoryResult>* out, std::string* err,
               const std::vector<std::string>* only_cells = nullptr, size_t last_runs = 0);

  /// A baseline from the store: the last complete run of `matrix` from a clean work tree (on
  /// `revision`, when not ""; never the run of report `exclude`), its cells completed by the
  /// other complete runs of the same matrix and revision (shards), latest result per cell.
  /// False with `*err` when there is none.
  bool baseline(const std::string& matrix, const std::string& revision, const nlohmann::json* exclude,
                HistoryBaseline* out, std::string* err);

  /// The schema version in the store.
  int schema_version() const { return version_; }
  /// The location it was opened at.
  const std::string& location() const { return location_; }

 private:
  HistoryStore(std::unique_ptr<SqlConnection> db, std::string location) : db_(std::move(db)), location_(std::move(location)) {}
  bool migrate(std::string* err, HistoryOpenError* why);

  std::unique_ptr<SqlConnection> db_;
  std::string location_;
  int version_ = 0;
};

/// Where `pvmatrix run --out OUT` keeps its history when `--history` is not given:
/// $PVMATRIX_HISTORY if set, else `history.sqlite` in OUT's parent directory (so out/nightly
/// and out/smoke share out/history.sqlite).
std::string default_history_location(const std::string& out_dir);

/// The baseline of report `head` from the store at `location` (which must exist): the last
/// complete, clean run of head's matrix on `revision` ("" = any), never head itself (see
/// HistoryStore::baseline). `pvmatrix diff` and `gate` with `--baseline history`.
bool history_baseline_for(const std::string& location, const nlohmann::json& head, const std::string& revision,
                          HistoryBaseline* base, std::string* err);

/// The identity of a run: a digest of `report`'s `meta` without `history`.
std::string run_key(const nlohmann::json& report);

/// Puts history words on each cell of `report` (`cell.history`) from `timelines` (which
/// include this run), and `meta.history` = {store, run, recorded: true, error: null, window}.
void annotate_history(nlohmann::json* report, const std::map<std::string, std::vector<HistoryEntry>>& timelines,
                      const std::set<std::string>& cut, const std::string& store_display, int64_t run_id);

/// `meta.history` for a run whose history could not be written: {store, run: null,
/// recorded: false, error}.
void annotate_history_failure(nlohmann::json* report, const std::string& store_display, const std::string& error);

}  // namespace pvm
