// time.*: the timer op group, clock events and the clocksource.
#include <pvrom/abi.h>

#include "arch/x86.h"
#include "lib/format.h"
#include "probes/probe.h"
#include "pv/pvops.h"
#include "pv/rom_calls.h"
#include "pv/xen.h"
#include "release.h"
#include "time/clock.h"
#include "time/events.h"

namespace probes {
namespace {

constexpr uint64_t kNsPerMs = 1000000;
constexpr uint32_t kPeriodicTicks = 6;
constexpr uint64_t kPeriodNs = kNsPerMs;          // 1 kHz tick
constexpr uint64_t kOneShotNs = 2 * kNsPerMs;
constexpr uint32_t kCounterReads = 10000;
constexpr uint64_t kWallclockMin = 1577836800ull;  // 2020-01-01
constexpr uint64_t kWallclockMax = 4102444800ull;  // 2100-01-01

bool rom_alarms() { return events::mode() == events::Mode::kRomOneShot || events::mode() == events::Mode::kRomPeriodic; }
const char* alarm_name() { return xen::active() ? "VCPUOP_set_singleshot_timer" : "SetAlarm(68)"; }
int alarm_call() { return rom_alarms() ? pvrom::kCallSetAlarm : kNoCall; }
bool rom_counter() { return pv::ops.timer.read_counter != pv::native_ops().timer.read_counter; }

uint64_t cycles_for_ns(uint64_t ns) { return ns * clock::hz() / 1000000000ull; }
int64_t cycles_to_us_signed(int64_t c) {
  return c < 0 ? -static_cast<int64_t>(clock::cycles_to_ns(uint64_t(-c)) / 1000) : static_cast<int64_t>(clock::cycles_to_ns(uint64_t(c)) / 1000);
}

void oneshot_probe(Stage& s) {
  if (events::mode() == events::Mode::kNone) {
    s.skip("time.oneshot", events::disabled_reason());
    return;
  }
  uint64_t delta = cycles_for_ns(kOneShotNs);
  uint64_t armed_at = pv::ops.timer.read_counter();
  int32_t rc = events::start_oneshot(delta);
  if (rc != 0) {
    Text<256> d;
    if (!kRelease.periodic_fallback && rc == pvrom::kErrUnsupported) {
      d.add("%s refused a one-shot alarm (%d): the hypervisor offers periodic alarms only; no periodic fallback "
            "in this release",
            alarm_name(), static_cast<int>(rc));
    } else {
      d.add("%s refused a one-shot alarm (%d) on the %s device", alarm_name(), static_cast<int>(rc),
            events::mode_name());
    }
    s.fail("time.oneshot", d.c_str(), alarm_call());
    static char why[160];
    format(why, sizeof why, "no clock event device: %s refused a one-shot alarm (%d) and %s has no periodic "
           "fallback", alarm_name(), static_cast<int>(rc), kRelease.name);
    events::disable(why);
    return;
  }
  events::wait_for_fires(1, 10 * kNsPerMs);
  events::sleep_ns(3 * kNsPerMs);  // a second fire would show up here
  events::stop();
  uint32_t fires = events::fires();
  int64_t late_us = fires ? cycles_to_us_signed(int64_t(events::fire_time(0) - (armed_at + delta))) : 0;
  int64_t tolerance_us = static_cast<int64_t>(kOneShotNs / 1000 / 10 + 100);  // 10% + 100 us
  bool ok = fires == 1 && late_us >= -20 && late_us <= tolerance_us;
  Text<256> d;
  d.add("%s%s: armed for +%u us, fired %u time(s)", events::mode_name(),
        events::mode() == events::Mode::kRomPeriodic ? " (one-shot emulated: periodic alarm cancelled at first fire)" : "",
        static_cast<unsigned>(kOneShotNs / 1000), static_cast<unsigned>(fires));
  if (fires) d.add(", %lld us %s", static_cast<long long>(late_us < 0 ? -late_us : late_us), late_us < 0 ? "early" : "late");
  d.add(" (tolerance %lld us)", static_cast<long long>(tolerance_us));
  s.report("time.oneshot", ok, d.c_str(), alarm_call());
}

void periodic_probe(Stage& s) {
  if (events::mode() == events::Mode::kNone) {
    s.skip("time.periodic", events::disabled_reason());
    return;
  }
  uint64_t period = cycles_for_ns(kPeriodNs);
  int32_t rc = events::start_periodic(period);
  if (rc != 0) {
    Text<160> d;
    d.add("%s refused %s ticks (%d)", xen::active() ? "VCPUOP_set_periodic_timer" : "SetAlarm(68)", events::mode_name(),
          static_cast<int>(rc));
    s.fail("time.periodic", d.c_str(), alarm_call());
    return;
  }
  events::wait_for_fires(kPeriodicTicks, (kPeriodicTicks + 4) * kPeriodNs);
  events::stop();
  uint32_t fires = events::fires();
  Text<256> d;
  d.add("%s ticks at 1 kHz", events::mode_name());
  if (events::mode() == events::Mode::kRomOneShot) d.add(" (re-armed one-shots)");
  bool ok = false;
  if (fires >= kPeriodicTicks) {
    uint32_t last = kPeriodicTicks - 1;
    uint64_t span = events::fire_time(last) - events::fire_time(0);
    uint64_t mean_ns = clock::cycles_to_ns(span) / last;
    int64_t error_ppm = (int64_t(mean_ns) - int64_t(kPeriodNs)) * 1000000 / int64_t(kPeriodNs);
    ok = error_ppm > -50000 && error_ppm < 50000;  // 5%
    d.add(": %u ticks, mean period %u ns (%lld ppm off, tolerance 5%%)", static_cast<unsigned>(fires),
          static_cast<unsigned>(mean_ns), static_cast<long long>(error_ppm));
  } else {
    d.add(": only %u of %u ticks in %u ms", static_cast<unsigned>(fires), static_cast<unsigned>(kPeriodicTicks),
          static_cast<unsigned>(kPeriodicTicks + 4));
  }
  s.report("time.periodic", ok, d.c_str(), alarm_call());
}

void counter_probe(Stage& s) {
  int call = rom_counter() ? pv::rom_counter_call() : kNoCall;
  uint32_t hidden_before = clock::clamped_steps();
  uint64_t prev = clock::read();
  uint32_t backwards = 0, first_at = 0;
  uint64_t first_from = 0, first_to = 0;
  for (uint32_t i = 1; i <= kCounterReads; ++i) {
    uint64_t now = clock::read();
    if (now < prev) {
      if (!backwards) first_at = i, first_from = prev, first_to = now;
      ++backwards;
    }
    prev = now;
  }
  uint32_t hidden = clock::clamped_steps() - hidden_before;
  Text<320> d;
  const char* source = !rom_counter()   ? "rdtsc"
                       : xen::active() ? "Xen system time (vcpu_time_info)"
                       : call == pvrom::kCallGetCycleCounter4 ? "GetCycleCounter(76)"
                                                              : "GetCycleCounter(67)";
  if (backwards) {
    d.add("%s went backwards %u times in %u reads (first at read %u: %llu -> %llu, -%llu cycles); %s does not clamp "
          "the clocksource",
          source, static_cast<unsigned>(backwards), static_cast<unsigned>(kCounterReads), static_cast<unsigned>(first_at),
          static_cast<unsigned long long>(first_from), static_cast<unsigned long long>(first_to),
          static_cast<unsigned long long>(first_from - first_to), kRelease.name);
  } else {
    d.add("%u reads of %s never went backwards", static_cast<unsigned>(kCounterReads), source);
    if (kRelease.clamps_counter) d.add(" (clamped: %u step-backs hidden)", static_cast<unsigned>(hidden));
  }
  s.report("time.counter_monotonic", backwards == 0, d.c_str(), call);
}

void wallclock_probe(Stage& s) {
  bool rom = pv::ops.timer.wallclock_ns != pv::native_ops().timer.wallclock_ns;
  uint64_t ns = pv::ops.timer.wallclock_ns();
  uint64_t seconds = ns / 1000000000ull;
  char date[16];
  clock::civil_date(seconds, date, sizeof date);
  bool ok = seconds >= kWallclockMin && seconds < kWallclockMax;
  Text<200> d;
  d.add("%s: %llu s since the epoch (%s)%s",
        !rom ? "CMOS RTC" : xen::active() ? "Xen shared_info wall clock" : "GetWallclockTime(70)",
        static_cast<unsigned long long>(seconds), date, ok ? "" : ": not between 2020 and 2100");
  if (ok && rom && !xen::active()) {
    // The ROM promises the CMOS RTC's time: read the RTC natively and compare (the RTC ticks in
    // whole seconds; allow one tick between the two reads).
    uint64_t cmos = pv::native_ops().timer.wallclock_ns() / 1000000000ull;
    uint64_t diff = cmos > seconds ? cmos - seconds : seconds - cmos;
    if (diff > 1) {
      char cmos_date[16];
      clock::civil_date(cmos, cmos_date, sizeof cmos_date);
      d.add(": the CMOS RTC says %llu (%s), %llu s apart", static_cast<unsigned long long>(cmos), cmos_date,
            static_cast<unsigned long long>(diff));
      ok = false;
    } else {
      d.add(", as the CMOS RTC");
    }
  }
  s.report("time.wallclock", ok, d.c_str(), rom ? pvrom::kCallGetWallclockTime : kNoCall);
}

void sched_clock_probe(Stage& s) {
  if (!kRelease.sched_clock) {
    Text<120> d;
    d.add("%s has no ns sched_clock (it arrived in 2.6.24)", kRelease.name);
    s.skip("time.sched_clock", d.c_str());
    return;
  }
  bool api4 = pv::ops.timer.ns_since_init != nullptr;
  uint64_t t0 = clock::sched_clock_ns();
  uint64_t tsc0 = x86::rdtsc();
  uint64_t prev = t0;
  uint32_t backwards = 0;
  for (int i = 0; i < 1000; ++i) {
    uint64_t now = clock::sched_clock_ns();
    if (now < prev) ++backwards;
    prev = now;
  }
  events::sleep_ns(2 * kNsPerMs);
  uint64_t t1 = clock::sched_clock_ns();
  uint64_t tsc1 = x86::rdtsc();
  uint64_t want_ns = (tsc1 - tsc0) * 1000000000ull / clock::tsc_hz();
  int64_t error_ppm = want_ns ? (int64_t(t1 - t0) - int64_t(want_ns)) * 1000000 / int64_t(want_ns) : 0;
  bool rate_ok = t1 > t0 && error_ppm > -50000 && error_ppm < 50000;
  Text<256> d;
  d.add("sched_clock from %s: %llu ns since boot, %u step-backs in 1000 reads, advanced %llu ns over %llu ns of TSC "
        "(%lld ppm)",
        clock::sched_clock_source(), static_cast<unsigned long long>(t1), static_cast<unsigned>(backwards),
        static_cast<unsigned long long>(t1 - t0), static_cast<unsigned long long>(want_ns),
        static_cast<long long>(error_ppm));
  int call = api4 ? pvrom::kCallGetCycleCounter : (rom_counter() ? pv::rom_counter_call() : kNoCall);
  s.report("time.sched_clock", backwards == 0 && rate_ok, d.c_str(), call);
}

}  // namespace

void run_timer(Stage& s) {
  events::start_heartbeat();
  // One-shot first: it is the release's requirement on the ROM (2.6.25), and its refusal
  // leaves no device for the periodic probe.
  oneshot_probe(s);
  periodic_probe(s);
  events::stop_heartbeat();
  counter_probe(s);
  wallclock_probe(s);
  events::start_heartbeat();
  sched_clock_probe(s);
  events::stop_heartbeat();
  x86::cli();
}

}  // namespace probes
