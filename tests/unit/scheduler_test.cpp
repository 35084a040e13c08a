#include "scheduler.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "known_issues.h"
#include "launcher.h"
#include "run_cell.h"

namespace pvm {
namespace {

using namespace std::chrono_literals;

std::vector<CellSpec> specs(int n) {
  std::vector<CellSpec> v;
  for (int i = 0; i < n; ++i) {
    CellSpec s;
    s.kernel = "2.6.2" + std::to_string(i % 6);
    s.hv = "rom-" + std::to_string(i);
    v.push_back(s);
  }
  return v;
}

CellResult outcome(const CellSpec& spec, Status s) {
  CellResult r;
  r.spec = spec;
  r.status = r.outcome = s;
  r.reason = to_string(s);
  r.attempts.push_back({s, 1, std::nullopt, std::nullopt, r.reason});
  return r;
}

/// Records events; checks the scheduler never calls it concurrently.
class RecordingStatus : public RunStatus {
 public:
  void run_started(size_t total, int parallelism) override {
    enter();
    total_ = total;
    parallelism_ = parallelism;
    leave();
  }
  void cell_started(const CellSpec&, int attempt) override {
    enter();
    ++started_;
    if (attempt > 1) ++retries_;
    leave();
  }
  void cell_finished(const CellResult& r, size_t done, size_t total) override {
    enter();
    EXPECT_EQ(done, ++finished_);
    EXPECT_EQ(total, total_);
    ids_.push_back(r.spec.id());
    leave();
  }
  void run_finished(bool interrupted) override {
    enter();
    interrupted_ = interrupted;
    leave();
  }
  size_t total_ = 0, started_ = 0, retries_ = 0, finished_ = 0;
  int parallelism_ = 0;
  bool interrupted_ = false;
  std::vector<std::string> ids_;

