// 2.6.25: 2.6.24 without the periodic fallback: wherever the ROM has timer calls it must
// give a one-shot alarm. So it does not run on rom-1.1 / rom-1.12 (unless pv.native=timer).
#pragma once
#include "release.h"

// Xen pv-ops (domU) arrived in 2.6.23/2.6.24: this release boots under Xen.
#define PVM_XEN_BACKEND 1

inline constexpr ReleaseProfile kProfile{
    .name = "2.6.25",
    .api_majors = api_major_bit(3) | api_major_bit(4),
    .binds_timer = true,
    .binds_mmu = true,
    .binds_lazy = true,
    .periodic_fallback = false,
    .clamps_counter = true,
    .sched_clock = true,
    .asks_features = true,
    .xen_backend = PVM_XEN_BACKEND,
};
