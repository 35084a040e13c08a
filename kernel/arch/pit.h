// The 8254 PIT, channel 0 on IRQ 0: the kernel's native clock event device.
#pragma once

#include <stdint.h>

namespace pit {

inline constexpr uint32_t kHz = 1193182;
inline constexpr uint32_t kIrq = 0;

/// Rate generator (mode 2): an interrupt every `count` PIT ticks (1..65536).
void start_periodic(uint32_t count);
/// Interrupt on terminal count (mode 0): one interrupt after `count` PIT ticks (1..65535).
void start_oneshot(uint32_t count);
/// Reprograms channel 0 without a count, which stops it.
void stop();

}  // namespace pit
