// 2.6.22: + MMU ops with lazy mode; a batch is flushed before the kernel reads a PTE.
#pragma once
#include "release.h"

inline constexpr ReleaseProfile kProfile{
    .name = "2.6.22",
    .api_majors = api_major_bit(3),
    .binds_timer = true,
    .binds_mmu = true,
    .binds_lazy = true,
    .periodic_fallback = true,
    .clamps_counter = false,
    .sched_clock = false,
    .asks_features = false,
};
