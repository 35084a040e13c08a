// The CMOS real-time clock: the native wallclock.
#pragma once

#include <stdint.h>

namespace rtc {

/// Nanoseconds since the Unix epoch, from the CMOS RTC (UTC), second resolution.
uint64_t wallclock_ns();

}  // namespace rtc
