#include "boot_budget.h"

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
  meter_.start(monotonic_ns(), read());
  last_sample_ = monotonic_ns();
}

ThreadShares BootBudget::read() {
  ThreadShares s = shares_.read();
  if (s.ok) last_ok_ = s;
  else if (last_ok_.ok) return last_ok_;
  return s;
}

bool BootBudget::exhausted(BootOutcome* out) {
  const uint64_t now = monotonic_ns();
  if (now - last_sample_ >= 50'000'000) {  // sample at most every 50 ms
    meter_.sample(now, read());
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
