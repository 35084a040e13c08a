// Time: the REAL cycle counter (rdtsc), its frequency calibrated at init against the
// local APIC timer (QEMU's APIC bus runs at 1 GHz), and alarms on the local APIC timer.
#include "arch.h"
#include "rom.h"

using rom::require_negotiated;
namespace arch = rom::arch;

namespace {

constexpr uint64_t kApicBusHz = 1000000000;  // QEMU: the APIC timer counts virtual ns at divide 1
constexpr uint32_t kCalibrationCounts = 1000000;  // 1 ms at divide 1
constexpr uint32_t kMsrApicBase = 0x1B;
constexpr uint64_t kApicGlobalEnable = 1u << 11;

enum LapicReg : uint32_t {
  kSpurious = 0xF0, kLvtTimer = 0x320, kInitialCount = 0x380, kCurrentCount = 0x390, kDivide = 0x3E0,
};
constexpr uint32_t kSpuriousVector = 0xFF;
constexpr uint32_t kSoftwareEnable = 1u << 8;
constexpr uint32_t kLvtMasked = 1u << 16;
constexpr uint32_t kLvtPeriodic = 1u << 17;
constexpr uint32_t kDivideBy1 = 0xB;

uint64_t g_cycle_hz = kApicBusHz;  // fallback if calibration cannot measure
uint64_t g_cycles_at_init = 0;
uint64_t g_last_count = 0;         // counter_steps_back quirk state
uint32_t g_reads = 0;

volatile uint32_t& lapic(LapicReg r) {
  return *reinterpret_cast<volatile uint32_t*>(pvrom::kLapicBase + r);
}

/// a * b / c without overflowing 64 bits when b and c are at most ~2^32.
uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c) {
  return (a / c) * b + (a % c) * b / c;
}

/// Divide configuration register value for a divisor of 2^shift (shift 0..7).
uint32_t divide_config(uint32_t shift) {
  if (shift == 0) return kDivideBy1;
  uint32_t v = shift - 1;
  return (v & 3) | ((v & 4) << 1);
}

/// Starts the LAPIC timer for `apic_counts` bus ticks with the given LVT mode bits.
void program_timer(uint64_t apic_counts, uint32_t mode) {
  uint32_t shift = 0;
  while (shift < 7 && (apic_counts >> shift) > 0xFFFFFFFFull) ++shift;
  uint64_t initial = apic_counts >> shift;
  if (initial > 0xFFFFFFFFull) initial = 0xFFFFFFFFull;  // beyond ~9 min: fire early
  if (initial == 0) initial = 1;
  lapic(kInitialCount) = 0;  // stop the running one
  lapic(kLvtTimer) = pvrom::kAlarmVector | mode;
  lapic(kDivide) = divide_config(shift);
  lapic(kInitialCount) = static_cast<uint32_t>(initial);
}

uint64_t cycles_to_apic(uint64_t cycles) { return mul_div(cycles, kApicBusHz, g_cycle_hz); }

uint64_t read_counter() {
  uint64_t now = arch::rdtsc();
#if PVROM_QUIRK_COUNTER_STEPS_BACK
  // Deterministic bug: every 64th read lands up to 2000 cycles below the previous value.
  if (++g_reads % 64 == 0 && g_last_count > 2000) now = g_last_count - (1000 + (g_reads / 64) % 1000);
  g_last_count = now;
#endif
  return now;
}

}  // namespace

namespace rom {

void timer_init() {
  uint64_t base = arch::rdmsr(kMsrApicBase);
  if (!(base & kApicGlobalEnable)) arch::wrmsr(kMsrApicBase, base | kApicGlobalEnable);
  lapic(kSpurious) = kSoftwareEnable | kSpuriousVector;
  lapic(kLvtTimer) = kLvtMasked | pvrom::kAlarmVector;
  lapic(kDivide) = kDivideBy1;

  // Calibrate: cycles elapsed while the APIC timer counts down 1 ms of bus ticks.
  lapic(kInitialCount) = kCalibrationCounts;
  uint64_t start = arch::rdtsc();
  uint32_t spins = 0;
  while (lapic(kCurrentCount) != 0 && ++spins < 50000000) arch::pause();
  uint64_t cycles = arch::rdtsc() - start;
  lapic(kInitialCount) = 0;
  if (lapic(kCurrentCount) == 0 && cycles > 1000) {
    // Hz = cycles per 1 ms * 1000, rounded to whole MHz (1 ms = 1000 kHz).
    uint32_t mhz = static_cast<uint32_t>((cycles + 500) / 1000);
    g_cycle_hz = uint64_t{mhz} * 1000000;
  }
  g_cycles_at_init = arch::rdtsc();
  g_reads = 0;
  g_last_count = 0;
}

}  // namespace rom

/// 66: uint64_t GetCycleFrequency()  -- Hz of the REAL counter
extern "C" ROMCALL uint64_t rom_get_cycle_frequency() {
  require_negotiated();
  return g_cycle_hz;
}

/// 67 (API 3) / 76 (API 4): uint64_t GetCycleCounter()  -- the REAL counter
extern "C" ROMCALL uint64_t rom_get_cycle_counter() {
  require_negotiated();
  return read_counter();
}

/// 67 (API 4, REUSED): uint64_t GetNsSinceInit()
extern "C" ROMCALL uint64_t rom_get_ns_since_init() {
  require_negotiated();
  return mul_div(arch::rdtsc() - g_cycles_at_init, 1000000000, g_cycle_hz);
}

/// 68: int32_t SetAlarm(uint32_t flags, uint64_t expiry, uint64_t period)
/// expiry: absolute REAL counter value (one-shot); period: cycles (periodic). A periodic
/// alarm's first interrupt comes one period after the call, as the LAPIC periodic mode does.
extern "C" ROMCALL int32_t rom_set_alarm(uint32_t flags, uint64_t expiry, uint64_t period) {
  require_negotiated();
  if (flags & ~uint32_t{pvrom::kAlarmPeriodic}) return pvrom::kErrUnsupported;  // unknown flags
  if (flags & pvrom::kAlarmPeriodic) {
    if (!rom::has(pvrom::kFeaturePeriodicAlarm) || period == 0) return pvrom::kErrUnsupported;
    program_timer(cycles_to_apic(period), kLvtPeriodic);
    return 0;
  }
  if (!rom::has(pvrom::kFeatureOneShotAlarm)) return pvrom::kErrUnsupported;
  // TSC-deadline-like: turn the absolute expiry into a countdown from now.
  uint64_t now = arch::rdtsc();
  program_timer(expiry > now ? cycles_to_apic(expiry - now) : 0, 0);
  return 0;
}

/// 69: int32_t CancelAlarm()
extern "C" ROMCALL int32_t rom_cancel_alarm() {
  require_negotiated();
  lapic(kInitialCount) = 0;
  lapic(kLvtTimer) = kLvtMasked | pvrom::kAlarmVector;
  return 0;
}
