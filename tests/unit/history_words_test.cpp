// The history words over hand-made timelines (harness/history_words.h).
#include "history_words.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace pvm {
namespace {

// "PASS FAIL ERROR" -> runs 1, 2, 3 with those statuses.
std::vector<HistoryEntry> timeline(const std::string& statuses, int64_t first_run = 1) {
  std::vector<HistoryEntry> out;
  std::string word;
  int64_t run = first_run;
  for (size_t i = 0; i <= statuses.size(); ++i) {
    if (i == statuses.size() || statuses[i] == ' ') {
      if (!word.empty()) out.push_back({run++, word, "rev" + std::to_string(run), "2026-01-01T00:00:00Z"});
      word.clear();
    } else {
      word += statuses[i];
    }
  }
  return out;
}

TEST(HistoryWords, NoHistory) {
  HistoryWords w = history_words({});
  EXPECT_EQ(w.kind, HistoryKind::NoResult);
  EXPECT_EQ(w.text, "no history");
  EXPECT_TRUE(w.strip.empty());
}

TEST(HistoryWords, OnlyInfrastructureErrorsDecideNothing) {
  HistoryWords w = history_words(timeline("ERROR SKIP ERROR"));
  EXPECT_EQ(w.kind, HistoryKind::NoResult);
  EXPECT_EQ(w.runs, 0);
  EXPECT_EQ(w.text, "no deciding result yet (ERROR in run 3)");
  EXPECT_EQ(w.strip.size(), 3u);
}

TEST(HistoryWords, StablePass) {
  HistoryWords w = history_words(timeline("PASS PASS PASS"));
  EXPECT_EQ(w.kind, HistoryKind::Passing);
  EXPECT_EQ(w.passing_for, 3);
  EXPECT_EQ(w.failing_for, 0);
  EXPECT_EQ(w.last_pass_run, 3);
  EXPECT_EQ(w.text, "passing for 3 runs");
}

TEST(HistoryWords, FirstFailureNamesTheLastPass) {
  HistoryWords w = history_words(timeline("PASS PASS PASS FAIL"));
  EXPECT_EQ(w.kind, HistoryKind::Regressed);
  EXPECT_EQ(w.first_failed_run, 4);
  EXPECT_EQ(w.last_pass_run, 3);
  EXPECT_EQ(w.failing_for, 1);
  EXPECT_EQ(w.text, "first failed in run 4 (last passed in run 3)");
}

TEST(HistoryWords, LongFailureCountsItsRuns) {
  HistoryWords w = history_words(timeline("PASS PASS CRASH FAIL HANG FAIL FAIL FAIL FAIL FAIL FAIL FAIL FAIL"));
  EXPECT_EQ(w.kind, HistoryKind::Failing);
  EXPECT_EQ(w.failing_for, 11);
  EXPECT_EQ(w.first_failed_run, 3);
  EXPECT_EQ(w.last_pass_run, 2);
  EXPECT_EQ(w.flips, 0);  // the pass->fail flip is older than the window of 10
  EXPECT_EQ(w.text, "failing for 11 runs: first failed in run 3 (last passed in run 2)");
  EXPECT_EQ(w.strip.size(), static_cast<size_t>(kHistoryWindow));
  EXPECT_EQ(w.strip.back().run, 13);
}

TEST(HistoryWords, NeverPassed) {
  HistoryWords w = history_words(timeline("FAIL XFAIL ERROR CRASH", 7));
  EXPECT_EQ(w.kind, HistoryKind::NeverPassed);
  EXPECT_EQ(w.failing_for, 3);  // the ERROR is not counted
  EXPECT_EQ(w.first_failed_run, 7);
  EXPECT_FALSE(w.last_pass_run.has_value());
  EXPECT_EQ(w.text, "never passed (failed in all 3 runs since run 7)");
}

TEST(HistoryWords, NeverPassedInItsOnlyRun) {
  EXPECT_EQ(history_words(timeline("HANG", 4)).text, "never passed (failed in run 4, its first)");
}

TEST(HistoryWords, FixedSinceTheFirstPassAfterTheFailures) {
  HistoryWords w = history_words(timeline("PASS FAIL FAIL PASS PASS"));
  EXPECT_EQ(w.kind, HistoryKind::Fixed);
  EXPECT_EQ(w.fixed_since_run, 4);
  EXPECT_EQ(w.passing_for, 2);
  EXPECT_EQ(w.flips, 2);  // one failure episode: broken, then fixed — not intermittent
  EXPECT_EQ(w.text, "fixed since run 4 (last failed in run 3)");
}

TEST(HistoryWords, ThreeFlipsAreIntermittent) {
  EXPECT_EQ(history_words(timeline("PASS FAIL PASS FAIL")).kind, HistoryKind::Intermittent);
  EXPECT_EQ(history_words(timeline("FAIL PASS FAIL")).kind, HistoryKind::Regressed);
}

TEST(HistoryWords, FixedAfterAFailureThatNeverPassedBefore) {
  HistoryWords w = history_words(timeline("FAIL FAIL FAIL PASS PASS"));
  EXPECT_EQ(w.kind, HistoryKind::Fixed);
  EXPECT_EQ(w.fixed_since_run, 4);
  EXPECT_EQ(w.text, "fixed since run 4 (last failed in run 3)");
}

TEST(HistoryWords, FixedLongAgoIsJustPassing) {
  HistoryWords w = history_words(timeline("FAIL PASS PASS PASS PASS PASS PASS PASS PASS PASS PASS"));
  EXPECT_EQ(w.kind, HistoryKind::Passing);
  EXPECT_EQ(w.passing_for, 10);
  EXPECT_FALSE(w.fixed_since_run.has_value());
}

TEST(HistoryWords, FlipFlopIsIntermittentWithItsRate) {
  HistoryWords w = history_words(timeline("PASS FAIL PASS FAIL PASS FAIL PASS FAIL"));
  EXPECT_EQ(w.kind, HistoryKind::Intermittent);
  EXPECT_EQ(w.window, 8);
  EXPECT_EQ(w.flips, 7);
  EXPECT_EQ(w.failures_in_window, 4);
  EXPECT_DOUBLE_EQ(w.rate, 0.5);
  EXPECT_EQ(w.text, "intermittent: failed in 4 of the last 8 runs (50%)");
}

TEST(HistoryWords, AFlakyResultIsIntermittent) {
  HistoryWords w = history_words(timeline("PASS PASS FLAKY PASS"));
  EXPECT_EQ(w.kind, HistoryKind::Intermittent);
  EXPECT_EQ(w.flaky, 1);
  EXPECT_EQ(w.flips, 0);
  EXPECT_EQ(w.text, "intermittent: failed or flaked in 1 of the last 4 runs (25%)");
}

TEST(HistoryWords, AnErrorBetweenTwoPassesIsNotAFailure) {
  HistoryWords w = history_words(timeline("PASS ERROR PASS"));
  EXPECT_EQ(w.kind, HistoryKind::Passing);
  EXPECT_EQ(w.passing_for, 2);
  EXPECT_EQ(w.failures_in_window, 0);
  EXPECT_EQ(w.flips, 0);
  EXPECT_EQ(w.strip.size(), 3u);  // the strip still shows it
  EXPECT_EQ(w.strip[1].status, "ERROR");
}

TEST(HistoryWords, AnErrorInsideAFailureDoesNotBreakTheStreak) {
  HistoryWords w = history_words(timeline("PASS FAIL ERROR FAIL"));
  EXPECT_EQ(w.kind, HistoryKind::Failing);
  EXPECT_EQ(w.failing_for, 2);
  EXPECT_EQ(w.first_failed_run, 2);
}

TEST(HistoryWords, ALatestErrorSaysSoAndKeepsTheWordsBefore) {
  HistoryWords w = history_words(timeline("PASS PASS FAIL ERROR"));
  EXPECT_EQ(w.kind, HistoryKind::Regressed);
  EXPECT_EQ(w.run, 4);
  EXPECT_EQ(w.status, "ERROR");
  EXPECT_EQ(w.text, "ERROR in run 4 (not counted); first failed in run 3 (last passed in run 2)");
}

TEST(HistoryWords, XpassWorksAndSkipDecidesNothing) {
  HistoryWords w = history_words(timeline("XFAIL XFAIL SKIP XPASS"));
  EXPECT_EQ(w.kind, HistoryKind::Fixed);
  EXPECT_EQ(w.fixed_since_run, 4);
}

TEST(HistoryWords, APassingStreakBeyondWhatWasReadSaysSo) {
  EXPECT_EQ(history_words(timeline("PASS PASS PASS"), kHistoryWindow, /*older_unread=*/true).text, "passing for 3+ runs");
  // A failure inside what was read: the streak is exact.
  EXPECT_EQ(history_words(timeline("FAIL PASS PASS"), kHistoryWindow, true).kind, HistoryKind::Fixed);
}

TEST(HistoryWords, JsonCarriesTheNumbers) {
  nlohmann::json j = history_words(timeline("PASS FAIL FAIL"));
  EXPECT_EQ(j["kind"], "failing");
  EXPECT_EQ(j["first_failed_run"], 2);
  EXPECT_EQ(j["last_pass_run"], 1);
  EXPECT_FALSE(j.contains("fixed_since_run"));  // absent, not null: 2,000 cells a report
  EXPECT_EQ(j["strip"], "1:PASS 2:FAIL 3:FAIL");
  EXPECT_EQ(j["failing_for"], 2);
  EXPECT_FALSE(j.contains("passing_for"));  // zero: absent
  EXPECT_FALSE(j.contains("flaky"));
}

}  // namespace
}  // namespace pvm