 private:
  void enter() { EXPECT_FALSE(busy_.exchange(true)) << "RunStatus called concurrently"; }
  void leave() { busy_ = false; }
  std::atomic<bool> busy_{false};
};

TEST(Scheduler, HonoursParallelismAndKeepsOrder) {
  std::atomic<int> running{0}, peak{0};
  BootOnce boot = [&](const CellSpec& s, int) {
    int now = ++running;
    int p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {}
    std::this_thread::sleep_for(5ms);
    --running;
    return outcome(s, Status::Pass);
  };
  RecordingStatus st;
  SchedulerOptions o;
  o.parallelism = 3;
  auto cells = specs(20);
  ScheduledRun run = run_cells(cells, boot, st, o);
  EXPECT_EQ(peak.load(), 3);
  EXPECT_EQ(run.max_in_flight, 3u);
  EXPECT_EQ(st.parallelism_, 3);
  EXPECT_EQ(st.finished_, 20u);
  EXPECT_FALSE(st.interrupted_);
  EXPECT_EQ(run.interrupted_by, 0);
  ASSERT_EQ(run.results.size(), 20u);
  for (size_t i = 0; i < cells.size(); ++i) {
    ASSERT_TRUE(run.results[i]);
    EXPECT_EQ(run.results[i]->spec.id(), cells[i].id());  // results in input order
    EXPECT_EQ(run.results[i]->status, Status::Pass);
  }
}

TEST(Scheduler, ParallelismNeverExceedsCells) {
  RecordingStatus st;
  SchedulerOptions o;
  o.parallelism = 64;
  ScheduledRun run = run_cells(specs(2), [](const CellSpec& s, int) { return outcome(s, Status::Pass); }, st, o);
  EXPECT_EQ(st.parallelism_, 2);
  EXPECT_EQ(run.results.size(), 2u);
}

TEST(Scheduler, RetriesUnexpectedFailuresAndReportsFlaky) {
  std::mutex mu;
  std::map<std::string, int> calls;
  BootOnce boot = [&](const CellSpec& s, int attempt) {
    { std::lock_guard l(mu); ++calls[s.hv]; }
    if (s.hv == "rom-0") return outcome(s, attempt == 1 ? Status::Hang : Status::Pass);  // flaky
    if (s.hv == "rom-1") return outcome(s, Status::Crash);                               // always
    return outcome(s, Status::Pass);
  };
  RecordingStatus st;
  SchedulerOptions o;
  o.parallelism = 2;
  o.retries = 2;
  ScheduledRun run = run_cells(specs(3), boot, st, o);
  EXPECT_EQ(calls["rom-0"], 2);
  EXPECT_EQ(calls["rom-1"], 3);
  EXPECT_EQ(calls["rom-2"], 1);
  EXPECT_EQ(run.results[0]->status, Status::Flaky);
  ASSERT_EQ(run.results[0]->attempts.size(), 2u);
  EXPECT_EQ(run.results[0]->attempts[0].status, Status::Hang);
  EXPECT_EQ(run.results[0]->attempts[1].status, Status::Pass);
  EXPECT_EQ(run.results[1]->status, Status::Crash);
  EXPECT_EQ(run.results[1]->attempts.size(), 3u);
  EXPECT_EQ(st.retries_, 3u);
}

TEST(Scheduler, ExpectedFailuresAreNotRetriedAndBecomeXfail) {
  KnownIssues known;
  std::string err;
  ASSERT_TRUE(known.parse(R"({"known_issues": [{"cells": "hv=rom-0", "expect": "FAIL", "reason": "known"}]})",
                          "k.json", &err)) << err;
  std::atomic<int> calls{0};
  BootOnce boot = [&](const CellSpec& s, int) {
    ++calls;
    return outcome(s, Status::Fail);
  };
  RecordingStatus st;
  SchedulerOptions o;
  o.retries = 3;
  o.known_issues = &known;
  ScheduledRun run = run_cells(specs(1), boot, st, o);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(run.results[0]->status, Status::Xfail);
  EXPECT_EQ(run.results[0]->expected_reason, "known");
}

TEST(Scheduler, AnExceptionBecomesAnErrorNotACrashOfTheRun) {
  BootOnce boot = [](const CellSpec& s, int) -> CellResult {
    if (s.hv == "rom-1") throw std::runtime_error("boom");
    return outcome(s, Status::Pass);
  };
  RecordingStatus st;
  ScheduledRun run = run_cells(specs(3), boot, st, {});
  EXPECT_EQ(run.results[1]->status, Status::Error);
  EXPECT_NE(run.results[1]->reason.find("boom"), std::string::npos);
  EXPECT_EQ(run.results[2]->status, Status::Pass);
}

/// A launcher whose boots block until kill_all(), like QEMU guests that never finish.
class BlockingLauncher : public Launcher {
 public:
  BootOutcome boot(const CellSpec&) override {
    std::unique_lock l(mu_);
    ++booted_;
    cv_.notify_all();
    cv_.wait(l, [&] { return killed_; });
    BootOutcome o;
    o.started = true;
    o.interrupted = true;
    return o;
  }
  void kill_all() override {
    std::lock_guard l(mu_);
    killed_ = true;
    ++kill_calls_;
    cv_.notify_all();
  }
  std::string name() const override { return "blocking"; }
  void wait_booted(int n) {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return booted_ >= n; });
  }
  int booted() {
    std::lock_guard l(mu_);
    return booted_;
  }
  int kill_calls() {
    std::lock_guard l(mu_);
    return kill_calls_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int booted_ = 0;
  int kill_calls_ = 0;
  bool killed_ = false;
};

TEST(Scheduler, InterruptionStopsStartingKillsGuestsAndLeavesAPartialRun) {
  BlockingLauncher launcher;
  std::atomic<int> interrupt{0};
  BootOnce boot = [&](const CellSpec& s, int) {
    if (s.hv == "rom-0") return outcome(s, Status::Pass);  // finishes before the signal
    return run_cell(launcher, s, {});
  };
  RecordingStatus st;
  SchedulerOptions o;
  o.parallelism = 2;
  o.retries = 2;
  o.interrupt = &interrupt;
  o.on_interrupt = [&] { launcher.kill_all(); };
  std::thread signaller([&] {
    launcher.wait_booted(2);  // two guests are running: "press Ctrl-C"
    interrupt = 2;
  });
  ScheduledRun run = run_cells(specs(10), boot, st, o);
  signaller.join();
  EXPECT_EQ(run.interrupted_by, 2);
  EXPECT_TRUE(st.interrupted_);
  EXPECT_GE(launcher.kill_calls(), 1);
  EXPECT_EQ(launcher.booted(), 2);  // nothing started after the interruption, no retries
  ASSERT_TRUE(run.results[0]);
  EXPECT_EQ(run.results[0]->status, Status::Pass);
  for (size_t i = 1; i < run.results.size(); ++i) EXPECT_FALSE(run.results[i]) << i;  // not reported as failures
}

// As `pvmatrix run` does it: the signal handler sets the flag and writes to a pipe, and the
// scheduler sleeps on that pipe and on its workers instead of polling the flag.
TEST(Scheduler, InterruptionThroughAPipeWakesTheScheduler) {
  BlockingLauncher launcher;
  std::atomic<int> interrupt{0};
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  BootOnce boot = [&](const CellSpec& s, int) { return run_cell(launcher, s, {}); };
  RecordingStatus st;
  SchedulerOptions o;
  o.parallelism = 2;
  o.interrupt = &interrupt;
  o.interrupt_fd = pipe_fds[0];
  o.on_interrupt = [&] { launcher.kill_all(); };
  std::thread signaller([&] {
    launcher.wait_booted(2);
    interrupt = 15;
    ASSERT_EQ(write(pipe_fds[1], "x", 1), 1);
  });
  ScheduledRun run = run_cells(specs(6), boot, st, o);
  signaller.join();
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  EXPECT_EQ(run.interrupted_by, 15);
  EXPECT_GE(launcher.kill_calls(), 1);
  EXPECT_EQ(launcher.booted(), 2);
  for (const auto& r : run.results) EXPECT_FALSE(r);
}

TEST(Scheduler, WithAnInterruptPipeThatStaysQuietTheRunEndsWhenTheWorkersDo) {
  std::atomic<int> interrupt{0};
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  BootOnce boot = [&](const CellSpec& s, int) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return outcome(s, Status::Pass);
  };
  RecordingStatus st;
  SchedulerOptions o;
  o.parallelism = 3;
  o.interrupt = &interrupt;
  o.interrupt_fd = pipe_fds[0];
  ScheduledRun run = run_cells(specs(7), boot, st, o);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  EXPECT_EQ(run.interrupted_by, 0);
  for (const auto& r : run.results) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, Status::Pass);
  }
}

