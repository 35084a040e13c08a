// `pvmatrix run MATRIX`: the matrix run as a pipeline (lit's main.py): load the matrix ->
// select (--only, --shard, --resume) -> resolve cells -> apply known issues while running
// them in parallel (scheduler) -> write report.json, junit.xml, summary.md, report.html.
// Exit 0: every cell PASS/XFAIL/SKIP/FLAKY; 1: an unexpected result; 2: usage or harness
// error; 130 when interrupted by SIGINT (2 by SIGTERM), after writing a partial report.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "known_issues.h"
#include "launcher_factory.h"
#include "matrix.h"
#include "preamble.h"
#include "predict.h"
#include "qemu_launcher.h"
#include "cell_record.h"
#include "report_model.h"
#include "result_cache.h"
#include "run_cell.h"
#include "run_history.h"
#include "run_report.h"
#include "scheduler.h"
#include "status_printer.h"
#include "workarounds.h"
#include "world.h"

namespace pvm::cli {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

struct RunOptions {
  std::string matrix;
  int jobs = 0;                 ///< 0 = the launcher's suggestion, else the CPU count
  std::string out;              ///< default out/<matrix name>
  std::string only, shard, resume, from_cells;
  int retries = -1;             ///< -1 = the matrix's
  double timeout_s = 0;         ///< 0 = the matrix's
  std::string backend = "qemu";
  std::string qemu;
  std::vector<std::string> connect;
  WorldFlags world;
  bool dry_run = false;
  bool cache = false;
  bool workarounds = false;  ///< search workarounds for every cell that does not work
  int workaround_cells = 0;  ///< with workarounds: at most this many cells get the search (0 = all)
  std::string history;          ///< history store ("" = default_history_location(out), "none")
};

/// This process's argv, for the report's metadata (Linux: /proc/self/cmdline).
std::vector<std::string> own_argv() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> argv;
  std::string arg;
  while (std::getline(in, arg, '\0')) argv.push_back(arg);
  return argv;
}

std::atomic<int> g_interrupt{0};
int g_interrupt_pipe[2] = {-1, -1};  // readable once g_interrupt is set: the scheduler sleeps on it
extern "C" void on_signal(int signo) {
  const int saved = errno;
  g_interrupt.store(signo);
  if (g_interrupt_pipe[1] >= 0) (void)!write(g_interrupt_pipe[1], "x", 1);
  errno = saved;
}

