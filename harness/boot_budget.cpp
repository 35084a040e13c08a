#include "boot_budget.h"

#include <algorithm>
#include <chrono>

namespace pvm {

uint64_t monotonic_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

BootBudget::BootBudget(pid_t pid, double timeout_s)
    : shares_(pid),
      budget_ns_(static_cast<uint64_t>(timeout_s * 1e9)),
      wall_limit_ns_(static_cast<uint64_t>(timeout_s * kWallSafetyFactor * 1e9)) {
  start_ = monotonic_ns();
  meter_.start(start_, read());
  last_sample_ = monotonic_ns();
  interval_ns_ = budget_sample_interval_ns(0);
}

uint64_t BootBudget::age_ns() const { return monotonic_ns() - start_; }

uint64_t budget_sample_interval_ns(uint64_t age_ns) {
  return std::clamp<uint64_t>(age_ns / 10, 50'000'000, 1'000'000'000);
}

uint64_t next_sample_interval_ns(uint64_t age_ns, const SampledInterval& last, uint64_t budget_ns,
                                 uint64_t budget_left_ns) {
  const uint64_t fine = budget_sample_interval_ns(age_ns);
  const bool quiet = last.measured && last.length_ns > 0 &&
                     (last.starved_ns * 100 <= last.length_ns || last.starved_ns * 1000 <= budget_ns);
  if (!quiet) return fine;
  const uint64_t coarse = std::min({2 * std::max(last.length_ns, last.planned_ns), budget_ns / 8, budget_left_ns});
  return std::max(fine, coarse);
}

std::chrono::milliseconds BootBudget::until_next_sample() const {
  const uint64_t due = sample_due_ns(), now = monotonic_ns();
  return std::chrono::milliseconds(due > now ? (due - now + 999'999) / 1'000'000 : 0);
}

ThreadShares BootBudget::read() {
  ThreadShares s = shares_.read();
  if (s.ok) last_ok_ = s;
  else if (last_ok_.ok) return last_ok_;
  return s;
}

bool BootBudget::exhausted(BootOutcome* out) {
  const uint64_t now = monotonic_ns();
  if (now - last_sample_ >= interval_ns_ / 2) {
    const uint64_t starved_before = meter_.starved_ns();
    meter_.sample(now, read());
    const SampledInterval last{now - last_sample_, meter_.starved_ns() - starved_before, meter_.measured(), interval_ns_};
    const uint64_t progress = meter_.progress_ns();
    interval_ns_ = next_sample_interval_ns(now - start_, last, budget_ns_, budget_ns_ > progress ? budget_ns_ - progress : 0);
    last_sample_ = now;
  }
  if (meter_.progress_ns() >= budget_ns_) return out->timed_out = true;
  if (meter_.wall_ns() >= wall_limit_ns_) return out->host_limit = true;
  return false;
}

void BootBudget::last_sample() {
  if (ThreadShares last = read(); last.ok) meter_.sample(monotonic_ns(), last);
}

void BootBudget::finish(BootOutcome* out) const {
  if (!meter_.measured()) return;
  out->cpu_ms = meter_.cpu_ns() / 1'000'000;
  out->starved_ms = meter_.starved_ns() / 1'000'000;
}

}  // namespace pvm
