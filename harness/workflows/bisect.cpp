#include "bisect.h"

#include <filesystem>
#include <map>
#include <regex>

#include <fmt/format.h>

#include "git_worktree.h"
#include "launcher_factory.h"
#include "matrix.h"
#include "run_cell.h"
#include "text_util.h"
#include "world.h"

namespace pvm {
namespace {
namespace fs = std::filesystem;

class ProcessBisectEnvironment : public BisectEnvironment {
 public:
  ProcessBisectEnvironment(std::unique_ptr<Launcher> launcher, int build_jobs)
      : launcher_(std::move(launcher)), build_jobs_(build_jobs) {}
  std::optional<std::string> repository(std::string* err) override {
    auto top = git_toplevel(".", err);
    if (top) repo_ = *top;
    return top;
  }
  std::optional<std::string> resolve(const std::string& rev, std::string* err) override {
    return resolve_revision(repo_, rev, err);
  }
  std::string subject(const std::string& commit) override { return commit_subject(repo_, commit); }
  bool checkout(const std::string& commit, const std::string& dir, std::string* err) override {
    return checkout_worktree(repo_, commit, dir, err);
  }
  int git_bisect(const std::string& dir, const std::vector<std::string>& args, std::string* out) override {
    std::vector<std::string> argv{"git", "-C", dir, "bisect"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, "", out);
  }
  std::string head(const std::string& dir) override {
    std::string out;
    run_process({"git", "-C", dir, "rev-parse", "HEAD"}, "", &out);
    return trim(out);
  }
  bool build_images(const std::string& src, const std::string& build, std::string* err) override {
    return build_guest_images(src, build, build_jobs_, err);
  }
  std::optional<CellSpec> cell_spec(const std::string& src, const std::string& images, const std::string& matrix,
                                    const CellName& cell, std::string* err) override;
  CellResult boot(const CellSpec& spec) override { return run_cell(*launcher_, spec, {}); }

 private:
  std::unique_ptr<Launcher> launcher_;
  int build_jobs_;
  std::string repo_;
};

std::optional<CellSpec> ProcessBisectEnvironment::cell_spec(const std::string& src, const std::string& images,
                                                            const std::string& matrix, const CellName& cell,
                                                            std::string* err) {
  auto world = World::load(src, images, err);
  if (!world) return std::nullopt;
  CellConfig config;
  config.name = cell.cfg;
  if (cell.cfg != "default") {
    Matrix m;
    if (!load_matrix(matrix, universe_of(*world), &m, err)) return std::nullopt;
    bool found = false;
    for (const auto& c : m.configs) {
      if (c.name != cell.cfg) continue;
      config.cmdline = c.cmdline;
      config.memory_mib = c.memory_mib;
      config.machine = c.machine;
      config.timeout_s = m.timeout_s;
      found = true;
    }
    if (!found) return *err = "config " + cell.cfg + " is not in " + matrix, std::nullopt;
  }
  return world->make_spec(cell.kernel, cell.hv, config, err);
}

/// One bisection in progress.
class Bisection {
 public:
  Bisection(const BisectOptions& o, BisectEnvironment& env, std::string matrix, CellName cell)
      : o_(o), env_(env), matrix_(std::move(matrix)), cell_(std::move(cell)) {
    dir_ = fs::absolute(o.workdir).string() + "/bisect";
    src_ = dir_ + "/src";
  }
  int run(const std::string& good, const std::string& bad, std::string* err);

 private:
  void say(const std::string& line) const {
    if (o_.say) o_.say(line);
  }
  BisectTest test(const std::string& commit, bool checkout);
  int git_bisect(std::vector<std::string> args, std::string* out) { return env_.git_bisect(src_, args, out); }
  int steps(const BisectTest& at_bad, std::string* err);

