// What the host gives a guest: a cell's timeout counts the time QEMU could run, not the wall
// clock (docs/contracts.md "Timeouts"). Linux's per-thread scheduler statistics
// (/proc/<pid>/task/<tid>/schedstat: ns on a CPU, ns runnable but waiting for one) tell them
// apart: over an interval, the guest got the wall time minus the longest any QEMU thread sat on
// a run queue. An idle guest (halted, waiting for a timer) waits on no run queue, so its time
// counts in full; a busy guest on a starved host counts only the CPU it was given.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>

namespace pvm {

/// How many times the budget a boot may take in wall time before the host is blamed.
inline constexpr double kWallSafetyFactor = 10.0;

/// Per-thread totals read from /proc/<pid>/task/*/schedstat.
struct ThreadShares {
  bool ok = false;                      ///< false: not readable (no procfs, no schedstat, gone)
  uint64_t cpu_ns = 0;                  ///< summed over threads
  std::map<pid_t, uint64_t> wait_ns;    ///< per thread: time runnable but not running
};

/// Reads `pid`'s threads now.
ThreadShares read_thread_shares(pid_t pid);

/// Reads `pid`'s threads again and again, cheaply: the schedstat files stay open between reads
/// (one pread each), and the thread list is read again only when it has changed: a thread has
/// gone (its read fails) or come (the link count of /proc/<pid>/task, two plus the number of
/// threads, has changed: one fstat of the directory kept open). Opening every file each time cost
/// ~15 system calls a sample, ~100 ms of harness CPU over a 15 s Xen boot; rescanning every 20th
/// read instead missed a thread born after the first read until the 20th, which a boot sampled a
/// dozen times (next_sample_interval_ns) never reaches.
class ThreadSharesReader {
 public:
  explicit ThreadSharesReader(pid_t pid) : pid_(pid) {}
  ~ThreadSharesReader();
  ThreadSharesReader(const ThreadSharesReader&) = delete;
  ThreadSharesReader& operator=(const ThreadSharesReader&) = delete;
  ThreadShares read();

 private:
  /// The link count of the task directory now (0: it cannot be read).
  uint64_t task_links();
  void rescan();
  void close_all();
  pid_t pid_;
  int task_dir_ = -1;         ///< /proc/<pid>/task, open for fstat
  uint64_t links_ = 0;        ///< its link count at the last rescan (0: never scanned)
  std::map<pid_t, int> fds_;  ///< thread id -> its open schedstat file
};

/// Integrates a boot's guest time from successive samples.
class ProgressMeter {
 public:
  /// Starts at `now_ns` (a monotonic clock) with the process's first sample.
  void start(uint64_t now_ns, const ThreadShares& first);
  /// Adds the interval since the last sample: its wall time minus the longest run-queue wait of
  /// any thread in it (all of it when the statistics cannot be read).
  void sample(uint64_t now_ns, const ThreadShares& s);
  uint64_t progress_ns() const { return progress_ns_; }
  uint64_t wall_ns() const { return last_ns_ - start_ns_; }
  uint64_t starved_ns() const { return wall_ns() - progress_ns_; }
  uint64_t cpu_ns() const { return cpu_ns_; }  ///< the process's CPU time so far (its threads, summed)
  bool measured() const { return measured_; }  ///< every sample read the statistics

 private:
  uint64_t start_ns_ = 0, last_ns_ = 0, progress_ns_ = 0, cpu_ns_ = 0;
  std::map<pid_t, uint64_t> wait_;
  bool measured_ = true;
};

}  // namespace pvm