void install_signal_handlers() {
  if (g_interrupt_pipe[0] < 0 && pipe2(g_interrupt_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    g_interrupt_pipe[0] = g_interrupt_pipe[1] = -1;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

/// logs/<kernel>/<hv>/<cfg>.log (attempts after the first: <cfg>.attempt<N>.log).
std::string log_field(const CellSpec& s, int attempt) {
  std::string name = attempt > 1 ? fmt::format("{}.attempt{}.log", s.config, attempt) : s.config + ".log";
  return "logs/" + s.kernel + "/" + s.hv + "/" + name;
}

/// Prints nothing: the workaround boots are part of their cells' results.
class QuietStatus : public RunStatus {
 public:
  void run_started(size_t, int) override {}
  void cell_started(const CellSpec&, int) override {}
  void cell_finished(const CellResult&, size_t, size_t) override {}
  void run_finished(bool) override {}
};

/// The workaround search (harness/workarounds.h) for every cell that does not work (FAIL,
/// CRASH, HANG, XFAIL): each variant booted and recorded in the cell's `workarounds`. A
/// reference kernel's masks are cheap and all reported, booted `jobs` at a time across every
/// such cell; a real kernel's variants cost a Linux boot each, so its search goes one by one
/// and stops at the first that works.
void search_workarounds(const World& world, Launcher& launcher, const std::vector<std::optional<CellResult>>& results,
                        std::map<std::string, CellRecord>* cells, int jobs, size_t limit,
                        const std::atomic<int>* interrupt) {
  struct Owner {
    std::string id, label;
  };
  std::vector<CellSpec> batch;
  std::vector<Owner> owners;
  std::map<std::string, std::vector<Workaround>> tried;
  for (const auto& r : results) {
    if (!r || works(r->status) || r->status == Status::Error || r->status == Status::Skip) continue;
    const std::string id = r->spec.id();
    if (limit && tried.size() >= limit) {
      std::printf("pvmatrix: workaround search: the first %zu failing cells only (--workaround-cells); not %s\n", limit,
                  id.c_str());
      continue;
    }
    tried[id] = {};
    if (r->spec.kernel_family == "linux") {
      for (const WorkaroundTry& w : workaround_tries(world, r->spec)) {
        if (interrupt->load() != 0) break;
        CellResult t = run_cell(launcher, w.spec, {});
        tried[id].push_back({w.label, to_string(t.status)});
        if (works(t.status)) break;
      }
      continue;
    }
    for (const WorkaroundTry& w : workaround_tries(world, r->spec)) {
      batch.push_back(w.spec);
      owners.push_back({id, w.label});
    }
  }
  if (!batch.empty() && interrupt->load() == 0) {
    QuietStatus quiet;
    SchedulerOptions so;
    so.parallelism = std::max(1, jobs);
    so.interrupt = interrupt;
    so.interrupt_fd = g_interrupt_pipe[0];
    so.on_interrupt = [&] { launcher.kill_all(); };
    BootOnce boot = [&](const CellSpec& spec, int) { return run_cell(launcher, spec, {}); };
    ScheduledRun done = run_cells(batch, boot, quiet, so);
    for (size_t i = 0; i < batch.size(); ++i)
      if (done.results[i])
        tried[owners[i].id].push_back({owners[i].label, to_string(done.results[i]->status)});
  }
  for (auto& [id, list] : tried) (*cells)[id].workarounds = std::move(list);
}

ReportAxes axes_of(const Matrix& m) {
  ReportAxes axes{m.kernels, m.hypervisors, {}};
  for (const MatrixConfig& c : m.configs) axes.configs.push_back({c.name, c.cmdline, c.memory_mib, c.machine});
  return axes;
}

/// Cells by id from a JSON-lines file of cell objects (the pytest driver's --from-cells).
bool read_cells_jsonl(const std::string& path, std::map<std::string, CellRecord>* out, std::string* err) {
  std::ifstream in(path);
  if (!in) return *err = "cannot read " + path, false;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      CellRecord c = json::parse(line).get<CellRecord>();  // strict: a malformed cell is an error here
      std::string id = c.result.spec.id();
      (*out)[id] = std::move(c);
    } catch (const std::exception& e) {
      *err = fmt::format("{}:{}: not a cell object: {}", path, n, e.what());
      return false;
    }
  }
  return true;
}

/// Cells already done: --resume keeps them (from a run of the same matrix file), --from-cells
/// provides them all.
bool kept_cells(const RunOptions& o, const Matrix& m, std::map<std::string, CellRecord>* kept, std::string* err) {
  if (!o.resume.empty()) {
    json old;
    if (!read_report(o.resume + "/report.json", &old, err)) return false;
    const ReportHeader h = read_report_header(old);
    if (h.meta.matrix && h.meta.matrix->sha256.value_or("") != m.sha256)
      return *err = fmt::format("--resume {}: that run used a different matrix file (sha256 differs)", o.resume), false;
    const json& cells = old.at("cells");
    for (size_t i = 0; i < cells.size(); ++i) {
      try {
        CellRecord c = cells[i].get<CellRecord>();
        std::string id = c.result.spec.id();
        (*kept)[id] = std::move(c);
      } catch (const std::exception& e) {
        return *err = fmt::format("--resume {}/report.json: cells[{}]: {}", o.resume, i, e.what()), false;
      }
    }
  }
  return o.from_cells.empty() || read_cells_jsonl(o.from_cells, kept, err);
}

/// What boots a run's cells: the launcher (the dry run's with --dry-run; none when nothing is
/// to boot), the result cache in front of it with --cache, and how many at once.
struct Boots {
  std::unique_ptr<Launcher> launcher;
  std::unique_ptr<ResultCache> cache;
  std::unique_ptr<CachingLauncher> cached;
  Launcher* with = nullptr;  ///< the cache when there is one, else the launcher
  int jobs = 0;
  std::atomic<size_t> retry_boots{0};  ///< retries booted past the cache
};

bool open_boots(const RunOptions& o, bool anything_to_boot, Boots* b, std::string* err) {
  LauncherOptions lo;
  lo.backend = o.backend;
  lo.qemu_binary = o.qemu;
  lo.connect = o.connect;
  if (anything_to_boot) {
    b->launcher = o.dry_run ? make_dry_run_launcher() : make_launcher(lo, err);
    if (!b->launcher) return false;
  }
  if (b->launcher && o.cache && !o.dry_run) {
    b->cache = std::make_unique<ResultCache>(default_cache_dir());
    b->cached = std::make_unique<CachingLauncher>(*b->launcher, *b->cache);
  }
  b->with = b->cached ? static_cast<Launcher*>(b->cached.get()) : b->launcher.get();
  b->jobs = o.jobs;
  if (b->jobs <= 0 && b->launcher) b->jobs = static_cast<int>(suggested_jobs(*b->launcher));
  if (b->jobs <= 0) b->jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return true;
}

RunMeta run_meta(const RunOptions& o, const Matrix& m, int jobs) {
  RunMetaInputs mi;
  mi.root = o.world.resolved_root();
  mi.qemu_binary = o.qemu.empty() ? kDefaultQemu : o.qemu;
  mi.matrix_path = m.path;
  mi.matrix_name = m.name;
  mi.matrix_sha256 = m.sha256;
  mi.argv = own_argv();
  mi.parallelism = jobs;
  mi.backend = o.dry_run ? "dry-run" : o.backend;
  mi.only = o.only;
  mi.shard = o.shard;
  mi.retries = m.retries;
  mi.timeout_s = m.timeout_s;
  return collect_run_meta(mi);
}

/// Boots `todo` through the scheduler: logs under `o.out`, retries past the cache.
ScheduledRun boot_cells(const RunOptions& o, const Matrix& m, const KnownIssues& known,
                        const std::vector<CellSpec>& todo, Boots& b) {
  install_signal_handlers();
  StatusPrinter printer(stdout, detect_line_mode(stdout));
  SchedulerOptions so;
  so.parallelism = b.jobs;
  so.retries = m.retries;
  so.known_issues = &known;
  so.interrupt = &g_interrupt;
  so.interrupt_fd = g_interrupt_pipe[0];
  so.on_interrupt = [&] {
    if (b.launcher) b.launcher->kill_all();
  };
  BootOnce boot = [&](const CellSpec& spec, int attempt) {
    RunCellOptions ro;
    ro.log_field = log_field(spec, attempt);
    ro.log_file = o.out + "/" + ro.log_field;
    // A retry must really boot: the cache would replay the attempt it is meant to doubt.
    if (attempt > 1 && b.cached) {
      b.retry_boots.fetch_add(1);
      return run_cell(*b.launcher, spec, ro);
    }
    return run_cell(*b.with, spec, ro);
  };
  return run_cells(todo, boot, printer, so);
}

/// One line of counts: "197/197 cells: 180 PASS, 17 XFAIL -> out/nightly/report.json".
void print_counts(const ReportHeader& h, size_t cells, size_t selected, bool complete, const std::string& out) {
  std::string counts;
  for (const auto& [status, n] : h.by_status)
    if (n > 0) counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n, status);
  std::printf("pvmatrix: %zu/%zu cells%s: %s -> %s/report.json\n", cells, selected, complete ? "" : " (partial)",
              counts.c_str(), out.c_str());
}

