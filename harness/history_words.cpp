#include "history_words.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pvm {
namespace {

enum class Decides { Works, Fails, Nothing };

Decides decides(const std::string& status) {
  if (status == "PASS" || status == "XPASS" || status == "FLAKY") return Decides::Works;
  if (status == "FAIL" || status == "CRASH" || status == "HANG" || status == "XFAIL") return Decides::Fails;
  return Decides::Nothing;  // ERROR (infrastructure), SKIP (not run), anything unknown
}

std::string runs_word(int n) { return fmt::format("{} run{}", n, n == 1 ? "" : "s"); }

}  // namespace

const char* to_string(HistoryKind k) {
  switch (k) {
    case HistoryKind::NoResult: return "no_result";
    case HistoryKind::Passing: return "passing";
    case HistoryKind::Fixed: return "fixed";
    case HistoryKind::Regressed: return "regressed";
    case HistoryKind::Failing: return "failing";
    case HistoryKind::NeverPassed: return "never_passed";
    case HistoryKind::Intermittent: return "intermittent";
  }
  return "no_result";
}

HistoryWords history_words(const std::vector<HistoryEntry>& timeline, int window_size, bool older_unread) {
  HistoryWords w;
  window_size = std::max(window_size, 2);
  size_t strip_from = timeline.size() > static_cast<size_t>(window_size) ? timeline.size() - window_size : 0;
  w.strip.assign(timeline.begin() + static_cast<std::ptrdiff_t>(strip_from), timeline.end());
  if (timeline.empty()) {
    w.text = "no history";
    return w;
  }
  const HistoryEntry& latest = timeline.back();
  w.run = latest.run;
  w.status = latest.status;

  std::vector<const HistoryEntry*> d;  // the deciding results, oldest first
  for (const HistoryEntry& e : timeline)
    if (decides(e.status) != Decides::Nothing) d.push_back(&e);
  w.runs = static_cast<int>(d.size());
  if (d.empty()) {
    w.text = fmt::format("no deciding result yet ({} in run {})", latest.status, latest.run);
    return w;
  }
  auto works = [](const HistoryEntry* e) { return decides(e->status) == Decides::Works; };

  // Streaks ending at the latest deciding result; the last run that worked.
  const size_t n = d.size();
  for (size_t i = n; i-- > 0 && works(d[i]);) ++w.passing_for;
  for (size_t i = n; i-- > 0 && !works(d[i]);) ++w.failing_for;
  for (size_t i = n; i-- > 0;)
    if (works(d[i])) {
      w.last_pass_run = d[i]->run;
      break;
    }

  // The window: flips, flakes and the failure rate.
  const size_t from = n > static_cast<size_t>(window_size) ? n - window_size : 0;
  w.window = static_cast<int>(n - from);
  for (size_t i = from; i < n; ++i) {
    if (d[i]->status == "FLAKY") ++w.flaky;
    if (!works(d[i]) || d[i]->status == "FLAKY") ++w.failures_in_window;
    if (i > from && works(d[i]) != works(d[i - 1])) ++w.flips;
  }
  w.rate = static_cast<double>(w.failures_in_window) / w.window;

  if (w.failing_for > 0) w.first_failed_run = d[n - w.failing_for]->run;
  if (w.flaky > 0 || w.flips >= kIntermittentFlips) {
    w.kind = HistoryKind::Intermittent;
    w.text = fmt::format("intermittent: failed{} in {} of the last {} ({:.0f}%)", w.flaky ? " or flaked" : "",
                         w.failures_in_window, runs_word(w.window), std::round(w.rate * 100));
  } else if (w.failing_for > 0 && !w.last_pass_run) {
    w.kind = HistoryKind::NeverPassed;
    w.first_failed_run = d.front()->run;
    w.text = w.failing_for == 1 ? fmt::format("never passed (failed in run {}, its first)", d.front()->run)
                                : fmt::format("never passed (failed in all {} since run {})", runs_word(w.failing_for),
                                              d.front()->run);
  } else if (w.failing_for == 1) {
    w.kind = HistoryKind::Regressed;
    w.text = fmt::format("first failed in run {} (last passed in run {})", *w.first_failed_run, *w.last_pass_run);
  } else if (w.failing_for > 1) {
    w.kind = HistoryKind::Failing;
    w.text = fmt::format("failing for {}: first failed in run {} (last passed in run {})", runs_word(w.failing_for),
                         *w.first_failed_run, *w.last_pass_run);
  } else if (w.failures_in_window > 0) {
    w.kind = HistoryKind::Fixed;
    w.fixed_since_run = d[n - w.passing_for]->run;
    w.text = fmt::format("fixed since run {} (last failed in run {})", *w.fixed_since_run, d[n - w.passing_for - 1]->run);
  } else {
    w.kind = HistoryKind::Passing;
    const bool more = older_unread && w.passing_for == w.runs;
    w.text = more ? fmt::format("passing for {}+ runs", w.passing_for) : fmt::format("passing for {}", runs_word(w.passing_for));
  }
  if (decides(latest.status) == Decides::Nothing)
    w.text = fmt::format("{} in run {} (not counted); {}", latest.status, latest.run, w.text);
  return w;
}

void to_json(nlohmann::json& j, const HistoryWords& w) {
  using nlohmann::json;
  // A report holds 2,000 cells: the strip is one short string, zero counters and run numbers
  // that do not apply are left out.
  std::string strip;
  for (const HistoryEntry& e : w.strip) strip += fmt::format("{}{}:{}", strip.empty() ? "" : " ", e.run, e.status);
  j = json{{"kind", to_string(w.kind)}, {"text", w.text}, {"run", w.run},
           {"runs", w.runs},             {"window", w.window}, {"rate", std::round(w.rate * 1000) / 1000},
           {"strip", std::move(strip)}};
  for (const auto& [key, n] : {std::pair{"failing_for", w.failing_for}, std::pair{"passing_for", w.passing_for},
                               std::pair{"failures_in_window", w.failures_in_window}, std::pair{"flips", w.flips},
                               std::pair{"flaky", w.flaky}})
    if (n != 0) j[key] = n;
  if (w.first_failed_run) j["first_failed_run"] = *w.first_failed_run;
  if (w.last_pass_run) j["last_pass_run"] = *w.last_pass_run;
  if (w.fixed_since_run) j["fixed_since_run"] = *w.fixed_since_run;
}

}  // namespace pvm
