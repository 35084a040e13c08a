// 2.6.21: VMI merged; clockevents: ROM one-shot if offered, else ROM periodic, else PIT.
// The ROM's cycle counter is the clocksource, used as it comes (not clamped).
#pragma once
#include "release.h"

inline constexpr ReleaseProfile kProfile{
    .name = "2.6.21",
    .api_majors = api_major_bit(3),
    .binds_timer = true,
    .binds_mmu = false,
    .binds_lazy = false,
    .periodic_fallback = true,
    .clamps_counter = false,
    .sched_clock = false,
    .asks_features = false,
};
