// `pvmatrix bisect --good REV --bad REV --cell ID`: the first commit at which a cell stops
// working. Drives `git bisect` in a worktree of its own (the user's work tree and bisect
// state are never touched); at each step builds the guest images and boots the cell N times.
// A step counts only when all N boots agree: all work = good, all fail = bad; anything else
// (mixed results, ERROR, no build) is `git bisect skip`.
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "git_worktree.h"
#include "launcher_factory.h"
#include "matrix.h"
#include "preamble.h"
#include "run_cell.h"
#include "world.h"

namespace pvm::cli {
namespace {
namespace fs = std::filesystem;

/// Exit statuses of bisect (documented in --help).
constexpr int kExitFound = 0;
constexpr int kExitInconclusive = 3;
constexpr int kExitEndsNotConfirmed = 4;

struct BisectOptions {
  std::string good, bad, cell;
  int runs = 2;
  std::string matrix = "matrix/gate.json";  ///< where a non-default config's cmdline is found
  std::string workdir = ".pvmatrix-work";
  std::string qemu;
  int build_jobs = 2;
};

enum class Step { Good, Bad, Skip };

/// What testing one commit showed.
struct Tested {
  Step step = Step::Skip;
  std::string why;       ///< one line: statuses seen, or why it was skipped
  std::string evidence;  ///< the last failing boot's reason and evidence
};

struct CellName {
  std::string kernel, hv, cfg;
};

std::optional<CellName> parse_cell_id(const std::string& id) {
  std::smatch m;
  if (!std::regex_match(id, m, std::regex(R"(kernel=([^/]+)/hv=([^/]+)/cfg=([^/]+))"))) return std::nullopt;
  return CellName{m[1], m[2], m[3]};
}

class Bisector {
 public:
  Bisector(const BisectOptions& o, std::string repo, std::string matrix, CellName cell, Launcher& launcher)
      : o_(o), repo_(std::move(repo)), matrix_(std::move(matrix)), cell_(std::move(cell)), launcher_(launcher) {
    dir_ = fs::absolute(o.workdir).string() + "/bisect";
    src_ = dir_ + "/src";
  }
  const std::string& src() const { return src_; }

  /// Checks out `commit` (unless bisect already did), builds, boots the cell o_.runs times.
  Tested test(const std::string& commit, bool checkout) {
    std::string err;
    if (checkout && !checkout_worktree(repo_, commit, src_, &err)) return {Step::Skip, "checkout failed: " + err, ""};
    std::printf("bisect: %s %s: building...\n", commit.substr(0, 12).c_str(), commit_subject(repo_, commit).c_str());
    std::fflush(stdout);
    if (!build_guest_images(src_, dir_ + "/build", o_.build_jobs, &err))
      return {Step::Skip, "does not build: " + tail_lines(err, 3), ""};
    auto world = World::load(src_, dir_ + "/build/images", &err);
    if (!world) return {Step::Skip, err, ""};
    CellConfig config;
    config.name = cell_.cfg;
    if (cell_.cfg != "default") {
      Matrix m;
      if (!load_matrix(matrix_, universe_of(*world), &m, &err)) return {Step::Skip, err, ""};
      bool found = false;
      for (const auto& c : m.configs) {
        if (c.name != cell_.cfg) continue;
        config.cmdline = c.cmdline;
        config.memory_mib = c.memory_mib;
        config.machine = c.machine;
        config.timeout_s = m.timeout_s;
        found = true;
      }
      if (!found) return {Step::Skip, "config " + cell_.cfg + " is not in " + matrix_, ""};
    }
    auto spec = world->make_spec(cell_.kernel, cell_.hv, config, &err);
    if (!spec) return {Step::Skip, err, ""};
    int ok = 0, bad = 0, error = 0;
    std::string seen, evidence;
    for (int i = 0; i < o_.runs; ++i) {
      CellResult r = run_cell(launcher_, *spec, {});
      seen += std::string(seen.empty() ? "" : ", ") + to_string(r.status);
      if (r.status == Status::Error || r.status == Status::Skip) ++error;
      else if (works(r.status)) ++ok;
      else {
        ++bad;
        evidence = fmt::format("{} at stage {}: {}\n{}", to_string(r.status), r.stage, r.reason, r.evidence);
      }
    }
    Tested t;
    t.why = seen;
    t.evidence = evidence;
    t.step = ok == o_.runs ? Step::Good : bad == o_.runs ? Step::Bad : Step::Skip;
    std::printf("bisect: %s: %s -> %s\n", commit.substr(0, 12).c_str(), seen.c_str(),
                t.step == Step::Good ? "good" : t.step == Step::Bad ? "bad" : "skip (not reproducible)");
    std::fflush(stdout);
    return t;
  }

  int git_bisect(std::vector<std::string> args, std::string* out) {
    args.insert(args.begin(), {"git", "-C", src_, "bisect"});
    return run_process(args, "", out);
  }

