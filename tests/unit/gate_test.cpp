// The gate as library code (harness/workflows/gate.h) over a fake environment: git, builds and
// each side's `pvmatrix` answered from tables, every command the gate gives recorded. What is
// tested is the gate's own logic — which cells boot where, what a re-run confirms, what fails
// the gate, what it counts and writes — without a repository, a build or a boot.
#include "gate.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cell.h"
#include "run_report.h"
#include "text_util.h"

namespace pvm {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

/// A cell of the fake world: its axes and the digest of each input.
struct FakeCell {
  std::string kernel, hv, config = "default";
  CellInputs inputs;
  std::string id() const { return "kernel=" + kernel + "/hv=" + hv + "/cfg=" + config; }
};

/// One revision as the fake knows it: its world, the status each cell boots with (PASS unless
/// said), and what a fresh re-run shows (the first boot's status unless said).
struct FakeRevision {
  std::vector<FakeCell> world;
  std::map<std::string, std::string> status, rerun_status;
  bool builds = true;
};

/// One `pvmatrix` the gate ran.
struct Call {
  std::string side, harness;
  std::vector<std::string> args;
  std::string cache_dir;
  bool has(const std::string& arg) const { return std::find(args.begin(), args.end(), arg) != args.end(); }
  std::string after(const std::string& arg) const {
    auto it = std::find(args.begin(), args.end(), arg);
    return it == args.end() || it + 1 == args.end() ? "" : *(it + 1);
  }
};

class FakeGateEnvironment : public GateEnvironment {
 public:
  explicit FakeGateEnvironment(fs::path root) : root_(std::move(root)) {
    fs::create_directories(root_ / "repo/matrix");
    std::ofstream(root_ / "repo/matrix/gate.json") << "{}";
  }
  std::map<std::string, FakeRevision> revisions;  ///< by commit id
  std::vector<std::string> changed_paths{"kernel/x.cpp"};
  std::vector<std::string> gate_ids;               ///< the gate matrix's cells
  std::string run_help = "--workarounds --workaround-cells";
  json cache_counts = {{"hits", 3}, {"boots", 1}};  ///< each cached run's meta.cache (null: none)
  std::vector<Call> calls;
  std::vector<std::string> discarded, harness_builds;

  std::optional<std::string> repository(std::string*) override { return (root_ / "repo").string(); }
  std::optional<std::string> resolve(const std::string& rev, std::string* err) override {
    if (!revisions.count(rev)) return *err = "no such revision: " + rev, std::nullopt;
    return rev;
  }
  bool dirty() override { return false; }
  std::optional<std::vector<std::string>> changed(const std::string&, const std::string&, std::string*) override {
    return changed_paths;
  }
  bool checkout(const std::string& commit, const std::string& dir, std::string*) override {
    fs::create_directories(dir + "/matrix");
    std::ofstream(dir + "/matrix/nightly.json") << "{}";
    commit_of_[dir] = commit;
    return true;
  }
  void discard(const std::string& dir) override { discarded.push_back(dir); }
  bool build_images(const std::string& src, const std::string&, std::string* err) override {
    if (revisions.at(commit_of_.at(src)).builds) return true;
    return *err = "kernel/x.cpp:1: error: expected ';'", false;
  }
  bool build_harness(const std::string& build, std::string*) override {
    harness_builds.push_back(build);
    return true;
  }
  int pvmatrix(const GateSide& side, const std::vector<std::string>& args, const std::string&,
               const std::string& cache_dir, std::string* output) override {
    calls.push_back({side.name, side.harness, args, cache_dir});
    const FakeRevision& rev = revisions.at(side.tree.commit);
    if (args.at(0) == "list") return *output = list(rev, args), 0;
    if (args.at(1) == "--help") return *output = run_help, 0;
    return run(rev, calls.back(), output);
  }

  /// The calls of one side that ran a matrix (`run M ...`, not `run --help`).
  std::vector<Call> runs(const std::string& side) const {
    std::vector<Call> out;
    for (const Call& c : calls)
      if (c.side == side && c.args.at(0) == "run" && c.args.at(1) != "--help") out.push_back(c);
    return out;
  }

 private:
  std::string list(const FakeRevision& rev, const std::vector<std::string>& args) const {
    json cells = json::array();
    if (std::find(args.begin(), args.end(), "--inputs") != args.end()) {
      for (const FakeCell& c : rev.world)
        cells.push_back({{"id", c.id()}, {"kernel", c.kernel}, {"hv", c.hv}, {"config", c.config},
                         {"inputs", c.inputs}});
      return "pvmatrix: a line before the document\n" + json{{"name", "nightly"}, {"cells", cells}}.dump();
    }
    for (const std::string& id : gate_ids) cells.push_back({{"id", id}});
    return json{{"name", "gate"}, {"cells", cells}}.dump();
  }

