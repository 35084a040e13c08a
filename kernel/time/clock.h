// The clocksource (the counter op, clamped where the release clamps), sched_clock, and the
// native TSC calibration against the PIT.
#pragma once

#include <stdint.h>

namespace clock {

/// Boot: measures the TSC against PIT ticks (interrupts are enabled briefly) and hands the
/// rate to the native timer ops. Returns the rate in Hz.
uint64_t calibrate_tsc();
uint64_t tsc_hz();
/// Sets the TSC frequency when a hypervisor states it (Xen PVH has no PIT to calibrate against).
void set_tsc_hz(uint64_t hz);
/// TSC cycles for a span of nanoseconds, for native deadlines.
uint64_t tsc_cycles(uint64_t ns);

/// After binding: caches the counter frequency and the boot counter value.
void setup();
/// The kernel's clocksource: pv::ops.timer.read_counter, clamped (never below the last value
/// returned) when the release clamps.
uint64_t read();
uint64_t hz();
/// How many step-backs the clamp has hidden so far.
uint32_t clamped_steps();
/// Counter cycles -> nanoseconds at hz().
uint64_t cycles_to_ns(uint64_t cycles);
/// Nanoseconds since boot: API 4's ns-since-init call when bound, else the clocksource scaled.
uint64_t sched_clock_ns();
/// Which source sched_clock uses, for the probe's detail.
const char* sched_clock_source();

/// Writes "YYYY-MM-DD" for seconds since the epoch.
void civil_date(uint64_t unix_seconds, char* buf, unsigned cap);

}  // namespace clock