int run_run(RunOptions o) {
  auto fail = [](const std::string& message) { return command_error("run", message); };
  std::string err;
  // Parse, discover, filter.
  auto world = o.world.load(&err);
  if (!world) return fail(err);
  Selection sel;
  const auto overrides = [&o](Matrix& m) {
    if (o.retries >= 0) m.retries = o.retries;
    if (o.timeout_s > 0) m.timeout_s = o.timeout_s;
  };
  if (!select_cells(*world, o.matrix, o.only, o.shard, &sel, &err, overrides)) return fail(err);
  const Matrix& m = sel.matrix;
  const std::vector<CellSpec>& specs = sel.specs;
  if (!o.shard.empty() && m.cells.empty())
    return fail(fmt::format("--shard {} of {} holds no cell", o.shard, o.matrix));
  if (o.out.empty()) o.out = o.resume.empty() ? "out/" + m.name : o.resume;
  // The history store is opened before anything boots: one of a newer schema stops the run here.
  RunHistory history(o.dry_run ? "none" : o.history.empty() ? default_history_location(o.out) : o.history);
  if (!history.check(&err)) return fail(err);
  std::map<std::string, CellRecord> kept;
  if (!kept_cells(o, m, &kept, &err)) return fail(err);
  std::vector<CellSpec> todo;
  for (const CellSpec& s : specs)
    if (!kept.count(s.id()) && o.from_cells.empty()) todo.push_back(s);

  // Launch.
  Boots boots;
  if (!open_boots(o, !todo.empty(), &boots, &err)) return fail(err);
  RunMeta meta = run_meta(o, m, boots.jobs);
  std::error_code ec;
  fs::create_directories(o.out + "/logs", ec);
  if (ec) return fail(fmt::format("cannot create {}/logs: {}", o.out, ec.message()));
  ScheduledRun run = boot_cells(o, m, sel.known, todo, boots);

  // Report: every cell of the selection that has a result, in matrix order.
  std::map<std::string, CellRecord> fresh;
  for (auto& r : run.results)
    if (r) fresh[r->spec.id()].result = *r;  // run.results stay whole: the workaround search reads them
  if (o.workarounds && run.interrupted_by == 0)
    search_workarounds(*world, *boots.with, run.results, &fresh, boots.jobs, static_cast<size_t>(o.workaround_cells),
                       &g_interrupt);
  std::vector<CellRecord> records;
  for (const CellSpec& s : specs) {
    if (auto it = fresh.find(s.id()); it != fresh.end()) records.push_back(std::move(it->second));
    else if (auto k = kept.find(s.id()); k != kept.end()) records.push_back(std::move(k->second));
  }
  add_predictions(*world, specs, &records);  // `predicted` per cell; make_report lists disagreements as findings
  json cells = json::array();
  for (const CellRecord& r : records) cells.push_back(r);
  const bool complete = cells.size() == specs.size() && run.interrupted_by == 0;
  // What each cell was made of goes with its result into the history store (a gate's
  // --baseline history); digested before the run's CPU is taken, so that meta.rusage counts it.
  const bool record_history = run.interrupted_by == 0 && history.enabled();
  const auto inputs = record_history ? cell_inputs_by_id(specs) : std::map<std::string, CellInputs>{};
  finish_run_meta(&meta);
  if (!o.resume.empty()) meta.resumed_from = o.resume + "/report.json";
  // What the cache answered, for the reader and for the gate (which reads it, not this output).
  const size_t cache_boots = boots.cached ? boots.cached->boots() + boots.retry_boots.load() : 0;
  if (boots.cached) meta.cache = ReportCacheCounts{static_cast<int64_t>(boots.cached->hits()), static_cast<int64_t>(cache_boots)};
  json report = make_report(json(meta), json(axes_of(m)), std::move(cells), complete);
  bool history_ok = true;
  if (record_history) history_ok = history.record(&report, inputs);  // cells gain their history words
  else history.skip("interrupted: import the report after --resume completes it");
  if (!write_reports(report, o.out, default_report_writers(), &err)) return fail(err);

  const ReportHeader written = read_report_header(report);
  print_counts(written, report_cells(report)->size(), specs.size(), complete, o.out);
  if (boots.cached) std::printf("pvmatrix: cache: %zu hits, %zu boots\n", boots.cached->hits(), cache_boots);
  if (run.interrupted_by == SIGINT) return 130;
  if (run.interrupted_by != 0 || !history_ok) return kExitUsage;
  return written.unexpected > 0 ? kExitFailure : kExitOk;
}

