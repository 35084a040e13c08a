// A release profile: what one reference-kernel release does with a ROM (docs/contracts.md,
// "Releases"). Every image is built from the same sources; kernel/releases/<release>.h holds
// the profile and kernel/profile.cpp, compiled once per image, makes it kRelease.
#pragma once

#include <stdint.h>

struct ReleaseProfile {
  const char* name;           ///< "2.6.25"
  uint32_t api_majors;        ///< bit n set: speaks ROM API major n
  bool binds_timer;           ///< timer group (counter, frequency, wallclock, alarms) goes to the ROM
  bool binds_mmu;             ///< mmu group (SetPxE, InvalPage, FlushTLB)
  bool binds_lazy;            ///< lazy group (SetLazyMode); PTE reads flush a lazy batch first
  bool periodic_fallback;     ///< clockevents: ROM periodic alarm when one-shot is not offered
  bool clamps_counter;        ///< the clocksource never returns less than it returned before
  bool sched_clock;           ///< sched_clock() in nanoseconds (time.sched_clock)
  bool asks_features;         ///< calls GetFeatures (75) when the ROM offers it on API 3
  bool xen_backend;           ///< Xen ELF notes + the Xen backend (kernel/releases/README.md)
};

static constexpr uint32_t api_major_bit(uint32_t major) { return 1u << major; }

/// The profile of this image.
extern const ReleaseProfile kRelease;
