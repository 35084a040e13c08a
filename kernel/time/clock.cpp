#include "time/clock.h"

#include "arch/pic.h"
#include "arch/pit.h"
#include "arch/x86.h"
#include "lib/format.h"
#include "pv/pvops.h"
#include "pv/xen.h"
#include "release.h"

namespace clock {
namespace {

constexpr uint64_t kNsPerSecond = 1000000000ull;
constexpr uint32_t kCalibrationDivisor = 1193;  // ~1 ms PIT ticks
constexpr uint32_t kCalibrationTicks = 4;

constinit uint64_t native_hz = kNsPerSecond;
constinit uint64_t counter_hz = kNsPerSecond;
constinit uint64_t boot_counter = 0;
constinit uint64_t last = 0;
constinit uint32_t hidden_steps = 0;

volatile uint32_t calibration_ticks = 0;
volatile uint64_t calibration_tsc[kCalibrationTicks + 2] = {};

void calibration_tick() {
  uint32_t n = calibration_ticks;
  if (n < kCalibrationTicks + 2) calibration_tsc[n] = x86::rdtsc();
  calibration_ticks = n + 1;
}

}  // namespace

uint64_t calibrate_tsc() {
  calibration_ticks = 0;
  pic::set_handler(pit::kIrq, calibration_tick);
  pit::start_periodic(kCalibrationDivisor);
  uint64_t give_up = x86::rdtsc() + 100 * 1000 * 1000ull;  // no PIT at all: keep the 1 GHz default
  while (calibration_ticks < kCalibrationTicks + 2 && x86::rdtsc() < give_up) {
    x86::sti_hlt();
    x86::cli();
  }
  pit::stop();
  pic::mask(pit::kIrq);
  if (calibration_ticks >= kCalibrationTicks + 2) {
    // From tick 1 to tick 1 + N: the first tick's phase relative to programming is unknown.
    uint64_t cycles = calibration_tsc[kCalibrationTicks + 1] - calibration_tsc[1];
    native_hz = cycles * pit::kHz / (uint64_t(kCalibrationTicks) * kCalibrationDivisor);
  }
  pv::set_native_counter_hz(native_hz);
  return native_hz;
}

uint64_t tsc_hz() { return native_hz; }

void set_tsc_hz(uint64_t hz) {
  native_hz = hz;
  pv::set_native_counter_hz(native_hz);
}

uint64_t tsc_cycles(uint64_t ns) { return ns / kNsPerSecond * native_hz + ns % kNsPerSecond * native_hz / kNsPerSecond; }

void setup() {
  counter_hz = pv::ops.timer.counter_hz();
  if (counter_hz == 0) counter_hz = native_hz;  // never divide by zero because a ROM said 0
  boot_counter = pv::ops.timer.read_counter();
  last = boot_counter;
  hidden_steps = 0;
}

uint64_t read() {
  uint64_t now = pv::ops.timer.read_counter();
  if (!kRelease.clamps_counter) return now;
  if (now < last) {
    ++hidden_steps;
    return last;
  }
  last = now;
  return now;
}

uint64_t hz() { return counter_hz; }
uint32_t clamped_steps() { return hidden_steps; }

uint64_t cycles_to_ns(uint64_t c) { return c / counter_hz * kNsPerSecond + c % counter_hz * kNsPerSecond / counter_hz; }

uint64_t sched_clock_ns() {
  if (pv::ops.timer.ns_since_init) return pv::ops.timer.ns_since_init();
  uint64_t now = read();
  return cycles_to_ns(now > boot_counter ? now - boot_counter : 0);
}

const char* sched_clock_source() {
  if (pv::ops.timer.ns_since_init) return "the ROM's ns-since-init (call 67, API 4)";
  if (pv::ops.timer.read_counter == pv::native_ops().timer.read_counter) return "the TSC scaled to ns";
  return xen::active() ? "Xen system time" : "the ROM cycle counter scaled to ns";
}

void civil_date(uint64_t unix_seconds, char* buf, unsigned cap) {
  // Howard Hinnant's civil_from_days.
  int64_t z = static_cast<int64_t>(unix_seconds / 86400) + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = static_cast<unsigned>(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  format(buf, cap, "%04d-%02u-%02u", static_cast<int>(y), m, d);
}

}  // namespace clock
