// 2.6.20: the first paravirt_ops. CPU and IRQ ops only; the timer stays the PIT; API 3.
#pragma once
#include "release.h"

// No Xen support yet (Xen pv-ops arrived in 2.6.23/2.6.24): no Xen ELF notes, Xen cannot boot it.
#define PVM_XEN_BACKEND 0

inline constexpr ReleaseProfile kProfile{
    .name = "2.6.20",
    .api_majors = api_major_bit(3),
    .binds_timer = false,
    .binds_mmu = false,
    .binds_lazy = false,
    .periodic_fallback = true,
    .clamps_counter = false,
    .sched_clock = false,
    .asks_features = false,
    .xen_backend = PVM_XEN_BACKEND,
};
