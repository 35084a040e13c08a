#include "pv/rom_calls.h"

#include <pvrom/abi.h>

#include "lib/panic.h"

namespace pv {
namespace {

constexpr int kMaxCall = 80;
constinit uint32_t entry[kMaxCall] = {};
constinit bool regparm3 = true;
constinit uint16_t counter_call = pvrom::kCallGetCycleCounter;

uint32_t address(uint16_t call) {
  if (call >= kMaxCall || !entry[call]) PANIC("ROM call %u used but not bound", static_cast<unsigned>(call));
  return entry[call];
}

// One pair of function pointer types per signature. Not a template: gcc drops
// __attribute__((regparm(3))) from dependent function types, silently.
#define ROM_SIGNATURE(sig, ret, ...)                                  \
  typedef ret (*sig##_regparm3)(__VA_ARGS__) __attribute__((regparm(3))); \
  typedef ret (*sig##_cdecl)(__VA_ARGS__) __attribute__((cdecl));
ROM_SIGNATURE(VoidVoid, void)
ROM_SIGNATURE(VoidU32, void, uint32_t)
ROM_SIGNATURE(U32Void, uint32_t)
ROM_SIGNATURE(U64Void, uint64_t)
ROM_SIGNATURE(I32Void, int32_t)
ROM_SIGNATURE(VoidU32Ptr, void, uint32_t, uint32_t*)
ROM_SIGNATURE(VoidPtrU32, void, uint32_t*, uint32_t)
ROM_SIGNATURE(I32U32U64U64, int32_t, uint32_t, uint64_t, uint64_t)
#undef ROM_SIGNATURE

/// Calls ROM entry `call` with signature `sig` in the ROM's convention.
#define CALL_ROM(sig, call, ...)                                             \
  (regparm3 ? reinterpret_cast<sig##_regparm3>(address(call))(__VA_ARGS__) \
            : reinterpret_cast<sig##_cdecl>(address(call))(__VA_ARGS__))

}  // namespace

void rom_calls_setup(uint32_t convention) {
  regparm3 = convention == pvrom::kConvRegparm3;
  counter_call = convention == pvrom::kConvCdecl ? pvrom::kCallGetCycleCounter4 : pvrom::kCallGetCycleCounter;
}

void rom_calls_set(uint16_t call, uint32_t address) {
  if (call < kMaxCall) entry[call] = address;
}

uint16_t rom_counter_call() { return counter_call; }

uint32_t rom_get_features() { return CALL_ROM(U32Void, pvrom::kCallGetFeatures); }
void rom_cpuid(uint32_t leaf, uint32_t out[4]) { CALL_ROM(VoidU32Ptr, pvrom::kCallCpuid, leaf, out); }
uint32_t rom_read_cr3() { return CALL_ROM(U32Void, pvrom::kCallGetCR3); }
void rom_write_cr3(uint32_t cr3) { CALL_ROM(VoidU32, pvrom::kCallSetCR3, cr3); }
void rom_shutdown(uint32_t code) { CALL_ROM(VoidU32, pvrom::kCallShutdown, code); }
void rom_irq_disable() { CALL_ROM(VoidVoid, pvrom::kCallDisableInterrupts); }
void rom_irq_enable() { CALL_ROM(VoidVoid, pvrom::kCallEnableInterrupts); }
uint32_t rom_save_fl() { return CALL_ROM(U32Void, pvrom::kCallGetInterruptMask); }
void rom_restore_fl(uint32_t flags) { CALL_ROM(VoidU32, pvrom::kCallSetInterruptMask, flags); }
void rom_halt() { CALL_ROM(VoidVoid, pvrom::kCallHalt); }
void rom_safe_halt() { CALL_ROM(VoidVoid, pvrom::kCallSafeHalt); }
void rom_set_pte(uint32_t* pte, uint32_t value) {
  CALL_ROM(VoidPtrU32, pvrom::kCallSetPxE, pte, value);
}
void rom_flush_tlb_single(uint32_t va) { CALL_ROM(VoidU32, pvrom::kCallInvalPage, va); }
void rom_flush_tlb() { CALL_ROM(VoidVoid, pvrom::kCallFlushTLB); }
uint64_t rom_read_counter() { return CALL_ROM(U64Void, counter_call); }
uint64_t rom_counter_hz() { return CALL_ROM(U64Void, pvrom::kCallGetCycleFrequency); }
uint64_t rom_wallclock_ns() { return CALL_ROM(U64Void, pvrom::kCallGetWallclockTime); }
int32_t rom_set_alarm(uint32_t flags, uint64_t expiry, uint64_t period) {
  return CALL_ROM(I32U32U64U64, pvrom::kCallSetAlarm, flags, expiry, period);
}
int32_t rom_cancel_alarm() { return CALL_ROM(I32Void, pvrom::kCallCancelAlarm); }
uint64_t rom_ns_since_init() { return CALL_ROM(U64Void, pvrom::kCallGetCycleCounter); }
void rom_set_lazy_mode(uint32_t mode) { CALL_ROM(VoidU32, pvrom::kCallSetLazyMode, mode); }

}  // namespace pv
