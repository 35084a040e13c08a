// How often a boot's harness wakes (issue 18's speed part): the budget's samples and the serial
// reader's pauses grow with the boot's age, but a flood of output is still read at pipe speed.
#include <gtest/gtest.h>

#include "qemu_launcher.h"

namespace pvm {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kPipe = 1 << 20;

TEST(SerialCoalesce, AYoungBootIsReadEveryMillisecondAnOldOneAFewTimesASecond) {
  EXPECT_EQ(serial_coalesce_ns(0, 0, 0, kPipe), 1 * kMs);
  EXPECT_EQ(serial_coalesce_ns(5 * kMs, 10, 5 * kMs, kPipe), 1 * kMs);
  EXPECT_EQ(serial_coalesce_ns(10 * kMs, 10, 10 * kMs, kPipe), 2 * kMs);
  EXPECT_EQ(serial_coalesce_ns(500 * kMs, 100, 50 * kMs, kPipe), 100 * kMs);
  EXPECT_EQ(serial_coalesce_ns(1'000 * kMs, 100, 50 * kMs, kPipe), 200 * kMs);
  EXPECT_EQ(serial_coalesce_ns(12'000 * kMs, 2'000, 200 * kMs, kPipe), 200 * kMs);
  EXPECT_EQ(serial_coalesce_ns(600'000 * kMs, 0, 200 * kMs, kPipe), 200 * kMs);
}

// Before the guest's first record only a console banner (a failure) can end a watched boot: its
// output piles up for up to a second.
TEST(SerialCoalesce, BeforeTheGuestsRecordsOutputPilesUpForUpToASecond) {
  EXPECT_EQ(serial_coalesce_ns(500 * kMs, 100, 50 * kMs, kPipe, /*before_records=*/true), 100 * kMs);
  EXPECT_EQ(serial_coalesce_ns(3'000 * kMs, 100, 50 * kMs, kPipe, true), 600 * kMs);
  EXPECT_EQ(serial_coalesce_ns(30'000 * kMs, 2'000, 1'000 * kMs, kPipe, true), 1'000 * kMs);
  EXPECT_EQ(serial_coalesce_ns(30'000 * kMs, 2'000, 1'000 * kMs, kPipe, false), 200 * kMs);
  // A flood is still read at pipe speed.
  EXPECT_EQ(serial_coalesce_ns(30'000 * kMs, kPipe, 1 * kMs, kPipe, true), 1 * kMs);
}

TEST(SerialCoalesce, NeverLongerThanTheOutputTakesToFillAQuarterOfThePipe) {
  // 1 MiB in the last 200 ms: a quarter of the pipe fills in 50 ms.
  EXPECT_EQ(serial_coalesce_ns(12'000 * kMs, kPipe, 200 * kMs, kPipe), 50 * kMs);
  // A flood (a full pipe every millisecond) is read as often as the floor allows.
  EXPECT_EQ(serial_coalesce_ns(12'000 * kMs, kPipe, 1 * kMs, kPipe), 1 * kMs);
  // From a long pause, a flood's pause shrinks fourfold a wakeup until it reaches the floor.
  uint64_t wait = 200 * kMs;
  int wakeups = 0;
  while (wait > 1 * kMs && wakeups < 10) {
    wait = serial_coalesce_ns(12'000 * kMs, kPipe, wait, kPipe);  // the pipe was full again
    ++wakeups;
  }
  EXPECT_EQ(wait, 1 * kMs);
  EXPECT_LE(wakeups, 4);
}

}  // namespace
}  // namespace pvm
