#include "time/events.h"

#include "arch/cpu.h"
#include "arch/lapic.h"
#include "arch/pic.h"
#include "arch/pit.h"
#include "arch/x86.h"
#include "lib/string.h"
#include "pv/pvops.h"
#include "pv/xen.h"
#include "release.h"
#include "time/clock.h"

namespace events {
namespace {

constexpr uint32_t kHeartbeatPitDivisor = 1193;      // ~1 kHz

constinit Mode current = Mode::kNone;
constinit const char* disabled_why = "";
constinit bool heartbeat_on_pit = false, heartbeat_on_lapic = false;

volatile uint32_t fire_count = 0;
volatile uint64_t fire_times[kMaxRecorded] = {};
constinit uint64_t period_cycles = 0, next_expiry = 0;
constinit bool rearm_oneshot = false;     // periodic emulated with one-shots
constinit bool cancel_on_fire = false;    // one-shot emulated with a periodic alarm
constinit bool no_pit = false;            // Xen PVH: native clock events on the LAPIC timer

/// LAPIC bus ticks for `cycles` of the native counter (the TSC).
uint32_t lapic_count(uint64_t cycles) {
  uint64_t hz = clock::tsc_hz();
  uint64_t n = hz ? cycles / hz * lapic::bus_hz() + cycles % hz * lapic::bus_hz() / hz : cycles;
  return n > 0xffffffffull ? 0xffffffffu : n ? static_cast<uint32_t>(n) : 1u;
}

/// The alarm ops in use: the ROM's when bound and the device is a ROM device, else native.
const pv::TimerOps& alarm_ops() { return current == Mode::kPit ? pv::native_ops().timer : pv::ops.timer; }

void on_event() {
  uint32_t n = fire_count;
  if (n < kMaxRecorded) fire_times[n] = pv::ops.timer.read_counter();
  fire_count = n + 1;
  if (rearm_oneshot) {
    next_expiry += period_cycles;
    alarm_ops().set_alarm(pvrom::kAlarmOneShot | pvrom::kCyclesReal, next_expiry, 0);
  }
  if (cancel_on_fire) {
    cancel_on_fire = false;
    alarm_ops().cancel_alarm();
  }
}

/// The alarm vector: a ROM's alarm (a LAPIC interrupt), or Xen's callback vector (event
/// channels; only VIRQ_TIMER is bound, but the upcall says "some event", so ask).
void rom_alarm_interrupt(cpu::Frame&) {
  if (!xen::active() || xen::take_timer_event()) on_event();
  lapic::eoi();
}

void lapic_heartbeat(cpu::Frame&) { lapic::eoi(); }
void lapic_event(cpu::Frame&) {
  on_event();
  lapic::eoi();
}
void lapic_spurious(cpu::Frame&) {}
void pit_heartbeat() {}

void reset() {
  fire_count = 0;
  rearm_oneshot = cancel_on_fire = false;
}

uint64_t now() { return pv::ops.timer.read_counter(); }

/// Waits for an interrupt with interrupts on. Without a PIT there is no heartbeat to end a
/// halt, so a wait spins (interrupts on) instead of halting: a dead device cannot hang it.
void idle() {
  if (no_pit) {
    x86::sti();
    x86::pause();
  } else {
    x86::sti_hlt();
  }
}

}  // namespace

void set_no_pit() { no_pit = true; }
bool has_pit() { return !no_pit; }

void setup(uint32_t alarm_features) {
  cpu::set_handler(pvrom::kAlarmVector, rom_alarm_interrupt);
  cpu::set_handler(lapic::kEventVector, lapic_event);
  cpu::set_handler(lapic::kHeartbeatVector, lapic_heartbeat);
  cpu::set_handler(lapic::kSpuriousVector, lapic_spurious);
  bool rom_alarms = pv::ops.timer.set_alarm != pv::native_ops().timer.set_alarm;
  if (!rom_alarms) {
    current = Mode::kPit;
  } else if (!kRelease.periodic_fallback || (alarm_features & pvrom::kFeatureOneShotAlarm)) {
    current = Mode::kRomOneShot;  // 2.6.25 insists on one-shot wherever the ROM has timer calls
  } else if (alarm_features & pvrom::kFeaturePeriodicAlarm) {
    current = Mode::kRomPeriodic;
  } else {
    current = Mode::kPit;  // timer calls but no alarm the kernel can use
  }
  if (current == Mode::kPit && no_pit) current = lapic::present() ? Mode::kLapic : Mode::kNone;
  if (current == Mode::kPit) {
    pic::set_handler(pit::kIrq, on_event);
    pic::mask(pit::kIrq);  // unmasked when a probe starts the device
  }
}

Mode mode() { return current; }

const char* mode_name() {
  switch (current) {
    case Mode::kPit: return "PIT";
    case Mode::kRomOneShot: return xen::active() ? "Xen single-shot timer (VIRQ_TIMER)" : "ROM one-shot alarm";
    case Mode::kRomPeriodic: return xen::active() ? "Xen periodic timer (VIRQ_TIMER)" : "ROM periodic alarm";
    case Mode::kLapic: return "LAPIC timer";
    default: return "none";
  }
}

void disable(const char* why) {
  current = Mode::kNone;
  disabled_why = why;
}

const char* disabled_reason() { return disabled_why; }

int32_t start_periodic(uint64_t period) {
  stop();
  reset();
  period_cycles = period;
  next_expiry = now() + period;
  switch (current) {
    case Mode::kPit:
      pic::unmask(pit::kIrq);
      return alarm_ops().set_alarm(pvrom::kAlarmPeriodic, next_expiry, period);
    case Mode::kRomPeriodic:
      return alarm_ops().set_alarm(pvrom::kAlarmPeriodic | pvrom::kCyclesReal, next_expiry, period);
    case Mode::kLapic:
      lapic::start_timer_periodic(lapic::kEventVector, lapic_count(period));
      return 0;
    case Mode::kRomOneShot: {
      rearm_oneshot = true;
      int32_t rc = alarm_ops().set_alarm(pvrom::kAlarmOneShot | pvrom::kCyclesReal, next_expiry, 0);
      if (rc != 0) rearm_oneshot = false;
      return rc;
    }
    default:
      return pvrom::kErrUnsupported;
  }
}

int32_t start_oneshot(uint64_t delta) {
  stop();
  reset();
  uint64_t expiry = now() + delta;
  switch (current) {
    case Mode::kPit:
      pic::unmask(pit::kIrq);
      return alarm_ops().set_alarm(pvrom::kAlarmOneShot, expiry, 0);
    case Mode::kRomOneShot:
      return alarm_ops().set_alarm(pvrom::kAlarmOneShot | pvrom::kCyclesReal, expiry, 0);
    case Mode::kLapic:
      lapic::start_timer_oneshot(lapic::kEventVector, lapic_count(delta));
      return 0;
    case Mode::kRomPeriodic: {
      cancel_on_fire = true;
      int32_t rc = alarm_ops().set_alarm(pvrom::kAlarmPeriodic | pvrom::kCyclesReal, expiry, delta);
      if (rc != 0) cancel_on_fire = false;
      return rc;
    }
    default:
      return pvrom::kErrUnsupported;
  }
}

void stop() {
  uint32_t flags = x86::read_eflags();
  x86::cli();
  rearm_oneshot = cancel_on_fire = false;
  if (current == Mode::kPit) {
    pic::mask(pit::kIrq);
    pit::stop();
  } else if (current == Mode::kLapic) {
    lapic::stop_timer();
  } else if (current != Mode::kNone) {
    alarm_ops().cancel_alarm();
  }
  if (flags & x86::kFlagsIF) x86::sti();
}

uint32_t fires() { return fire_count; }
uint64_t fire_time(uint32_t i) { return i < kMaxRecorded ? fire_times[i] : 0; }

bool wait_for_fires(uint32_t target, uint64_t timeout_ns) {
  uint64_t deadline = x86::rdtsc() + clock::tsc_cycles(timeout_ns);
  x86::cli();
  while (fire_count < target && x86::rdtsc() < deadline) {
    idle();
    x86::cli();
  }
  return fire_count >= target;
}

void sleep_ns(uint64_t ns) {
  uint64_t deadline = x86::rdtsc() + clock::tsc_cycles(ns);
  x86::cli();
  while (x86::rdtsc() < deadline) {
    idle();
    x86::cli();
  }
}

void start_heartbeat() {
  if (current == Mode::kLapic || (no_pit && !lapic::present())) return;  // no second source without a PIT
  if ((current == Mode::kPit || no_pit) && lapic::present()) {
    lapic::start_timer_periodic(lapic::kHeartbeatVector, static_cast<uint32_t>(lapic::bus_hz() / 1000));  // 1 ms
    heartbeat_on_lapic = true;
  } else {
    pic::set_handler(pit::kIrq, pit_heartbeat);
    pit::start_periodic(kHeartbeatPitDivisor);
    heartbeat_on_pit = true;
  }
}

void stop_heartbeat() {
  if (heartbeat_on_lapic) lapic::stop_timer();
  if (heartbeat_on_pit) {
    pit::stop();
    pic::mask(pit::kIrq);
  }
  heartbeat_on_lapic = heartbeat_on_pit = false;
}

}  // namespace events
