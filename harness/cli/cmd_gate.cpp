// `pvmatrix gate --base REV --head REV [MATRIX]`: the per-patch gate. Each revision is checked
// out in a worktree of its own and only its guest images are built; both run the matrix
// through `pvmatrix run` (the same scheduler path, with the result cache), then the verdicts:
// doubtful cells (FLAKY, REGRESSION) are booted once more, each confirmed regression gets a
// workaround search (pv.native masks; a real kernel: the other dom0 mode, its switches). Exit 1 on REGRESSION only; 2 for a revision that
// does not exist or does not build, or any harness error (never a verdict then).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "command.h"
#include "git_worktree.h"
#include "history_store.h"
#include "launcher_factory.h"
#include "matrix.h"
#include "result_cache.h"
#include "run_cell.h"
#include "run_report.h"
#include "verdicts.h"
#include "workarounds.h"
#include "world.h"

namespace pvm::cli {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

struct GateOptions {
  std::string base, head = "HEAD";
  std::string matrix = "matrix/gate.json";
  std::string out = "out/gate";
  std::string workdir = ".pvmatrix-work";
  std::string cache_dir;  ///< "" = default_cache_dir()
  std::string qemu;
  int build_jobs = 2;
  int jobs = 0;           ///< boots at once (0 = run's default)
  std::string baseline;   ///< "history": the base side comes from the history store, not a run
  std::string history;    ///< the store ("" = $PVMATRIX_HISTORY, else history.sqlite beside OUT)
};

/// One side of the gate, built and run.
struct Side {
  const char* name;      ///< "base" | "head"
  RevisionTree tree;
  json report;
  long hits = -1, boots = -1;  ///< from `run`'s cache line (-1: unknown)
};

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("pvmatrix") : p.string();
}

int fail(const std::string& message) {
  std::fprintf(stderr, "pvmatrix gate: %s\n", message.c_str());
  return kExitUsage;
}

/// Checks out and builds one side; false with *err naming the revision.
bool prepare(const GateOptions& o, const std::string& repo, Side* side, std::string* err) {
  RevisionTree& t = side->tree;
  const std::string dir = fs::absolute(o.workdir).string() + "/" + side->name;
  t.build = dir + "/build";
  t.images = t.build + "/images";
  if (t.dirty) {
    t.src = repo;
    std::printf("gate: %s = working tree of %s (dirty)\n", side->name, repo.c_str());
  } else {
    t.src = dir + "/src";
    std::printf("gate: %s = %s (%s)\n", side->name, t.rev.c_str(), t.commit.substr(0, 12).c_str());
    if (!checkout_worktree(repo, t.commit, t.src, err)) {
      *err = fmt::format("{} {}: {}", side->name, t.rev, *err);
      return false;
    }
  }
  std::fflush(stdout);
  if (!build_guest_images(t.src, t.build, o.build_jobs, err)) {
    *err = fmt::format("{} {} ({}) does not build: {}", side->name, t.rev, t.commit.substr(0, 12), *err);
    return false;
  }
  return true;
}

/// Runs the matrix on one side through `pvmatrix run` (the scheduler path `run` uses).
bool run_side(const GateOptions& o, const std::string& matrix, const std::string& cache_dir, Side* side,
              std::string* err) {
  const std::string out = o.out + "/" + side->name;
  std::vector<std::string> argv{self_exe(), "run",   matrix, "--root", side->tree.src, "--images",
                                side->tree.images, "--out", out,   "--cache", "--history", "none"};
  if (!o.qemu.empty()) argv.insert(argv.end(), {"--qemu", o.qemu});
  if (o.jobs > 0) argv.insert(argv.end(), {"-j", std::to_string(o.jobs)});
  std::string output;
  int rc = run_process(argv, "", &output, {{"PVMATRIX_CACHE", cache_dir}}, out + ".run.log");
  if (rc != kExitOk && rc != kExitFailure) {
    *err = fmt::format("{}: pvmatrix run exited {} ({}.run.log):\n{}", side->name, rc, out, tail_lines(output, 15));
    return false;
  }
  std::smatch m;
  if (std::regex_search(output, m, std::regex(R"(cache: (\d+) hits, (\d+) boots)"))) {
    side->hits = std::stol(m[1]);
    side->boots = std::stol(m[2]);
  } else if (output.find("cache:") == std::string::npos) {
    side->hits = side->boots = 0;  // nothing to boot
  }
  if (!read_report(out + "/report.json", &side->report, err)) return false;
  std::printf("gate: %s: %zu cells, %ld booted, %ld from cache\n", side->name, side->report["cells"].size(),
              side->boots, side->hits);
  std::fflush(stdout);
  return true;
}

