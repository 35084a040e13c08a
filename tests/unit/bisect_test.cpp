// Bisect as library code (harness/workflows/bisect.h) over a fake environment: a linear history
// of commits, a `git bisect` that narrows it as git does, and boots whose status each commit
// decides. What is tested is bisect's own logic — both ends confirmed first, a step counted only
// when every boot agrees, skips for what does not build or does not reproduce, the answer.
#include "bisect.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace pvm {
namespace {
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

std::string commit(int i) { return fmt::format("{:040x}", 0xc000 + i); }

class FakeBisectEnvironment : public BisectEnvironment {
 public:
  explicit FakeBisectEnvironment(int commits) : commits_(commits) {}
  int first_bad = 6;
  std::set<int> broken_build;               ///< commits whose images do not build
  std::set<int> flaky;                      ///< commits whose boots alternate PASS, FAIL
  std::vector<std::string> bisect_calls;    ///< "start B G", "good", "skip", ...
  std::vector<int> booted;                  ///< the commit of every boot, in order

  std::optional<std::string> repository(std::string*) override { return std::string("/nonexistent/repo"); }
  std::optional<std::string> resolve(const std::string& rev, std::string* err) override {
    for (int i = 0; i < commits_; ++i)
      if (rev == "c" + std::to_string(i)) return commit(i);
    return *err = "no such revision: " + rev, std::nullopt;
  }
  std::string subject(const std::string& c) override { return "change " + std::to_string(index(c)); }
  bool checkout(const std::string& c, const std::string&, std::string*) override {
    head_ = index(c);
    return true;
  }
  int git_bisect(const std::string&, const std::vector<std::string>& args, std::string* out) override {
    std::string call;
    for (const auto& a : args) call += (call.empty() ? "" : " ") + (a.size() == 40 ? "c" + std::to_string(index(a)) : a);
    bisect_calls.push_back(call);
    const std::string& verb = args.at(0);
    if (verb == "reset" || verb == "log") return *out = "# bisect log", 0;
    if (verb == "start") hi_ = index(args.at(1)), lo_ = index(args.at(2)), skipped_.clear();
    else if (verb == "good") lo_ = head_;
    else if (verb == "bad") hi_ = head_;
    else if (verb == "skip") skipped_.insert(head_);
    return next(out);
  }
  std::string head(const std::string&) override { return commit(head_); }
  bool build_images(const std::string&, const std::string&, std::string* err) override {
    if (!broken_build.count(head_)) return true;
    return *err = "line 1\nline 2\nkernel/x.cpp:1: error: expected ';'", false;
  }
  std::optional<CellSpec> cell_spec(const std::string&, const std::string&, const std::string&, const CellName& cell,
                                    std::string*) override {
    CellSpec s;
    s.kernel = cell.kernel, s.hv = cell.hv, s.config = cell.cfg;
    return s;
  }
  CellResult boot(const CellSpec& spec) override {
    booted.push_back(head_);
    CellResult r;
    r.spec = spec;
    const bool fails = flaky.count(head_) ? booted.size() % 2 == 0 : head_ >= first_bad;
    r.status = r.outcome = fails ? Status::Fail : Status::Pass;
    if (fails) r.stage = "timer", r.reason = "probe time.oneshot failed", r.evidence = "[probe] time.oneshot FAIL";
    return r;
  }

