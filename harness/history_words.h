// The history words of a cell (docs/contracts.md "History"): what a person reading a nightly
// wants to know about a cell beyond this run — since when it fails, whether it ever passed,
// whether it flips. Computed here and nowhere else, from the cell's timeline in the history
// store; a pure function, so it is unit-tested over hand-made histories.
//
// A result "works" when PASS, XPASS or FLAKY and "fails" when FAIL, CRASH, HANG or XFAIL (the
// verdicts' words, reports/verdicts.h). ERROR and SKIP decide nothing: they are skipped, so an
// ERROR between two passes neither breaks a streak nor counts as a flip.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace pvm {

/// One result of a cell in one recorded run.
struct HistoryEntry {
  int64_t run = 0;         ///< the store's run number
  std::string status;      ///< "PASS", "FAIL", ... as in report.json
  std::string revision;    ///< git revision of that run ("" if unknown)
  std::string started_at;  ///< ISO 8601, UTC
};

/// What the words say, most specific first.
enum class HistoryKind {
  NoResult,      ///< no deciding result yet (only ERROR/SKIP, or no history)
  Passing,       ///< works, and no failure in the window
  Fixed,         ///< works now, failed within the window (one flip)
  Regressed,     ///< fails in the latest deciding run only, worked before
  Failing,       ///< fails for 2+ deciding runs in a row, worked before
  NeverPassed,   ///< fails, and never worked in the whole history
  Intermittent,  ///< flaked (FLAKY) or flipped kIntermittentFlips times or more within the window
};

/// "no_result", "passing", "fixed", "regressed", "failing", "never_passed", "intermittent".
const char* to_string(HistoryKind k);

/// How many deciding results the intermittency and "fixed" words look back over.
inline constexpr int kHistoryWindow = 10;
/// Flips (works <-> fails) within the window that make a cell intermittent: three, so that one
/// failure episode between passes (P F F P: broken, then fixed) is "fixed", not intermittent,
/// while P F P F is.
inline constexpr int kIntermittentFlips = 3;

/// A cell's history words and the numbers behind them.
struct HistoryWords {
  HistoryKind kind = HistoryKind::NoResult;
  std::string text;                        ///< "failing for 3 runs: first failed in run 12 (last passed in run 11)"
  int64_t run = 0;                         ///< the latest entry's run (0 with no history)
  std::string status;                      ///< the latest entry's status ("" with no history)
  std::optional<int64_t> first_failed_run; ///< Regressed/Failing/NeverPassed: first run of the failing streak
  std::optional<int64_t> last_pass_run;    ///< the last run where it worked, if any
  std::optional<int64_t> fixed_since_run;  ///< Fixed: first run of the working streak
  int failing_for = 0;                     ///< deciding runs in a row that failed, ending at the latest
  int passing_for = 0;                     ///< deciding runs in a row that worked, ending at the latest
  int runs = 0;                            ///< deciding results in the whole history
  int window = 0;                          ///< deciding results in the window (<= kHistoryWindow)
  int failures_in_window = 0;              ///< of which failed (FLAKY counted as a failure here)
  int flips = 0;                           ///< works<->fails changes inside the window
  int flaky = 0;                           ///< FLAKY results inside the window
  double rate = 0;                         ///< failures_in_window / window
  std::vector<HistoryEntry> strip;         ///< the last `window_size` entries, ERROR/SKIP included, oldest first
};

/// The words for the latest entry of `timeline` (oldest first, one entry per run).
/// `older_unread`: the timeline starts after the cell's first result (the store read only the
/// recent runs): a passing streak that spans it reads "passing for K+ runs".
HistoryWords history_words(const std::vector<HistoryEntry>& timeline, int window_size = kHistoryWindow,
                           bool older_unread = false);

/// {"kind", "text", "run", "runs", "window", "rate", "strip": "41:PASS 42:ERROR 43:FAIL"} and,
/// when not zero, "failing_for", "passing_for", "failures_in_window", "flips", "flaky"; when they
/// apply, "first_failed_run", "last_pass_run", "fixed_since_run".
void to_json(nlohmann::json& j, const HistoryWords& w);

}  // namespace pvm