  int run(const FakeRevision& rev, const Call& call, std::string* output) const {
    const bool gate_matrix = call.args.at(1).ends_with("/matrix/gate.json");
    const auto only = call.after("--only");
    json cells = json::array(), kernels = json::array(), hvs = json::array();
    for (const FakeCell& c : rev.world) {
      const bool selected = gate_matrix ? std::count(gate_ids.begin(), gate_ids.end(), c.id()) > 0
                                        : ("," + only + ",").find("," + c.id() + ",") != std::string::npos;
      if (!selected) continue;
      CellResult r;
      r.spec.kernel = c.kernel, r.spec.hv = c.hv, r.spec.config = c.config;
      std::string status = rev.status.count(c.id()) ? rev.status.at(c.id()) : "PASS";
      if (!call.has("--cache") && rev.rerun_status.count(c.id())) status = rev.rerun_status.at(c.id());
      r.status = r.outcome = *status_from_string(status);
      r.binding = {{"timer", "rom"}};
      json j = r;
      if (call.has("--workarounds") && !works(r.status))
        j["workarounds"] = json::array({{{"mask", "pv.native=timer"}, {"status", "PASS"}}});
      cells.push_back(j);
      kernels.push_back(c.kernel), hvs.push_back(c.hv);
    }
    json meta = {{"matrix", {{"path", call.args.at(1)}}}};
    if (call.has("--cache") && !cache_counts.is_null()) meta["cache"] = cache_counts;
    json axes = {{"kernels", kernels}, {"hypervisors", hvs}, {"configs", json::array({{{"name", "default"}}})}};
    const std::string out = call.after("--out");
    fs::create_directories(out);
    std::ofstream(out + "/report.json") << make_report(meta, axes, cells, true).dump();
    *output = "pvmatrix: done";
    return 0;
  }

  fs::path root_;
  std::map<std::string, std::string> commit_of_;  ///< worktree dir -> commit
};

/// A world of two kernels on two ROMs; the gate matrix holds one of its cells.
class GateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("pvm-gate-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    env_ = std::make_unique<FakeGateEnvironment>(root_);
    for (const char* k : {"2.6.24", "2.6.25"})
      for (const char* hv : {"rom-1.0", "rom-1.1"})
        world_.push_back({k, hv, "default", {std::string("k") + k, "", std::string("r") + hv, "", "p", "c"}});
    env_->gate_ids = {world_[0].id()};  // 2.6.24 on rom-1.0
    env_->revisions["base"].world = world_;
    env_->revisions["head"].world = world_;
    opts_.base = "base";
    opts_.head = "head";
    opts_.matrix = (root_ / "repo/matrix/gate.json").string();
    opts_.out = (root_ / "out").string();
    opts_.workdir = (root_ / "work").string();
    opts_.cache_dir = (root_ / "cache").string();
    opts_.say = [this](const std::string& line) { said_.push_back(line); };
  }
  void TearDown() override { fs::remove_all(root_); }

  /// The head's world with rom-1.1's bytes changed.
  void change_rom_1_1() {
    for (FakeCell& c : env_->revisions["head"].world)
      if (c.hv == "rom-1.1") c.inputs.rom = "r-new";
  }
  int gate(GateOutcome* out, std::string* err) { return run_gate(opts_, *env_, out, err); }
  bool said(const std::string& text) const {
    return std::any_of(said_.begin(), said_.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; });
  }

  fs::path root_;
  std::unique_ptr<FakeGateEnvironment> env_;
  std::vector<FakeCell> world_;
  GateOptions opts_;
  std::vector<std::string> said_;
};

TEST_F(GateTest, TheChangeDecidesWhichWorldCellsBootAtBothEnds) {
  change_rom_1_1();
  GateOutcome out;
  std::string err;
  ASSERT_EQ(gate(&out, &err), 0) << err;
  for (const char* side : {"base", "head"}) {
    auto runs = env_->runs(side);
    ASSERT_EQ(runs.size(), 2u) << side;
    EXPECT_TRUE(runs[0].has("--cache"));
    EXPECT_EQ(runs[0].after("--only"), "") << "the gate matrix runs whole";
    EXPECT_EQ(runs[1].after("--only"), world_[1].id() + "," + world_[3].id()) << "rom-1.1's column only";
    EXPECT_EQ(runs[1].cache_dir, opts_.cache_dir);
  }
  EXPECT_TRUE(said("gate: +2 cells: rom-1.1 changed"));
  EXPECT_EQ(out.meta["affected"], json::parse(R"([{"why": "rom-1.1 changed", "cells": 2}])"));
  EXPECT_EQ(out.meta["always"], 1);
  EXPECT_EQ(out.verdicts.cells.size(), 3u);
  EXPECT_FALSE(out.verdicts.fails());
  EXPECT_TRUE(fs::exists(root_ / "out/verdicts.json"));
  EXPECT_TRUE(fs::exists(root_ / "out/head/report.html"));
  EXPECT_EQ(out.reruns, 0u);
}

