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
    .split_groups = false,
};

#define PVM_MANIFEST "release=2.6.22;api=3;groups=cpu,irq,mmu,timer,lazy;require=;optional=cpuid,cr3,iret,shutdown,irq,halt,safe_halt,counter,alarm,wallclock,setpxe,invlpg,flushtlb,lazy;features=oneshot_alarm|periodic_alarm,mmu,lazy_mmu"