 private:
  const BisectOptions& o_;
  std::string repo_, matrix_;
  CellName cell_;
  Launcher& launcher_;
  std::string dir_, src_;
};

int run_bisect(const BisectOptions& o) {
  auto usage = [](const std::string& m) { return command_error("bisect", m); };
  std::string err;
  auto cell = parse_cell_id(o.cell);
  if (!cell) return usage("--cell " + o.cell + ": expected kernel=RELEASE/hv=VERSION/cfg=CONFIG");
  auto repo = git_toplevel(".", &err);
  if (!repo) return usage(err);
  auto good = resolve_revision(*repo, o.good, &err);
  if (!good) return usage("--good: " + err);
  auto bad = resolve_revision(*repo, o.bad, &err);
  if (!bad) return usage("--bad: " + err);
  std::string matrix = o.matrix;
  if (!fs::exists(matrix) && fs::exists(*repo + "/" + matrix)) matrix = *repo + "/" + matrix;
  matrix = fs::absolute(matrix).string();
  LauncherOptions lo;
  lo.qemu_binary = o.qemu;
  auto launcher = make_launcher(lo, &err);
  if (!launcher) return usage(err);

  // Boots are never answered from the cache here: reproducing is the point.
  Bisector b(o, *repo, matrix, *cell, *launcher);
  std::map<std::string, Tested> results;
  std::printf("bisect: confirming the ends (%d boots each)\n", o.runs);
  Tested g = b.test(*good, true);
  results[*good] = g;
  Tested x = b.test(*bad, true);
  results[*bad] = x;
  if (g.step != Step::Good || x.step != Step::Bad) {
    std::printf("bisect: ends not confirmed: good %s showed %s; bad %s showed %s\n", o.good.c_str(), g.why.c_str(),
                o.bad.c_str(), x.why.c_str());
    if (!x.evidence.empty()) std::printf("evidence at bad:\n%s\n", x.evidence.c_str());
    return kExitEndsNotConfirmed;
  }

  std::string out;
  b.git_bisect({"reset"}, &out);
  if (b.git_bisect({"start", *bad, *good}, &out) != 0) return usage("git bisect start failed:\n" + tail_lines(out, 10));
  const std::regex first_bad(R"(([0-9a-f]{40}) is the first bad commit)");
  int rc = kExitInconclusive;
  for (int steps = 0; steps < 64; ++steps) {
    std::smatch m;
    if (std::regex_search(out, m, first_bad)) {
      std::string commit = m[1];
      std::printf("\nfirst bad commit: %s %s\n", commit.c_str(), commit_subject(*repo, commit).c_str());
      const Tested& t = results.count(commit) ? results[commit] : x;
      std::printf("cell %s: %s\n", o.cell.c_str(), t.why.c_str());
      if (!t.evidence.empty()) std::printf("evidence:\n%s\n", t.evidence.c_str());
      rc = kExitFound;
      break;
    }
    if (out.find("only 'skip'ped commits left") != std::string::npos) {
      std::printf("\nbisect: inconclusive: only skipped commits left to test:\n%s\n", tail_lines(out, 12).c_str());
      break;
    }
    std::string head;
    run_process({"git", "-C", b.src(), "rev-parse", "HEAD"}, "", &head);
    while (!head.empty() && (head.back() == '\n' || head.back() == '\r')) head.pop_back();
    Tested t = b.test(head, false);
    results[head] = t;
    const char* verb = t.step == Step::Good ? "good" : t.step == Step::Bad ? "bad" : "skip";
    if (b.git_bisect({verb}, &out) != 0 && out.find("first bad commit") == std::string::npos &&
        out.find("skip") == std::string::npos) {
      std::printf("bisect: git bisect %s failed:\n%s\n", verb, tail_lines(out, 10).c_str());
      break;
    }
  }
  std::string log;
  b.git_bisect({"log"}, &log);
  b.git_bisect({"reset"}, &out);
  if (rc != kExitFound) std::printf("bisect log:\n%s", log.c_str());
  return rc;
}

void setup_bisect(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<BisectOptions>();
  CLI::App* sub = app.add_subcommand("bisect", "Find the first commit at which a cell stops working");
  sub->footer(
      "Confirms both ends first (each end reproduced --runs times), then drives `git bisect` in\n"
      "WORKDIR/bisect/src (a detached worktree: your work tree and your own bisect are untouched), building the\n"
      "guest images and booting the cell --runs times at each step. A step whose boots disagree, that shows\n"
      "ERROR, or that does not build is skipped (git bisect skip).\n"
      "Exit status: 0 first bad commit found, 2 usage (bad revision, bad cell id), 3 inconclusive (only\n"
      "skipped commits left), 4 ends not confirmed (good does not work or bad does not fail, reproducibly).");
  sub->add_option("--good", o->good, "A revision where the cell works")->required();
  sub->add_option("--bad", o->bad, "A revision where the cell fails")->required();
  sub->add_option("--cell", o->cell, "Cell id, e.g. kernel=2.6.25/hv=rom-1.12/cfg=default")->required();
  sub->add_option("--runs", o->runs, "Boots per step; all must agree")->capture_default_str()->check(CLI::Range(1, 20));
  sub->add_option("--matrix", o->matrix, "Matrix file naming the cell's config (for cfg other than default)")
      ->capture_default_str();
  sub->add_option("--workdir", o->workdir, "Worktree and build dir")->capture_default_str();
  sub->add_option("--qemu", o->qemu, "QEMU binary");
  sub->add_option("--build-jobs", o->build_jobs, "Parallel build jobs")->capture_default_str()->check(CLI::PositiveNumber);
  sub->callback([o, &exit_code] { exit_code = run_bisect(*o); });
}

const Registrar registrar("bisect", setup_bisect);

}  // namespace
}  // namespace pvm::cli
