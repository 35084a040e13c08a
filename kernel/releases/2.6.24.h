// 2.6.24: pv-ops split into groups; sched_clock in ns; speaks API 3 and 4; the clocksource
// is clamped so a counter that steps back never makes time go backwards.
#pragma once
#include "release.h"

// Xen pv-ops (domU) arrived in 2.6.23/2.6.24: this release boots under Xen.
#define PVM_XEN_BACKEND 1

inline constexpr ReleaseProfile kProfile{
    .name = "2.6.24",
    .api_majors = api_major_bit(3) | api_major_bit(4),
    .binds_timer = true,
    .binds_mmu = true,
    .binds_lazy = true,
    .periodic_fallback = true,
    .clamps_counter = true,
    .sched_clock = true,
    .asks_features = true,
    .xen_backend = PVM_XEN_BACKEND,
};