const json* find_cell(const json& report, const std::string& id) {
  for (const json& c : report.at("cells"))
    if (c.value("id", "") == id) return &c;
  return nullptr;
}

int run_gate(GateOptions o) {
  std::string err;
  auto repo = git_toplevel(".", &err);
  if (!repo) return fail(err);
  std::string matrix = o.matrix;
  if (!fs::exists(matrix) && fs::exists(*repo + "/" + matrix)) matrix = *repo + "/" + matrix;
  if (!fs::exists(matrix)) return fail("matrix file not found: " + o.matrix);
  matrix = fs::absolute(matrix).string();
  const std::string cache_dir = o.cache_dir.empty() ? default_cache_dir() : fs::absolute(o.cache_dir).string();
  o.out = fs::absolute(o.out).string();

  Side base{"base", {}, {}, -1, -1}, head{"head", {}, {}, -1, -1};
  base.tree.rev = o.base;
  head.tree.rev = o.head;
  for (Side* s : {&base, &head}) {
    auto commit = resolve_revision(*repo, s->tree.rev, &err);
    if (!commit) return fail(fmt::format("--{}: {}", s->name, err));
    s->tree.commit = *commit;
  }
  // A dirty work tree as head: gate what the user has, and say so.
  if (o.head == "HEAD" && work_tree_dirty(*repo)) head.tree.dirty = true;

  // --baseline history: the base is the last complete run of the matrix on the base commit in the
  // history store (issue 17); nothing is built or booted for it.
  const bool base_from_history = o.baseline == "history";
  for (Side* s : {&base, &head})
    if (!(base_from_history && s == &base) && !prepare(o, *repo, s, &err)) return fail(err);
  for (Side* s : {&base, &head})
    if (!(base_from_history && s == &base) && !run_side(o, matrix, cache_dir, s, &err)) return fail(err);
  if (base_from_history) {
    std::string label, store = o.history.empty() ? default_history_location(o.out) : o.history;
    if (!history_baseline_for(store, head.report, base.tree.commit, &base.report, &label, &err))
      return fail("--baseline history: " + err);
    base.boots = base.hits = 0;
    std::printf("gate: base = %s\n", label.c_str());
  }

  VerdictSet set;
  set.base_label = fmt::format("{} ({})", o.base, base.tree.commit.substr(0, 12));
  set.head_label = fmt::format("{} ({}{})", o.head, head.tree.commit.substr(0, 12), head.tree.dirty ? ", dirty" : "");
  if (!diff(base.report, head.report, &set, &err)) return fail(err);

  // Doubtful cells and workarounds are booted in process on the head's tree.
  size_t reruns = 0, workaround_boots = 0;
  bool doubtful = false;
  for (const auto& v : set.cells) doubtful = doubtful || v.needs_rerun;
  std::unique_ptr<Launcher> launcher;
  std::unique_ptr<ResultCache> cache;
  std::unique_ptr<CachingLauncher> cached;
  std::map<std::string, CellSpec> specs;
  std::optional<World> world;
  if (doubtful) {
    world = World::load(head.tree.src, head.tree.images, &err);
    if (!world) return fail("head: " + err);
    Matrix m;
    if (!load_matrix(matrix, universe_of(*world), &m, &err)) return fail("head: " + err);
    std::vector<CellSpec> list;
    if (!make_cell_specs(m, *world, &list, &err)) return fail("head: " + err);
    for (auto& s : list) specs[s.id()] = s;
    LauncherOptions lo;
    lo.qemu_binary = o.qemu;
    launcher = make_launcher(lo, &err);
    if (!launcher) return fail(err);
    cache = std::make_unique<ResultCache>(cache_dir);
    cached = std::make_unique<CachingLauncher>(*launcher, *cache);
  }
  for (auto& v : set.cells) {
    if (!v.needs_rerun) continue;
    auto spec = specs.find(v.id);
    const json* base_cell = find_cell(base.report, v.id);
    if (spec == specs.end() || !base_cell) continue;
    RunCellOptions ro;
    ro.log_file = o.out + "/head/logs/" + v.kernel + "/" + v.hv + "/" + v.config + ".rerun.log";
    // A re-run must really boot: never from the cache.
    CellResult r = run_cell(*launcher, spec->second, ro);
    ++reruns;
    confirm_with_rerun(&v, *base_cell, json(r));
  }
  for (auto& v : set.cells) {
    if (v.verdict != Verdict::Regression) continue;
    auto spec = specs.find(v.id);
    if (spec == specs.end()) continue;
    // A reference kernel's masks are cheap: all of them are reported. A real kernel's variants
    // cost a Linux boot each: the search stops at the first that works.
    const bool real = spec->second.kernel_family == "linux";
    for (const WorkaroundTry& w : workaround_tries(*world, spec->second)) {
      CellResult r = run_cell(*cached, w.spec, {});
      ++workaround_boots;
      v.workarounds.push_back({w.label, to_string(r.status)});
      if (real && (r.status == Status::Pass || r.status == Status::Xpass || r.status == Status::Flaky)) break;
    }
  }
  // Regressions first again: re-runs may have changed verdicts.
  std::stable_sort(set.cells.begin(), set.cells.end(), [](const CellVerdict& a, const CellVerdict& b) {
    return (a.verdict == Verdict::Regression) > (b.verdict == Verdict::Regression);
  });

  // Outputs: the head's reports carry the verdicts; verdicts.json and summary.md beside them.
  json gate_meta = {{"base", {{"rev", o.base}, {"commit", base.tree.commit}}},
                    {"head", {{"rev", o.head}, {"commit", head.tree.commit}, {"dirty", head.tree.dirty}}},
                    {"boots", {{"base", base.boots}, {"head", head.boots}, {"reruns", reruns},
                               {"workarounds", workaround_boots}}},
                    {"cache_hits", {{"base", base.hits}, {"head", head.hits}}},
                    {"cache_dir", cache_dir}};
  annotate_report(&head.report, set);
  head.report["meta"]["gate"] = gate_meta;
  if (!write_reports(head.report, o.out + "/head", default_report_writers(), &err)) return fail(err);
  json vj = set;
  vj["gate"] = gate_meta;
  std::string md = render_markdown(set);
  if (!write_file_atomically(o.out + "/verdicts.json", vj.dump(2) + "\n", &err) ||
      !write_file_atomically(o.out + "/summary.md", md, &err))
    return fail(err);
  std::fwrite(md.data(), 1, md.size(), stdout);
  std::printf("\ngate: boots: base %ld, head %ld, re-runs %zu, workaround search %zu; cache hits: base %ld, head %ld\n",
              base.boots, head.boots, reruns, workaround_boots, base.hits, head.hits);
  std::printf("gate: %s -> %s/verdicts.json, %s/head/report.html\n",
              set.has_regression() ? "FAIL (regression)" : "PASS", o.out.c_str(), o.out.c_str());
  return set.has_regression() ? kExitFailure : kExitOk;
}

