// Clock events (Linux 2.6.21's clockevents, reduced to what the probes need): the tick device
// the release picks, a heartbeat from the other interrupt source so waits always wake up, and
// a bounded wait.
#pragma once

#include <stdint.h>


namespace events {

enum class Mode : uint8_t {
  kNone,         ///< no usable device (2.6.25 on a ROM that refused a one-shot alarm)
  kPit,          ///< native: the PIT (periodic mode 2, one-shot mode 0)
  kRomOneShot,   ///< ROM one-shot alarms; periodic ticks by re-arming in the handler
  kRomPeriodic,  ///< ROM periodic alarms; a one-shot is a periodic alarm cancelled at first fire
  kLapic,        ///< native without a PIT (Xen PVH: Xen keeps the PIT): the LAPIC timer
};

/// Picks the device per the release (contracts "Releases"): the hypervisor's one-shot alarm if
/// offered (`alarm_features`: pvrom::kFeature* bits of the ROM, or of the Xen backend), else its
/// periodic alarm (if the release still has that fallback), else the PIT. Installs the handlers.
void setup(uint32_t alarm_features);
/// The platform has no PIT (Xen PVH): native clock events use the LAPIC timer, and there is
/// no second source for a heartbeat. Call before setup().
void set_no_pit();
bool has_pit();
Mode mode();
const char* mode_name();
/// Marks the device unusable (why is kept for later probes).
void disable(const char* why);
const char* disabled_reason();

/// Starts ticks every `period` counter cycles. Returns 0 or the set_alarm error.
int32_t start_periodic(uint64_t period);
/// One event `delta` counter cycles from now. Returns 0 or the set_alarm error.
int32_t start_oneshot(uint64_t delta);
void stop();

/// Events since the last start, and the counter value the handler read at each.
uint32_t fires();
uint64_t fire_time(uint32_t i);  ///< i < kMaxRecorded
inline constexpr uint32_t kMaxRecorded = 16;

/// Halts (sti; hlt) until fires() >= target or timeout_ns passed (native TSC).
bool wait_for_fires(uint32_t target, uint64_t timeout_ns);
/// Halts for a span, woken by the heartbeat.
void sleep_ns(uint64_t ns);

/// A periodic interrupt from the source the device under test does not use: LAPIC timer when
/// the device is the PIT, the PIT otherwise. Waits always wake up, even if the device is dead.
void start_heartbeat();
void stop_heartbeat();

}  // namespace events