  const BisectOptions& o_;
  BisectEnvironment& env_;
  std::string matrix_;
  CellName cell_;
  std::string dir_, src_;
  std::map<std::string, BisectTest> results_;
};

/// Checks out `commit` (unless bisect already did), builds, boots the cell o_.runs times.
BisectTest Bisection::test(const std::string& commit, bool checkout) {
  std::string err;
  if (checkout && !env_.checkout(commit, src_, &err)) return {BisectStep::Skip, "checkout failed: " + err, ""};
  say(fmt::format("bisect: {} {}: building...", commit.substr(0, 12), env_.subject(commit)));
  if (!env_.build_images(src_, dir_ + "/build", &err))
    return {BisectStep::Skip, "does not build: " + tail_lines(err, 3), ""};
  auto spec = env_.cell_spec(src_, dir_ + "/build/images", matrix_, cell_, &err);
  if (!spec) return {BisectStep::Skip, err, ""};
  int ok = 0, bad = 0;
  std::vector<std::string> seen;
  BisectTest t;
  for (int i = 0; i < o_.runs; ++i) {
    CellResult r = env_.boot(*spec);
    seen.push_back(to_string(r.status));
    if (r.status == Status::Error || r.status == Status::Skip) continue;
    if (works(r.status)) {
      ++ok;
    } else {
      ++bad;
      t.evidence = fmt::format("{} at stage {}: {}\n{}", to_string(r.status), r.stage, r.reason, r.evidence);
    }
  }
  t.why = join(seen, ", ");
  t.step = ok == o_.runs ? BisectStep::Good : bad == o_.runs ? BisectStep::Bad : BisectStep::Skip;
  say(fmt::format("bisect: {}: {} -> {}", commit.substr(0, 12), t.why,
                  t.step == BisectStep::Good ? "good" : t.step == BisectStep::Bad ? "bad" : "skip (not reproducible)"));
  results_[commit] = t;
  return t;
}

/// `git bisect` from start to its answer (or to only skipped commits left).
int Bisection::steps(const BisectTest& at_bad, std::string* out) {
  const std::regex first_bad(R"(([0-9a-f]{40}) is the first bad commit)");
  for (int steps = 0; steps < 64; ++steps) {
    std::smatch m;
    if (std::regex_search(*out, m, first_bad)) {
      const std::string commit = m[1];
      say(fmt::format("\nfirst bad commit: {} {}", commit, env_.subject(commit)));
      const BisectTest& t = results_.count(commit) ? results_[commit] : at_bad;
      say(fmt::format("cell {}: {}", o_.cell, t.why));
      if (!t.evidence.empty()) say("evidence:\n" + t.evidence);
      return kBisectFound;
    }
    if (out->find("only 'skip'ped commits left") != std::string::npos) {
      say("\nbisect: inconclusive: only skipped commits left to test:\n" + tail_lines(*out, 12));
      return kBisectInconclusive;
    }
    const BisectTest t = test(env_.head(src_), false);
    const char* verb = t.step == BisectStep::Good ? "good" : t.step == BisectStep::Bad ? "bad" : "skip";
    if (git_bisect({verb}, out) != 0 && out->find("first bad commit") == std::string::npos &&
        out->find("skip") == std::string::npos) {
      say(fmt::format("bisect: git bisect {} failed:\n{}", verb, tail_lines(*out, 10)));
      return kBisectInconclusive;
    }
  }
  return kBisectInconclusive;
}

int Bisection::run(const std::string& good, const std::string& bad, std::string* err) {
  say(fmt::format("bisect: confirming the ends ({} boots each)", o_.runs));
  const BisectTest g = test(good, true);
  const BisectTest x = test(bad, true);
  if (g.step != BisectStep::Good || x.step != BisectStep::Bad) {
    say(fmt::format("bisect: ends not confirmed: good {} showed {}; bad {} showed {}", o_.good, g.why, o_.bad, x.why));
    if (!x.evidence.empty()) say("evidence at bad:\n" + x.evidence);
    return kBisectEndsNotConfirmed;
  }
  std::string out;
  git_bisect({"reset"}, &out);
  if (git_bisect({"start", bad, good}, &out) != 0) return *err = "git bisect start failed:\n" + tail_lines(out, 10), 2;
  const int rc = steps(x, &out);
  std::string log;
  git_bisect({"log"}, &log);
  git_bisect({"reset"}, &out);
  if (rc != kBisectFound) say("bisect log:\n" + log);
  return rc;
}

}  // namespace

std::optional<CellName> parse_cell_id(const std::string& id) {
  std::smatch m;
  if (!std::regex_match(id, m, std::regex(R"(kernel=([^/]+)/hv=([^/]+)/cfg=([^/]+))"))) return std::nullopt;
  return CellName{m[1], m[2], m[3]};
}

std::unique_ptr<BisectEnvironment> process_bisect_environment(const std::string& qemu, int build_jobs,
                                                              std::string* err) {
  LauncherOptions lo;
  lo.qemu_binary = qemu;
  auto launcher = make_launcher(lo, err);
  if (!launcher) return nullptr;
  return std::make_unique<ProcessBisectEnvironment>(std::move(launcher), build_jobs);
}

int run_bisect(const BisectOptions& o, BisectEnvironment& env, std::string* err) {
  auto cell = parse_cell_id(o.cell);
  if (!cell) return *err = "--cell " + o.cell + ": expected kernel=RELEASE/hv=VERSION/cfg=CONFIG", 2;
  auto repo = env.repository(err);
  if (!repo) return 2;
  auto good = env.resolve(o.good, err);
  if (!good) return *err = "--good: " + *err, 2;
  auto bad = env.resolve(o.bad, err);
  if (!bad) return *err = "--bad: " + *err, 2;
  std::string matrix = o.matrix;
  if (!fs::exists(matrix) && fs::exists(*repo + "/" + matrix)) matrix = *repo + "/" + matrix;
  matrix = fs::absolute(matrix).string();
  Bisection b(o, env, matrix, *cell);
  return b.run(*good, *bad, err);
}

}  // namespace pvm
