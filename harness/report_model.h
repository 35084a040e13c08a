// A report.json as its readers see it (docs/contracts.md "Cell object and report.json"): a cell
// (ReportCell) and the report's own fields (ReportHeader), read by the writers, the verdicts,
// --resume, `report merge`, the gate; its frame, as every writer of a report document writes it
// (report_document), and the check a report file must pass to be read (read_report). The one
// place that knows report.json's top-level key names. A report may come from this pvmatrix, an
// older one, a merge or an import, so reading never throws: a missing or mistyped field reads
// as empty (or absent), and a status name this pvmatrix does not know stays as written.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cell.h"

namespace pvm {

/// What report.json is: its schema's name and version (read_report reads only this version).
inline constexpr const char* kReportSchema = "pvmatrix-report";
inline constexpr int kReportSchemaVersion = 1;

/// One workaround tried on a cell that does not work (a `pv.native=` mask; for a real kernel the
/// other dom0 mode or a descriptor's switch) and the cell's status with it.
struct Workaround {
  std::string mask;    ///< "pv.native=timer"
  std::string status;  ///< the cell's status with it: "PASS", "FAIL", ...
};
/// {"mask", "status"}, as in a cell's and a verdict's `workarounds`.
void to_json(nlohmann::json& j, const Workaround& w);

struct ReportCell {
  std::string id, kernel, hv, config;
  std::string status;                   ///< "PASS", "FAIL", ... as written
  std::string outcome;                  ///< what the last boot showed
  std::optional<std::string> expected;  ///< a known issue's expected outcome
  std::string expected_reason, expected_link;
  std::string stage, reason, evidence;
  std::string log, reproduce;           ///< the serial log's path; the command that reboots the cell
  std::string cmdline;                  ///< the cell's kernel command line
  std::string verdict;                  ///< a gate's verdict on the cell ("" if none)
  Binding binding;                      ///< op group -> target
  std::string failed_probe, failed_probe_detail;  ///< the first probe with status "fail"
  struct Attempt {
    std::string status;
    uint64_t duration_ms = 0;
    std::optional<uint64_t> cpu_ms, starved_ms;  ///< when the host's share was measured
  };
  std::vector<Attempt> attempts;
  uint64_t duration_ms = 0;
  struct History {
    std::string text, kind;  ///< the history words (issue 17): "failing since run 12", "failing"
  };
  std::optional<History> history;
  /// The static prediction `run` recorded (harness/predict.h), when the cell carries one.
  struct Predicted {
    std::optional<std::string> status;  ///< "PASS" | "FAIL"; nullopt: could not be predicted
    std::string reason, probe;          ///< why; the first probe predicted to fail
    std::optional<Binding> binding;
  };
  std::optional<Predicted> predicted;
  std::vector<Workaround> workarounds;  ///< tried on the cell (`run --workarounds`), in order

