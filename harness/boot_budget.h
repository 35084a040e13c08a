// A boot's time budget, in the time the guest could run rather than the wall clock
// (docs/contracts.md "Timeouts"; host_share.h measures it). Both launchers use it: QEMU exec'd
// here, and libvirt's QEMU when it runs on this host (its pid is known). A busy host slows a boot
// down but does not make it a HANG; past kWallSafetyFactor times the budget in wall time the host
// is blamed (ERROR). Without a pid (QEMU on another host) every wall-clock second counts.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>

#include "host_share.h"
#include "launcher.h"

namespace pvm {

/// Nanoseconds of the monotonic clock.
uint64_t monotonic_ns();

/// Between two samples of a boot's threads once `age_ns` of it have passed: 50 ms while the
/// boot is young, then a tenth of its age, at most a second. A boot of seconds (Xen, a real
/// kernel) is sampled a few times a second instead of 20 (each sample reads every QEMU thread's
/// schedstat), and a HANG is noticed at most a tenth of its budget, and never more than a second,
/// after the budget ran out.
uint64_t budget_sample_interval_ns(uint64_t age_ns);

/// How the last interval between two samples went: its length, the run-queue wait charged in it
/// (wall minus progress), whether the statistics could be read, and the length it was planned to
/// have (0: its length). A sample may come before it is due (BootBudget::exhausted), so the
/// interval is shorter than planned; the schedule grows from the plan.
struct SampledInterval {
  uint64_t length_ns = 0, starved_ns = 0;
  bool measured = false;
  uint64_t planned_ns = 0;
};

/// The interval until the next sample. While the host is quiet (the last interval was measured
/// and no QEMU thread waited on a run queue for more than a hundredth of it, or for more than a
/// thousandth of the budget: QEMU's threads wait a few ms while it starts), twice the last one
/// (as long as it was, or was planned to be),
/// at most an eighth of the budget and never past the moment the budget could run out
/// (`budget_left_ns`: progress grows no faster than the wall clock, so no sample can find the
/// budget used up before then); otherwise, and whenever that is shorter,
/// budget_sample_interval_ns. Each sample reads every QEMU thread's schedstat: a quiet Xen boot of
/// 20 s is sampled ~10 times instead of ~50. Coarser intervals only where nothing waited: the
/// longest wait of any thread is taken over a longer interval, which differs from the sum of the
/// short intervals' by at most the other threads' waits, under a hundredth of the interval or a
/// thousandth of the budget.
uint64_t next_sample_interval_ns(uint64_t age_ns, const SampledInterval& last, uint64_t budget_ns,
                                 uint64_t budget_left_ns);

class BootBudget {
 public:
  /// Starts now. `pid`: QEMU's process (-1: unknown, the wall clock counts).
  BootBudget(pid_t pid, double timeout_s);
  /// True when the budget (out->timed_out) or the wall-clock limit (out->host_limit) is used
  /// up. Samples QEMU's threads when a sample is due (next_sample_interval_ns), or already once
  /// half of the interval has passed: a reader awake for output takes the sample a wakeup of its
  /// own would have come for. Sampling earlier only makes the intervals finer.
  bool exhausted(BootOutcome* out);
  /// Until the next sample is due (0: now): what a reader that has nothing else to wait for
  /// may sleep.
  std::chrono::milliseconds until_next_sample() const;
  /// Nanoseconds since the boot started.
  uint64_t age_ns() const;
  /// Samples once more at the end of the boot, when QEMU can still be read.
  void last_sample();
  /// The boot's CPU and run-queue time into `out`, when every sample could be read.
  void finish(BootOutcome* out) const;

 private:
  /// QEMU's threads now; once QEMU has gone (exited, reaped by libvirt), its last reading:
  /// a process that is gone waits on no run queue, and its CPU time stays what it was.
  ThreadShares read();
  /// When the next sample is due (monotonic ns): one interval after the last.
  uint64_t sample_due_ns() const { return last_sample_ + interval_ns_; }

  ThreadSharesReader shares_;
  ThreadShares last_ok_;
  uint64_t budget_ns_, wall_limit_ns_, start_ = 0, last_sample_ = 0, interval_ns_ = 0;
  ProgressMeter meter_;
};

}  // namespace pvm
