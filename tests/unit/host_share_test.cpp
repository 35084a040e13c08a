// Budgets in guest time (issue 15): the progress meter charges a boot the wall time minus the
// longest run-queue wait of any QEMU thread, interval by interval.
#include <gtest/gtest.h>

#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include "boot_budget.h"
#include "host_share.h"

namespace pvm {
namespace {

constexpr uint64_t kMs = 1'000'000;

ThreadShares shares(uint64_t cpu_ms, std::map<pid_t, uint64_t> wait_ms) {
  ThreadShares s;
  s.ok = true;
  s.cpu_ns = cpu_ms * kMs;
  for (auto& [tid, w] : wait_ms) s.wait_ns[tid] = w * kMs;
  return s;
}

TEST(HostShare, AnUnstarvedBootIsChargedItsWallTime) {
  ProgressMeter m;
  m.start(0, shares(0, {{1, 0}, {2, 0}}));
  m.sample(100 * kMs, shares(95, {{1, 1}, {2, 0}}));
  m.sample(200 * kMs, shares(190, {{1, 2}, {2, 1}}));
  EXPECT_EQ(m.progress_ns(), 198 * kMs);
  EXPECT_EQ(m.starved_ns(), 2 * kMs);
  EXPECT_EQ(m.cpu_ns(), 190 * kMs);
  EXPECT_TRUE(m.measured());
}

TEST(HostShare, AStarvedBootIsChargedOnlyWhatItCouldRun) {
  ProgressMeter m;
  m.start(0, shares(0, {{1, 0}, {2, 0}}));
  // 1 s of wall time; the vCPU thread waited 800 ms for a CPU, the main loop 300 ms: the
  // longest wait is the host's share (the waits overlap, they are not summed).
  m.sample(1000 * kMs, shares(200, {{1, 800}, {2, 300}}));
  EXPECT_EQ(m.progress_ns(), 200 * kMs);
  EXPECT_EQ(m.starved_ns(), 800 * kMs);
}

TEST(HostShare, AnIdleGuestIsChargedInFull) {
  // A halted guest waiting for its timer: no CPU, no run-queue wait: its time passes.
  ProgressMeter m;
  m.start(0, shares(5, {{1, 0}}));
  m.sample(2000 * kMs, shares(6, {{1, 0}}));
  EXPECT_EQ(m.progress_ns(), 2000 * kMs);
}

TEST(HostShare, NewThreadsAndUnreadableSamples) {
  ProgressMeter m;
  m.start(0, shares(0, {{1, 0}}));
  m.sample(100 * kMs, shares(50, {{1, 10}, {7, 40}}));  // thread 7 is new: all its wait is new
  EXPECT_EQ(m.progress_ns(), 60 * kMs);
  m.sample(200 * kMs, ThreadShares{});  // unreadable: the interval counts in full
  EXPECT_EQ(m.progress_ns(), 160 * kMs);
  EXPECT_FALSE(m.measured());
  m.sample(150 * kMs, shares(60, {{1, 10}}));  // time never runs backwards
  EXPECT_EQ(m.progress_ns(), 160 * kMs);
}

TEST(HostShare, ReadsThisProcess) {
  ThreadShares s = read_thread_shares(getpid());
  if (!s.ok) GTEST_SKIP() << "no /proc/<pid>/task/*/schedstat here";
  EXPECT_FALSE(s.wait_ns.empty());
  // The kernel adds a thread's run time to schedstat when it is switched out: a process this
  // young may still read 0. Yielding lets it be accounted (bounded: a few thousand tries).
  for (int i = 0; i < 5000 && s.cpu_ns == 0; ++i) {
    volatile int spin = 0;
    while (spin < 10000) spin = spin + 1;
    sched_yield();
    s = read_thread_shares(getpid());
  }
  EXPECT_GT(s.cpu_ns, 0u);
  EXPECT_FALSE(read_thread_shares(-1).ok);
}

TEST(HostShare, AReaderKeepsItsFilesOpenAndFollowsThreadsComingAndGoing) {
  ThreadSharesReader reader(getpid());
  ThreadShares first = reader.read();
  if (!first.ok) GTEST_SKIP() << "no /proc/<pid>/task/*/schedstat here";
  EXPECT_TRUE(first.wait_ns.count(static_cast<pid_t>(gettid())));
  std::promise<pid_t> started;
  std::promise<void> stop;
  std::thread t([&] {
    started.set_value(static_cast<pid_t>(gettid()));
    stop.get_future().wait();
  });
  const pid_t tid = started.get_future().get();
  EXPECT_TRUE(reader.read().wait_ns.count(tid)) << "a new thread is counted at the next read";
  stop.set_value();
  t.join();
  // Its file fails once the kernel has released the thread (join() returns a little before
  // that: the thread's /proc entry can outlive it briefly), and the list is read again at once.
  ThreadShares after = reader.read();
  for (int i = 0; i < 2000 && after.wait_ns.count(tid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    after = reader.read();
  }
  EXPECT_TRUE(after.ok);
  EXPECT_FALSE(after.wait_ns.count(tid));
  EXPECT_TRUE(after.wait_ns.count(static_cast<pid_t>(gettid())));
}

// A long boot is sampled less often than a short one, but its HANG is never noticed more than a
// second (or a tenth of the budget) late.
TEST(BootBudget, SamplesAYoungBootEvery50MsAnOlderOneATenthOfItsAgeAndNeverLessThanOnceASecond) {
  EXPECT_EQ(budget_sample_interval_ns(0), 50 * kMs);
  EXPECT_EQ(budget_sample_interval_ns(400 * kMs), 50 * kMs);
  EXPECT_EQ(budget_sample_interval_ns(2'000 * kMs), 200 * kMs);
  EXPECT_EQ(budget_sample_interval_ns(10'000 * kMs), 1'000 * kMs);
  EXPECT_EQ(budget_sample_interval_ns(600'000 * kMs), 1'000 * kMs);
}

// A quiet host (no thread waited more than a hundredth of the interval, or more than a thousandth
// of the budget) lets the interval double, up to an eighth of the budget and never past the moment
// the budget could run out; one starved interval, or one that could not be measured, brings back
// the fine schedule.
TEST(BootBudget, AQuietBootIsSampledLessAndLessOftenUntilItsBudgetCouldRunOut) {
  const uint64_t budget = 40'000 * kMs;
  const SampledInterval quiet{400 * kMs, 4 * kMs, true};
  EXPECT_EQ(next_sample_interval_ns(1'000 * kMs, quiet, budget, budget), 800 * kMs);
  EXPECT_EQ(next_sample_interval_ns(20'000 * kMs, {4'000 * kMs, 0, true}, budget, 30'000 * kMs), 5'000 * kMs);
  EXPECT_EQ(next_sample_interval_ns(20'000 * kMs, {4'000 * kMs, 0, true}, budget, 3'000 * kMs), 3'000 * kMs);
  // Near the end of the budget the fine schedule is the floor: a HANG is seen as late as before.
  EXPECT_EQ(next_sample_interval_ns(39'900 * kMs, {4'000 * kMs, 0, true}, budget, 100 * kMs), 1'000 * kMs);
  EXPECT_EQ(next_sample_interval_ns(39'900 * kMs, {4'000 * kMs, 0, true}, budget, 0), 1'000 * kMs);
  // A wait above a hundredth of the interval and a thousandth of the budget (40 ms), or statistics
  // that could not be read: fine again.
  EXPECT_EQ(next_sample_interval_ns(2'000 * kMs, {400 * kMs, 41 * kMs, true}, budget, budget), 200 * kMs);
  EXPECT_EQ(next_sample_interval_ns(2'000 * kMs, {400 * kMs, 0, false}, budget, budget), 200 * kMs);
  EXPECT_EQ(next_sample_interval_ns(0, {}, budget, budget), 50 * kMs);
}

// QEMU starting up: its threads wait a millisecond or two on a run queue in the first 50 ms
// intervals, several hundredths of them. Under a thousandth of the budget that is still quiet: the
// schedule grows from the first interval instead of staying at 50 ms for the first 200 ms.
TEST(BootBudget, AFewMillisecondsOfWaitWhileQemuStartsStillCountAsQuiet) {
  const uint64_t budget = 40'000 * kMs;
  EXPECT_EQ(next_sample_interval_ns(50 * kMs, {50 * kMs, 2 * kMs, true}, budget, budget), 100 * kMs);
  EXPECT_EQ(next_sample_interval_ns(50 * kMs, {50 * kMs, 40 * kMs, true}, budget, budget), 100 * kMs);
  EXPECT_EQ(next_sample_interval_ns(50 * kMs, {50 * kMs, 41 * kMs, true}, budget, budget), 50 * kMs);
  // A short budget tolerates less: 2 ms of a 1 s budget is more than a thousandth of it.
  EXPECT_EQ(next_sample_interval_ns(50 * kMs, {50 * kMs, 2 * kMs, true}, 1'000 * kMs, 1'000 * kMs), 50 * kMs);
}

// A sample taken before it was due (the reader was awake for output) does not set the schedule
// back: a quiet interval grows from the length it was planned to have.
TEST(BootBudget, AnEarlySampleGrowsTheScheduleFromItsPlan) {
  const uint64_t budget = 40'000 * kMs;
  EXPECT_EQ(next_sample_interval_ns(5'000 * kMs, {1'000 * kMs, 0, true, 1'600 * kMs}, budget, budget), 3'200 * kMs);
  // Late (the reader woke after the due time): from its length.
  EXPECT_EQ(next_sample_interval_ns(5'000 * kMs, {1'700 * kMs, 0, true, 1'600 * kMs}, budget, budget), 3'400 * kMs);
  // Starved: the fine schedule, however it was planned.
  EXPECT_EQ(next_sample_interval_ns(5'000 * kMs, {1'000 * kMs, 50 * kMs, true, 1'600 * kMs}, budget, budget), 500 * kMs);
}

TEST(BootBudget, AWallClockBudgetRunsOutAndSaysWhenItWantsItsNextSample) {
  BootBudget budget(-1, 0.12);  // no pid: every wall-clock millisecond counts
  BootOutcome out;
  EXPECT_FALSE(budget.exhausted(&out));
  EXPECT_LE(budget.until_next_sample().count(), 50);
  while (!budget.exhausted(&out)) std::this_thread::sleep_for(budget.until_next_sample());
  EXPECT_TRUE(out.timed_out);
  EXPECT_GE(budget.age_ns(), 120 * kMs);
}

}  // namespace
}  // namespace pvm