void setup_gate(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<GateOptions>();
  CLI::App* sub = app.add_subcommand("gate", "Per-patch gate: build and run the matrix at two revisions, fail on a regression");
  sub->footer(
      "Each revision is checked out in WORKDIR/{base,head}/src (detached git worktrees; your work tree is never\n"
      "touched) and only its guest images are built, in WORKDIR/{base,head}/build. Boots are answered from the\n"
      "result cache when kernel image, ROM, platform and command line are unchanged, so a second gate against\n"
      "the same base boots only the head's changed cells. FLAKY and regressed cells are booted once more; each\n"
      "confirmed REGRESSION is tried with pv.native=<group> for cpu irq mmu timer lazy, then all.\n"
      "--head HEAD with uncommitted changes gates the working tree itself (recorded as dirty).\n"
      "Writes OUT/verdicts.json, OUT/summary.md, OUT/base/ and OUT/head/ (reports with verdicts).\n"
      "Exit status: 0 no regression, 1 a REGRESSION, 2 a revision that does not exist or does not build,\n"
      "or a usage/harness error.");
  sub->add_option("--base", o->base, "Baseline revision (e.g. origin/main)")->required();
  sub->add_option("--head", o->head, "Revision to judge")->capture_default_str();
  sub->add_option("matrix", o->matrix, "Matrix file")->capture_default_str();
  sub->add_option("--out", o->out, "Output directory")->capture_default_str();
  sub->add_option("--workdir", o->workdir, "Worktrees and build dirs")->capture_default_str();
  sub->add_option("--cache", o->cache_dir, "Result cache dir (default: $PVMATRIX_CACHE, else ~/.cache/pvmatrix)");
  sub->add_option("--qemu", o->qemu, "QEMU binary");
  sub->add_option("--build-jobs", o->build_jobs, "Parallel build jobs")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("-j,--jobs", o->jobs, "Boots at once (default: as `run`)")->check(CLI::PositiveNumber);
  sub->add_option("--baseline", o->baseline,
                  "history: take the base from the history store (the last complete run of the matrix on --base)")
      ->check(CLI::IsMember({"history"}));
  sub->add_option("--history", o->history, "History store for --baseline history (default: $PVMATRIX_HISTORY, "
                                            "else history.sqlite beside OUT)");
  sub->callback([o, &exit_code] { exit_code = run_gate(*o); });
}

const Registrar registrar("gate", setup_gate);

}  // namespace
}  // namespace pvm::cli
