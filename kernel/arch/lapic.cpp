#include "arch/lapic.h"

#include <pvrom/abi.h>

#include "arch/x86.h"

namespace lapic {
namespace {

constexpr uint32_t kTpr = 0x080, kEoi = 0x0B0, kSvr = 0x0F0, kLvtTimer = 0x320, kLvtLint0 = 0x350,
                   kLvtLint1 = 0x360, kTimerInitial = 0x380, kTimerDivide = 0x3E0;
constexpr uint32_t kSvrEnable = 1u << 8, kLvtMasked = 1u << 16, kTimerPeriodic = 1u << 17;
constexpr uint32_t kDeliverExtInt = 0x700, kDeliverNmi = 0x400;
constexpr uint32_t kDivideBy1 = 0xB;
constexpr uint32_t kCpuidApic = 1u << 9;

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

void stop_timer() {
  write(kLvtTimer, kLvtMasked);
  write(kTimerInitial, 0);
  (void)read(kLvtTimer);
}

}  // namespace lapic