void setup_run(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* sub = app.add_subcommand("run", "Boot every cell of a matrix in parallel and write the reports");
  sub->footer(
      "Writes OUT/report.json, junit.xml, summary.md, report.html and OUT/logs/<kernel>/<hv>/<cfg>.log.\n"
      "Exit status: 0 every cell PASS/XFAIL/SKIP/FLAKY, 1 an unexpected result, 2 usage or harness error,\n"
      "130 interrupted (a partial report is written, \"complete\": false; continue with --resume OUT).\n"
      "Cell patterns (--only): kernel=GLOB/hv=GLOB|GLOB/cfg=GLOB, comma-separated for several.\n"
      "Example: pvmatrix run matrix/nightly.json -j 4 --only 'kernel=2.6.25'");
  sub->add_option("matrix", o->matrix, "Matrix file, e.g. matrix/nightly.json")->required();
  sub->add_option("-j,--jobs", o->jobs, "Boots at once (default: the number of cores)")->check(CLI::PositiveNumber);
  sub->add_option("--out", o->out, "Output directory (default: out/<matrix name>)");
  sub->add_option("--only", o->only, "Run only cells matching these patterns");
  sub->add_option("--shard", o->shard, "Run shard K of N (K/N): cell i belongs to shard (i mod N)+1");
  sub->add_option("--retries", o->retries, "Extra attempts after an unexpected failure (default: the matrix's)")
      ->check(CLI::Range(0, 10));
  sub->add_option("--timeout", o->timeout_s, "Seconds per attempt (default: the matrix's)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--resume", o->resume, "Boot only the cells missing from DIR/report.json; keep the others");
  sub->add_option("--from-cells", o->from_cells,
                  "Boot nothing: report the cell objects of this JSON-lines file (the pytest driver)");
  sub->add_option("--backend", o->backend, "qemu or libvirt")->capture_default_str();
  sub->add_option("--qemu", o->qemu, std::string("QEMU binary (default ") + kDefaultQemu + ")");
  sub->add_option("--connect", o->connect, "libvirt connection URI[,jobs=N] (with --backend libvirt)");
  sub->add_flag("--cache", o->cache, "Answer boots whose inputs are unchanged from the result cache");
  sub->add_flag("--workarounds", o->workarounds,
                "For every cell that does not work, boot its workarounds (pv.native masks; a real kernel: the other\n"
                "dom0 mode, then its descriptor's switches, stopping at the first that works) into `workarounds`");
  sub->add_option("--history", o->history,
                  "History store: an SQLite file, a postgresql:// URI, or none (default: $PVMATRIX_HISTORY, else "
                  "history.sqlite beside OUT)");
  sub->add_option("--workaround-cells", o->workaround_cells,
                  "With --workarounds: search for the first N failing cells only (0 = all)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--dry-run", o->dry_run, "Boot nothing: every cell is SKIP (checks the matrix and the reports)");
  o->world.add_to(sub);
  sub->get_option("--resume")->excludes("--from-cells");
  sub->callback([o, &exit_code] { exit_code = run_run(*o); });
}

const Registrar registrar("run", setup_run);

}  // namespace
}  // namespace pvm::cli