TEST_F(GateTest, AnUntouchedWorldBootsTheGateMatrixOnly) {
  GateOutcome out;
  std::string err;
  ASSERT_EQ(gate(&out, &err), 0) << err;
  EXPECT_EQ(env_->runs("head").size(), 1u);
  EXPECT_TRUE(said("the change touches no other cell of matrix/nightly.json"));
  EXPECT_EQ(out.meta["affected"], json::array());
}

TEST_F(GateTest, ARegressionARerunConfirmsFailsTheGateWithItsWorkarounds) {
  change_rom_1_1();
  env_->revisions["head"].status[world_[3].id()] = "FAIL";  // 2.6.25 on rom-1.1
  GateOutcome out;
  std::string err;
  ASSERT_EQ(gate(&out, &err), 1) << err;
  auto runs = env_->runs("head");
  ASSERT_EQ(runs.size(), 3u);
  const Call& rerun = runs[2];
  EXPECT_FALSE(rerun.has("--cache")) << "a re-run must boot, not replay";
  EXPECT_EQ(rerun.after("--only"), world_[3].id());
  EXPECT_EQ(rerun.after("--retries"), "0");
  EXPECT_EQ(rerun.after("--workaround-cells"), "8");
  ASSERT_FALSE(out.verdicts.cells.empty());
  const CellVerdict& v = out.verdicts.cells.front();
  EXPECT_EQ(v.id, world_[3].id());
  EXPECT_EQ(v.verdict, Verdict::Regression);
  EXPECT_EQ(v.rerun, "FAIL");
  ASSERT_EQ(v.workarounds.size(), 1u);
  EXPECT_EQ(v.workarounds[0].mask, "pv.native=timer");
  EXPECT_EQ(out.reruns, 1u);
  EXPECT_EQ(out.workaround_boots, 1u);
  std::ifstream in(root_ / "out/verdicts.json");
  EXPECT_EQ(json::parse(in)["gate"]["boots"]["reruns"], 1);
}

TEST_F(GateTest, AFailureTheRerunDoesNotRepeatDoesNotFailTheGate) {
  change_rom_1_1();
  env_->revisions["head"].status[world_[3].id()] = "FAIL";
  env_->revisions["head"].rerun_status[world_[3].id()] = "PASS";
  GateOutcome out;
  std::string err;
  ASSERT_EQ(gate(&out, &err), 0) << err;
  const CellVerdict* v = out.verdicts.find(world_[3].id());
  ASSERT_NE(v, nullptr);
  EXPECT_NE(v->verdict, Verdict::Regression);
  EXPECT_EQ(v->rerun, "PASS");
}

TEST_F(GateTest, AnOlderHeadHarnessRerunsWithoutTheWorkaroundSearch) {
  env_->revisions["head"].status[world_[0].id()] = "FAIL";
  env_->run_help = "--retries";  // a pvmatrix before --workaround-cells
  GateOutcome out;
  std::string err;
  ASSERT_EQ(gate(&out, &err), 1) << err;
  const Call rerun = env_->runs("head").back();
  EXPECT_EQ(rerun.after("--retries"), "0");
  EXPECT_FALSE(rerun.has("--workarounds"));
}

TEST_F(GateTest, CacheCountsAreTheRunsOwnFromTheirReports) {
  change_rom_1_1();
  GateOutcome out;
  std::string err;
  ASSERT_EQ(gate(&out, &err), 0) << err;
  EXPECT_EQ(out.hits[0], 6);  // two cached runs a side, 3 hits each
  EXPECT_EQ(out.boots[1], 2);
  EXPECT_EQ(out.meta["cache_hits"]["head"], 6);
  EXPECT_TRUE(said("gate: head: 3 cells, 2 booted, 6 from cache"));
}

TEST_F(GateTest, ARunThatDoesNotRecordItsCacheCountsReadsAsUnknown) {
  env_->cache_counts = nullptr;
  GateOutcome out;
  std::string err;
  ASSERT_EQ(gate(&out, &err), 0) << err;
  EXPECT_EQ(out.hits[1], -1);
  EXPECT_EQ(out.boots[1], -1);
}

