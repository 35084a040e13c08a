// Internals shared by the ROM's source files. The version being built is described by
// rom_config.h, generated from hypervisor-versions/<version>/version.json by romgen.
#pragma once

#include <stdint.h>

#include "pvrom/abi.h"
#include "rom_config.h"

// ROM calls use the version's calling convention; init and get_reloc are always cdecl.
#if PVROM_REGPARM3
#define ROMCALL __attribute__((regparm(3)))
#else
#define ROMCALL
#endif
#define ROMCDECL __attribute__((cdecl))

namespace rom {

inline constexpr uint32_t kFeatures = PVROM_FEATURES;
inline constexpr bool has(pvrom::Feature f) { return (kFeatures & f) != 0; }
inline constexpr bool kGetFeaturesMandatory = PVROM_API_MAJOR >= 4;

/// API 4: set by GetFeatures; every other call executes ud2 until then.
extern "C" volatile uint8_t rom_negotiated;

/// The guard at the top of every call (not init/get_reloc): a no-op before API 4.
inline void require_negotiated() {
  if constexpr (kGetFeaturesMandatory) {
    if (!rom_negotiated) __builtin_trap();  // ud2
  }
}

/// Sets up the local APIC and calibrates the cycle counter (timer.cpp).
void timer_init();

/// Saves EFLAGS and disables interrupts; restore with irq_restore.
uint32_t irq_save();
void irq_restore(uint32_t flags);

}  // namespace rom
