#include "arch/lapic.h"

#include <pvrom/abi.h>

#include "arch/x86.h"

namespace lapic {
namespace {

constexpr uint32_t kTpr = 0x080, kEoi = 0x0B0, kSvr = 0x0F0, kLvtTimer = 0x320, kLvtLint0 = 0x350,
                   kLvtLint1 = 0x360, kTimerInitial = 0x380, kTimerCurrent = 0x390, kTimerDivide = 0x3E0;
constexpr uint32_t kSvrEnable = 1u << 8, kLvtMasked = 1u << 16, kTimerPeriodic = 1u << 17;
constexpr uint32_t kDeliverExtInt = 0x700, kDeliverNmi = 0x400;
constexpr uint32_t kDivideBy1 = 0xB;
constexpr uint32_t kCpuidApic = 1u << 9;

constexpr uint64_t kMhz = 1000000;
constinit uint64_t bus = 1000000000ull;

uint32_t read(uint32_t reg) { return x86::mmio_read32(pvrom::kLapicBase + reg); }
void write(uint32_t reg, uint32_t v) { x86::mmio_write32(pvrom::kLapicBase + reg, v); }

}  // namespace

bool present() {
  uint32_t r[4];
  x86::cpuid(1, r);
  return r[3] & kCpuidApic;
}

void keep_virtual_wire() {
  if (!present()) return;
  write(kSvr, kSvrEnable | kSpuriousVector);
  write(kLvtLint0, kDeliverExtInt);
  write(kLvtLint1, kDeliverNmi);
  write(kTpr, 0);
}

void init() {
  if (!present()) return;
  keep_virtual_wire();
  write(kLvtTimer, kLvtMasked);
}

void eoi() {
  if (present()) write(kEoi, 0);
}

void start_timer_periodic(uint8_t vector, uint32_t count) {
  write(kTimerDivide, kDivideBy1);
  write(kLvtTimer, vector | kTimerPeriodic);
  write(kTimerInitial, count);
}

void start_timer_oneshot(uint8_t vector, uint32_t count) {
  write(kTimerDivide, kDivideBy1);
  write(kLvtTimer, vector);
  write(kTimerInitial, count ? count : 1);
}

uint64_t calibrate(uint64_t tsc_hz) {
  if (!present() || !tsc_hz) return bus;
  write(kTimerDivide, kDivideBy1);
  write(kLvtTimer, kLvtMasked);  // counts, never interrupts
  write(kTimerInitial, 0xffffffffu);
  // Each read of the count is bracketed by TSC reads and stamped at their midpoint: under a
  // hypervisor a read traps, and its cost must not count as elapsed time.
  auto sample = [](uint32_t& count) {
    uint64_t before = x86::rdtsc();
    count = read(kTimerCurrent);
    return before + (x86::rdtsc() - before) / 2;
  };
  uint32_t c0, c1;
  uint64_t t0 = sample(c0), span = tsc_hz / 100;  // 10 ms
  while (x86::rdtsc() - t0 < span) x86::pause();
  uint64_t t1 = sample(c1);
  write(kTimerInitial, 0);
  uint64_t hz = (uint64_t(c0 - c1) * tsc_hz / (t1 - t0) + kMhz / 2) / kMhz * kMhz;
  if (hz) bus = hz;
  return bus;
}

uint64_t bus_hz() { return bus; }

void stop_timer() {
  write(kLvtTimer, kLvtMasked);
  write(kTimerInitial, 0);
  (void)read(kLvtTimer);
}

}  // namespace lapic