TEST_F(GateTest, AHeadThatDoesNotBuildIsAnErrorAndLeavesNoWorktree) {
  env_->revisions["head"].builds = false;
  GateOutcome out;
  std::string err;
  EXPECT_EQ(gate(&out, &err), 2);
  EXPECT_THAT(err, HasSubstr("head head (head) does not build: kernel/x.cpp:1: error"));
  EXPECT_THAT(env_->discarded, ElementsAre(fs::absolute(opts_.workdir).string() + "/head/src"));
  EXPECT_TRUE(env_->runs("head").empty());
  EXPECT_FALSE(fs::exists(root_ / "out/verdicts.json")) << "never a verdict on an error";
}

TEST_F(GateTest, AnUnknownRevisionIsAnErrorNamingTheOption) {
  opts_.base = "nope";
  GateOutcome out;
  std::string err;
  EXPECT_EQ(gate(&out, &err), 2);
  EXPECT_EQ(err, "--base: no such revision: nope");
  EXPECT_TRUE(env_->calls.empty());
}

TEST_F(GateTest, AChangeToTheHarnessIsJudgedByTheHeadsOwnPvmatrix) {
  env_->changed_paths = {"harness/classify.cpp", "kernel/x.cpp"};
  GateOutcome out;
  std::string err;
  ASSERT_EQ(gate(&out, &err), 0) << err;
  const std::string head_build = fs::absolute(opts_.workdir).string() + "/head/build";
  EXPECT_THAT(env_->harness_builds, ElementsAre(head_build));
  for (const Call& c : env_->runs("head")) EXPECT_EQ(c.harness, head_build + "/pvmatrix");
  for (const Call& c : env_->runs("base")) EXPECT_NE(c.harness, head_build + "/pvmatrix");
  EXPECT_EQ(out.meta["head"]["harness"], head_build + "/pvmatrix");
  EXPECT_TRUE(said("the change touches the harness (harness/classify.cpp)"));
}

TEST(GateRules, HarnessPathsAreWhatThePvmatrixBinaryIsBuiltFrom) {
  EXPECT_THAT(harness_paths({"harness/cli/cmd_run.cpp", "reports/html/report.js", "kernel/main.cpp", "CMakeLists.txt",
                             "hypervisor-versions/rom/include/pvrom/abi.h", "hypervisor-versions/rom-1.1/version.json"}),
              ElementsAre("harness/cli/cmd_run.cpp", "reports/html/report.js", "CMakeLists.txt",
                          "hypervisor-versions/rom/include/pvrom/abi.h"));
}

TEST(GateRules, WhyAffectedNamesTheFirstInputThatChanged) {
  GateWorldCell base{"2.6.24", "xen-4.17", "default", {"k", "i", "r", "x", "p", "c"}};
  GateWorldCell head = base;
  EXPECT_EQ(why_affected(&base, head), "");
  EXPECT_EQ(why_affected(nullptr, head), "new in the head's world");
  head.inputs.cmdline = "c2";
  EXPECT_EQ(why_affected(&base, head), "config default changed");
  head.inputs.hypervisor = "x2";
  EXPECT_EQ(why_affected(&base, head), "xen-4.17 changed");
  head.inputs.initrd = "i2";
  EXPECT_EQ(why_affected(&base, head), "the guest agent changed");
  head.inputs.kernel = "k2";
  EXPECT_EQ(why_affected(&base, head), "kernel 2.6.24 changed");
}

TEST(GateRules, CombinedReportsKeepThePrimaryCellAndPrefixTheExtraLogs) {
  auto cell = [](const char* kernel, const char* log) {
    CellResult r;
    r.spec.kernel = kernel, r.spec.hv = "x", r.spec.config = "d";
    r.status = r.outcome = Status::Pass;
    r.log_path = log;
    return json(r);
  };
  const json configs = json::array({{{"name", "d"}}});
  json primary = make_report(json::object(), {{"kernels", {"a"}}, {"hypervisors", {"x"}}, {"configs", configs}},
                             json::array({cell("a", "logs/a.log")}), true);
  json extra = make_report(json::object(), {{"kernels", {"b"}}, {"hypervisors", {"x"}}, {"configs", configs}},
                           json::array({cell("a", "logs/other.log"), cell("b", "logs/b.log")}), false);
  json r = combine_reports(primary, extra, "world");
  ASSERT_EQ(r["cells"].size(), 2u);
  EXPECT_EQ(r["cells"][0]["log"], "logs/a.log");
  EXPECT_EQ(r["cells"][1]["log"], "world/logs/b.log");
  EXPECT_EQ(r["axes"]["kernels"], json::array({"a", "b"}));
  EXPECT_FALSE(r["complete"]) << "an incomplete part makes the whole incomplete";
  EXPECT_EQ(r["summary"]["total"], 2);
}

}  // namespace
}  // namespace pvm