  /// The status as a Status, nullopt for a name this pvmatrix does not know.
  std::optional<Status> known_status() const { return status_from_string(status); }
};

/// Reads a cell object; never throws (not an object: every field empty).
ReportCell read_report_cell(const nlohmann::json& cell);
/// A cell's id alone ("" if it has none), for code that only indexes cells: the whole cell is
/// not read.
std::string report_cell_id(const nlohmann::json& cell);

// The parts of a report's own fields (ReportHeader names them). At namespace scope, not nested:
// clang decides whether a nested struct with default member initializers is default-constructible
// before the enclosing class is complete, and then std::optional<T>::emplace() is refused.
struct ReportMatrix {
  std::string path, name;
  std::optional<std::string> sha256;
};
struct ReportGit {
  std::optional<std::string> revision;  ///< null outside a git checkout
  std::optional<bool> dirty;            ///< null outside a git checkout
};
struct ReportHistory {
  bool recorded = false;
  std::optional<int64_t> run;  ///< the run's number in the store
  std::string store, error;    ///< where; why it was not recorded ("" when recorded)
  int window = 0;              ///< how many deciding results the words look back over
};
/// meta.history as `run` writes it: {store, run (null if not recorded), recorded, error (null if
/// recorded), window}.
void to_json(nlohmann::json& j, const ReportHistory& h);
struct ReportCacheCounts {
  int64_t hits = 0, boots = 0;
};
struct ReportHostPressure {
  uint64_t attempts = 0, wall_ms = 0, qemu_cpu_ms = 0, starved_ms = 0;
  double starved_fraction = 0;
};
struct ReportFinding {
  std::string id, kind, predicted, observed, detail;
};

struct ReportRusage {
  int64_t self_cpu_ms = 0, children_cpu_ms = 0, self_max_rss_kib = 0;
};
/// One input of `report merge`, in meta.merged_from.
struct ReportSource {
  std::string file, host, shard;  ///< host, shard: "" written as null
  bool complete = false;
  size_t cells = 0;
};

/// A report's `meta`: what ran, where and when. `run` fills it (harness/run_meta.h) and writes it
/// with to_json; readers get it from read_report_header (leniently: a missing or mistyped field
/// reads as empty). Text fields that are "" are written as null.
struct RunMeta {
  std::string tool;                    ///< "pvmatrix"
  std::string host, os, qemu_version, libvirt_version;
  std::optional<ReportGit> git;
  std::optional<ReportMatrix> matrix;  ///< the matrix file that was run
  std::vector<std::string> argv;
  std::string backend;                 ///< "qemu", "libvirt", "dry-run"
  int parallelism = 0, retries = 0;
  double timeout_s = 0;
  std::string only, shard;             ///< --only; --shard ("K/N")
  std::string started_at;              ///< UTC, ISO 8601
  int64_t started_at_ms = 0;           ///< the run's order in a history
  std::string ended_at;                ///< "" while running, or interrupted before the end
  std::optional<int64_t> duration_ms;  ///< null until the run ended
  std::optional<ReportRusage> rusage;  ///< what the harness cost (bench/matrix_floor.py)
  std::string resumed_from;            ///< `run --resume`: the report it continued; "" (absent) if none
  std::optional<ReportCacheCounts> cache;       ///< with `run --cache`: both counts, else absent
  std::optional<ReportHistory> history;         ///< meta.history (issue 17)
  std::optional<std::vector<ReportSource>> merged_from;  ///< `report merge`: its inputs
};
void to_json(nlohmann::json& j, const RunMeta& m);
/// Reads a report's `meta` object; never throws (not an object: every field empty).
RunMeta read_run_meta(const nlohmann::json& meta);

/// A report's `axes`: the matrix's kernels, hypervisors and configs, in the matrix's order (the
/// order of its grid and of its cells).
struct ReportAxisConfig {
  std::string name, cmdline;
  std::optional<uint32_t> memory_mib;  ///< the config's own platform memory, when it sets one
  std::optional<std::string> machine;  ///< the config's own machine type, when it sets one
  bool operator==(const ReportAxisConfig&) const = default;
};
struct ReportAxes {
  std::vector<std::string> kernels, hypervisors;
  std::vector<ReportAxisConfig> configs;
  bool operator==(const ReportAxes&) const = default;
};
void to_json(nlohmann::json& j, const ReportAxes& a);
/// Reads a report's `axes`; never throws (missing or mistyped: empty lists).
ReportAxes read_report_axes(const nlohmann::json& report);

/// A report's own fields: its meta, summary and findings.
struct ReportHeader {
  using HostPressure = ReportHostPressure;
  using Finding = ReportFinding;
  std::optional<bool> complete;  ///< false: interrupted before every cell finished
  RunMeta meta;
  std::optional<int> total;    ///< summary.total: the cells the report counts
  int unexpected = 0;          ///< summary.unexpected: cells that make `run` exit 1
  std::vector<std::pair<std::string, int>> by_status;  ///< summary.by_status, in the report's order
  std::optional<HostPressure> host_pressure;  ///< summary.host, when the run measured it
  std::vector<Finding> findings;  ///< prediction vs boot (harness/predict.h)
};

/// A report.json document: the one place its frame is written (the schema, its version,
/// `complete`, `meta`, `cells`). A report made of recorded cells (a baseline from the history
/// store, the gate's) is only that; a run's report adds its parts (set_report_parts,
/// reports/run_report.h make_report).
nlohmann::json report_document(nlohmann::json meta, nlohmann::json cells, bool complete);
/// A run's report's `axes`, `summary` and `findings`, and its `verdicts`, null until diff or
/// the gate sets them.
void set_report_parts(nlohmann::json* report, nlohmann::json axes, nlohmann::json summary, nlohmann::json findings);

/// What is wrong with the shape of a report.json cell object that the summary, the writers and
/// the verdicts rely on (id, kernel, hv, config and status strings; binding an object of
/// strings; attempts an array), "" when nothing is. An unknown status name is not an error.
std::string cell_shape_error(const nlohmann::json& cell);

/// Reads a report.json; false with `*err` naming the file if it is not one, and the cell
/// (index, id) and field when a cell is malformed.
bool read_report(const std::string& path, nlohmann::json* out, std::string* err);

/// Reads a report's own fields; never throws (not an object: every field empty).
ReportHeader read_report_header(const nlohmann::json& report);

/// The report's `cells` array, or null when it has none (not a report).
const nlohmann::json* report_cells(const nlohmann::json& report);
/// The report's `meta` as written (an empty object when it has none): what identifies a run
/// (harness/history_store.h run_key) is all of it, including fields this pvmatrix does not model.
const nlohmann::json& report_meta(const nlohmann::json& report);

// What is learned about a report after `run` built it, set where read_report_cell and
// read_report_header find it. The values come already written (to_json of their own types).
/// meta.history.
void set_report_history(nlohmann::json* report, const ReportHistory& h);
/// meta.gate: the gate's account of the two sides (harness/workflows/gate.h).
void set_report_gate(nlohmann::json* report, nlohmann::json gate);
/// The report's `verdicts` array (reports/verdicts.h).
void set_report_verdicts(nlohmann::json* report, nlohmann::json verdicts);
/// The cells of `report` (skipping any that is not an object), with their ids, for annotating.
void for_each_report_cell(nlohmann::json* report,
                          const std::function<void(nlohmann::json& cell, const std::string& id)>& f);
/// A cell's `history` words (harness/history_words.h).
void set_cell_history(nlohmann::json* cell, nlohmann::json words);
/// A cell's `log`, when it is relative to its own run's directory, made relative to where that
/// run's directory is seen from (`run_dir`/log); an absolute log stays.
void rebase_cell_log(nlohmann::json* cell, const std::string& run_dir);
/// A cell's gate `verdict` and, when any were tried, its `workarounds`.
void set_cell_verdict(nlohmann::json* cell, const std::string& verdict, const std::vector<Workaround>& workarounds);

/// The string members of `obj[key]` when it is an object (others skipped), else empty: a binding.
Binding string_map_field(const nlohmann::json& obj, const char* key);

/// `obj[key]` when it is a string, else "" (obj need not be an object): how reports/ reads a
/// field leniently.
std::string string_field(const nlohmann::json& obj, const char* key);

}  // namespace pvm