/// Classifies a real protocol transcript through run_cell: the scheduler and `pvmatrix cell`
/// share one path.
class ScriptedLauncher : public Launcher {
 public:
  BootOutcome boot(const CellSpec& spec) override {
    BootOutcome o;
    o.started = true;
    o.serial = "@pvm {\"v\":1,\"ev\":\"hello\",\"kernel\":\"" + spec.kernel + "\",\"build\":\"t\"}\n";
    o.serial += "@pvm {\"ev\":\"done\",\"pass\":0,\"fail\":0,\"skip\":0}\n";
    o.exit_code = 1;
    o.cmdline = {"qemu-system-i386", "-kernel", spec.kernel_image};
    return o;
  }
  void kill_all() override {}
  std::string name() const override { return "scripted"; }
};

TEST(Scheduler, RunsCellsThroughRunCell) {
  ScriptedLauncher launcher;
  RecordingStatus st;
  SchedulerOptions o;
  o.parallelism = 4;
  ScheduledRun run = run_cells(specs(8), [&](const CellSpec& s, int) { return run_cell(launcher, s, {}); }, st, o);
  for (const auto& r : run.results) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, Status::Pass) << r->reason;
    EXPECT_EQ(r->attempts.size(), 1u);
  }
}

}  // namespace
}  // namespace pvm
