// Trampolines from the kernel's own convention to ROM calls. The pv-ops table holds plain
// kernel function pointers; a ROM-bound entry points at one of these, which calls the address
// get_reloc gave for its call number in the ROM's convention: gcc regparm(3) for API 3, cdecl
// for API 4 (pvrom::CallingConvention).
#pragma once

#include <stdint.h>

namespace pv {

/// The ROM's calling convention, before any trampoline runs.
void rom_calls_setup(uint32_t convention);
/// Records the entry point get_reloc gave for a call number.
void rom_calls_set(uint16_t call, uint32_t address);

// One trampoline per op; the signatures are the pv-ops' (pv/pvops.h).
uint32_t rom_get_features();
void rom_cpuid(uint32_t leaf, uint32_t out[4]);
uint32_t rom_read_cr3();
void rom_write_cr3(uint32_t cr3);
void rom_shutdown(uint32_t code);
void rom_irq_disable();
void rom_irq_enable();
uint32_t rom_save_fl();
void rom_restore_fl(uint32_t flags);
void rom_halt();
void rom_safe_halt();
void rom_set_pte(uint32_t* pte, uint32_t value);
void rom_flush_tlb_single(uint32_t va);
void rom_flush_tlb();
uint64_t rom_read_counter();  ///< call 67 on API 3, 76 on API 4
uint64_t rom_counter_hz();
uint64_t rom_wallclock_ns();
int32_t rom_set_alarm(uint32_t flags, uint64_t expiry, uint64_t period);
int32_t rom_cancel_alarm();
uint64_t rom_ns_since_init();  ///< API 4's reused call 67
void rom_set_lazy_mode(uint32_t mode);

/// Which call number the counter trampoline uses (67 or 76), for probe records.
uint16_t rom_counter_call();

}  // namespace pv
