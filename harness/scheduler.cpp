#include "scheduler.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "known_issues.h"

namespace pvm {

namespace {

/// A boot that threw: lit's UNRESOLVED, our ERROR (the harness's fault, not the kernel's).
CellResult error_result(const CellSpec& spec, const std::string& why) {
  CellResult r;
  r.spec = spec;
  r.status = r.outcome = Status::Error;
  r.reason = "harness error: " + why;
  r.attempts.push_back({Status::Error, 0, std::nullopt, std::nullopt, r.reason, std::nullopt, std::nullopt});
  return r;
}

class Run {
 public:
  Run(const std::vector<CellSpec>& cells, const BootOnce& boot, RunStatus& status, const SchedulerOptions& o)
      : cells_(cells), boot_(boot), status_(status), options_(o) {
    out_.results.resize(cells.size());
    if (options_.interrupt_fd >= 0 && pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
  }
  ~Run() {
    for (int fd : wake_)
      if (fd >= 0) close(fd);
  }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  ScheduledRun go() {
    const size_t workers =
        std::min<size_t>(cells_.size(), static_cast<size_t>(std::max(1, options_.parallelism)));
    status_.run_started(cells_.size(), static_cast<int>(workers));
    std::vector<std::thread> threads;
    threads.reserve(workers);
    for (size_t i = 0; i < workers; ++i) threads.emplace_back([this] { work(); });

    // The main thread only watches for the end or an interruption.
    std::unique_lock lock(mu_);
    while (finished_workers_ < workers) {
      if (options_.interrupt && options_.interrupt->load() != 0 && !stop_.load()) {
        stop_ = true;
        out_.interrupted_by = options_.interrupt->load();
      }
      if (stop_.load() && options_.on_interrupt) {
        lock.unlock();
        options_.on_interrupt();  // again every tick: a boot may have begun just before stop_
        lock.lock();
      }
      wait(lock);
    }
    lock.unlock();
    for (std::thread& t : threads) t.join();
    // The workers may have seen the signal flag (and stopped) before this thread did.
    if (out_.interrupted_by == 0 && options_.interrupt && options_.interrupt->load() != 0) {
      out_.interrupted_by = options_.interrupt->load();
      if (options_.on_interrupt) options_.on_interrupt();
    }
    status_.run_finished(out_.interrupted_by != 0);
    return std::move(out_);
  }

 private:
  /// Until a worker finishes or (before the stop) the interruption comes. Once stopping, and
  /// when the interruption can only be polled, every 50 ms.
  void wait(std::unique_lock<std::mutex>& lock) {
    if (!stop_.load() && !options_.interrupt) return cv_.wait(lock);
    if (stop_.load() || wake_[0] < 0) {
      cv_.wait_for(lock, std::chrono::milliseconds(50));
      return;
    }
    lock.unlock();
    pollfd fds[2] = {{wake_[0], POLLIN, 0}, {options_.interrupt_fd, POLLIN, 0}};
    if (poll(fds, 2, -1) > 0 && fds[0].revents) {
      char buf[64];
      while (read(wake_[0], buf, sizeof buf) > 0) {}
    }
    lock.lock();
  }

  /// The run is being stopped. Reads the signal flag too: a guest killed by the same Ctrl-C
  /// may end before the main thread has noticed it.
  bool stopping() const { return stop_.load() || (options_.interrupt && options_.interrupt->load() != 0); }

  void work() {
    for (;;) {
      if (stopping()) break;
      size_t i = next_.fetch_add(1);
      if (i >= cells_.size()) break;
      std::optional<CellResult> r = run_one(cells_[i]);
      std::lock_guard lock(mu_);
      if (r) {
        out_.results[i] = std::move(*r);
        ++done_;
        status_.cell_finished(*out_.results[i], done_, cells_.size());
      }
    }
    std::lock_guard lock(mu_);
    ++finished_workers_;
    cv_.notify_all();
    if (wake_[1] >= 0) (void)!write(wake_[1], "x", 1);
  }

  /// All attempts of one cell; nullopt if the interruption cut it short.
  std::optional<CellResult> run_one(const CellSpec& spec) {
    const KnownIssue* issue =
        options_.known_issues ? options_.known_issues->find(spec.kernel, spec.hv, spec.config) : nullptr;
    std::vector<Attempt> attempts;
    CellResult last;
    for (int attempt = 1;; ++attempt) {
      {
        std::lock_guard lock(mu_);
        ++in_flight_;
        out_.max_in_flight = std::max(out_.max_in_flight, in_flight_);
        status_.cell_started(spec, attempt);
      }
      try {
        last = boot_(spec, attempt);
      } catch (const std::exception& e) {
        last = error_result(spec, e.what());
      } catch (...) {
        last = error_result(spec, "unknown exception");
      }
      {
        std::lock_guard lock(mu_);
        --in_flight_;
      }
      if (last.attempts.empty())
        last.attempts.push_back({last.outcome, last.duration_ms, std::nullopt, std::nullopt, last.reason, std::nullopt, std::nullopt});
      // A boot that ended because we stopped the run says nothing about the cell.
      if (stopping() && last.outcome != Status::Pass && last.outcome != Status::Skip) return std::nullopt;
      attempts.insert(attempts.end(), last.attempts.begin(), last.attempts.end());
      if (attempt > options_.retries || !should_retry(issue, last.outcome) || stopping()) break;
    }
    last.attempts = std::move(attempts);
    apply_expectation(issue, &last);
    return last;
  }

  const std::vector<CellSpec>& cells_;
  const BootOnce& boot_;
  RunStatus& status_;
  const SchedulerOptions& options_;

  std::atomic<size_t> next_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;  // guards everything below and every call to status_
  std::condition_variable cv_;
  size_t done_ = 0;
  size_t in_flight_ = 0;
  size_t finished_workers_ = 0;
  int wake_[2] = {-1, -1};  // written when a worker finishes (with interrupt_fd: the main thread polls both)
  ScheduledRun out_;
};

}  // namespace

ScheduledRun run_cells(const std::vector<CellSpec>& cells, const BootOnce& boot, RunStatus& status,
                       const SchedulerOptions& options) {
  return Run(cells, boot, status, options).go();
}

}  // namespace pvm