 private:
  int index(const std::string& c) const { return std::stoi(c, nullptr, 16) - 0xc000; }
  /// What git says after each step: the first bad commit, only skipped commits left, or the
  /// commit to test next (checked out), the one nearest the middle.
  int next(std::string* out) {
    if (hi_ - lo_ == 1) return *out = commit(hi_) + " is the first bad commit\n", 0;
    std::vector<int> left;
    for (int i = lo_ + 1; i < hi_; ++i)
      if (!skipped_.count(i)) left.push_back(i);
    if (left.empty()) return *out = "There are only 'skip'ped commits left to test.\nThe first bad commit could be any of:\n", 2;
    const int mid = (lo_ + hi_) / 2;
    head_ = *std::min_element(left.begin(), left.end(), [&](int a, int b) { return std::abs(a - mid) < std::abs(b - mid); });
    return *out = fmt::format("Bisecting: {} revisions left to test after this\n", left.size() / 2), 0;
  }
  int commits_, head_ = 0, lo_ = 0, hi_ = 0;
  std::set<int> skipped_;
};

class BisectFlow : public ::testing::Test {
 protected:
  BisectFlow() : env_(10) {
    opts_.good = "c0";
    opts_.bad = "c9";
    opts_.cell = "kernel=2.6.25/hv=rom-1.12/cfg=default";
    opts_.say = [this](const std::string& line) { said_ += line + "\n"; };
  }
  int bisect(std::string* err) { return run_bisect(opts_, env_, err); }
  FakeBisectEnvironment env_;
  BisectOptions opts_;
  std::string said_;
};

TEST_F(BisectFlow, FindsTheFirstBadCommitWithItsEvidence) {
  std::string err;
  ASSERT_EQ(bisect(&err), kBisectFound) << err;
  EXPECT_THAT(said_, HasSubstr("first bad commit: " + commit(6) + " change 6"));
  EXPECT_THAT(said_, HasSubstr("cell kernel=2.6.25/hv=rom-1.12/cfg=default: FAIL, FAIL"));
  EXPECT_THAT(said_, HasSubstr("evidence:\nFAIL at stage timer: probe time.oneshot failed"));
  EXPECT_EQ(env_.bisect_calls.front(), "reset");
  EXPECT_EQ(env_.bisect_calls.at(1), "start c9 c0");
  EXPECT_EQ(env_.bisect_calls.back(), "reset") << "the bisect worktree is left clean";
  // Both ends, then a binary search of 8 commits: at most 2 + 4 commits, 2 boots each.
  EXPECT_LE(env_.booted.size(), 12u);
  EXPECT_EQ(env_.booted.size() % 2, 0u);
}

TEST_F(BisectFlow, EndsThatDoNotReproduceStopBeforeBisecting) {
  env_.first_bad = 0;  // the good end fails too
  std::string err;
  EXPECT_EQ(bisect(&err), kBisectEndsNotConfirmed);
  EXPECT_THAT(said_, HasSubstr("ends not confirmed: good c0 showed FAIL, FAIL; bad c9 showed FAIL, FAIL"));
  EXPECT_THAT(said_, HasSubstr("evidence at bad:"));
  EXPECT_TRUE(env_.bisect_calls.empty()) << "git bisect is never started";
}

TEST_F(BisectFlow, ACommitThatDoesNotBuildIsSkippedAndTheSearchGoesOn) {
  env_.broken_build = {4};
  std::string err;
  ASSERT_EQ(bisect(&err), kBisectFound) << err;
  EXPECT_THAT(env_.bisect_calls, Contains("skip"));
  EXPECT_THAT(said_, HasSubstr("first bad commit: " + commit(6)));
  EXPECT_THAT(env_.booted, Not(Contains(4))) << "nothing boots without images";
}

TEST_F(BisectFlow, BootsThatDisagreeAreASkipNotAVerdict) {
  env_.flaky = {4};
  std::string err;
  ASSERT_EQ(bisect(&err), kBisectFound) << err;
  EXPECT_THAT(said_, HasSubstr(commit(4).substr(0, 12) + ": PASS, FAIL -> skip (not reproducible)"));
  EXPECT_THAT(env_.bisect_calls, Contains("skip"));
}

TEST_F(BisectFlow, OnlySkippedCommitsLeftIsInconclusiveWithTheLog) {
  env_.broken_build = {5};  // 4 good, 6 bad: 5 could be the first bad one
  std::string err;
  EXPECT_EQ(bisect(&err), kBisectInconclusive);
  EXPECT_THAT(said_, HasSubstr("inconclusive: only skipped commits left to test"));
  EXPECT_THAT(said_, HasSubstr("bisect log:\n# bisect log"));
}

TEST_F(BisectFlow, BadInputIsAUsageErrorNamingTheOption) {
  std::string err;
  opts_.cell = "2.6.25 on rom-1.12";
  EXPECT_EQ(bisect(&err), 2);
  EXPECT_THAT(err, HasSubstr("--cell 2.6.25 on rom-1.12: expected kernel=RELEASE/hv=VERSION/cfg=CONFIG"));
  opts_.cell = "kernel=2.6.25/hv=rom-1.12/cfg=default";
  opts_.good = "nope";
  EXPECT_EQ(bisect(&err), 2);
  EXPECT_EQ(err, "--good: no such revision: nope");
  EXPECT_TRUE(env_.booted.empty());
}

}  // namespace
}  // namespace pvm
