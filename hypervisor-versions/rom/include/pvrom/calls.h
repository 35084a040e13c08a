// The ROM call table: every call of the "rom" family's ABI, once, with what each reader needs
// (abi.h's number, the name version.json and reports use, the op group it serves, the probe
// that fails when it misbehaves, the API majors it exists in, the ROM entry point's symbol).
// Read by the kernel (kernel/pv/bind.cpp: the group of each call it binds), the ROM generator
// (romgen: entry symbols), the host (version.json checks, predict, abi diff, `cell`) and the
// HTML report (emitted into its data block by reports/html_report.cpp).
// Freestanding like abi.h: no library, valid hosted and -ffreestanding -m32.
#pragma once

#include <stdint.h>

#include "pvrom/abi.h"

namespace pvrom {

/// Op groups, in the binding keys' order (docs/contracts.md "Op groups"; Linux 2.6.24's
/// pv_cpu_ops, pv_irq_ops, pv_mmu_ops, pv_time_ops, pv_lazy_ops). kNone: a call outside every
/// group (GetFeatures).
enum class OpGroup : uint8_t { kCpu, kIrq, kMmu, kTimer, kLazy, kNone };
inline constexpr int kOpGroupCount = 5;
/// Binding keys, indexed by OpGroup ("cpu" ... "lazy").
inline constexpr const char* kOpGroupNames[kOpGroupCount] = {"cpu", "irq", "mmu", "timer", "lazy"};

/// "cpu" ... "lazy"; nullptr for kNone.
constexpr const char* op_group_name(OpGroup g) {
  return static_cast<int>(g) < kOpGroupCount ? kOpGroupNames[static_cast<int>(g)] : nullptr;
}

/// One call under the API majors [first_api, last_api]. A number whose meaning changed across
/// majors (67) has one row per meaning.
struct CallInfo {
  uint16_t number;     ///< CallNumber
  const char* name;    ///< as version.json and reports spell it ("Cpuid", "Iret")
  OpGroup group;       ///< the op group whose binding it serves
  bool nop_ok;         ///< a NOP binding is harmless (the op has no result the kernel needs)
  const char* probe;   ///< the probe that fails when the call misbehaves ("" none)
  uint8_t first_api;   ///< first API major with this meaning
  uint8_t last_api;    ///< last API major with it
  const char* symbol;  ///< the ROM's entry point (hypervisor-versions/rom/src); Iret bound
                       ///< JUMP_REL enters at kIretJumpSymbol instead
};

inline constexpr const char* kIretJumpSymbol = "rom_iret_jump";
/// API majors any ROM of the family may carry.
inline constexpr uint8_t kFirstApiMajor = 3, kLastApiMajor = 4;

inline constexpr CallInfo kCalls[] = {
    {kCallCpuid, "Cpuid", OpGroup::kCpu, false, "cpu.cpuid", 3, 4, "rom_cpuid"},
    {kCallSetCR3, "SetCR3", OpGroup::kCpu, true, "cpu.cr3_switch", 3, 4, "rom_set_cr3"},
    {kCallGetCR3, "GetCR3", OpGroup::kCpu, false, "cpu.cr3_switch", 3, 4, "rom_get_cr3"},
    {kCallEnableInterrupts, "EnableInterrupts", OpGroup::kIrq, true, "irq.enable_disable", 3, 4,
     "rom_enable_interrupts"},
    {kCallDisableInterrupts, "DisableInterrupts", OpGroup::kIrq, true, "irq.enable_disable", 3, 4,
     "rom_disable_interrupts"},
    {kCallGetInterruptMask, "GetInterruptMask", OpGroup::kIrq, false, "irq.save_restore", 3, 4,
     "rom_get_interrupt_mask"},
    {kCallSetInterruptMask, "SetInterruptMask", OpGroup::kIrq, true, "irq.save_restore", 3, 4,
     "rom_set_interrupt_mask"},
    {kCallIret, "Iret", OpGroup::kCpu, false, "irq.iret", 3, 4, "rom_iret_call"},
    {kCallHalt, "Halt", OpGroup::kIrq, true, "irq.halt", 3, 3, "rom_halt"},  // removed in API 4
    {kCallShutdown, "Shutdown", OpGroup::kCpu, false, "", 3, 4, "rom_shutdown"},
    {kCallSetPxE, "SetPxE", OpGroup::kMmu, true, "mmu.tlb_flush", 3, 4, "rom_set_pxe"},
    {kCallInvalPage, "InvalPage", OpGroup::kMmu, true, "mmu.tlb_flush", 3, 4, "rom_inval_page"},
    {kCallFlushTLB, "FlushTLB", OpGroup::kMmu, true, "mmu.tlb_flush", 3, 4, "rom_flush_tlb"},
    {kCallGetCycleFrequency, "GetCycleFrequency", OpGroup::kTimer, false, "time.counter_monotonic", 3, 4,
     "rom_get_cycle_frequency"},
    {kCallGetCycleCounter, "GetCycleCounter", OpGroup::kTimer, false, "time.counter_monotonic", 3, 3,
     "rom_get_cycle_counter"},
    {kCallGetCycleCounter, "GetNsSinceInit", OpGroup::kTimer, false, "time.counter_monotonic", 4, 4,
     "rom_get_ns_since_init"},  // 67 reused in API 4
    {kCallSetAlarm, "SetAlarm", OpGroup::kTimer, false, "time.oneshot", 3, 4, "rom_set_alarm"},
    {kCallCancelAlarm, "CancelAlarm", OpGroup::kTimer, false, "time.oneshot", 3, 4, "rom_cancel_alarm"},
    {kCallGetWallclockTime, "GetWallclockTime", OpGroup::kTimer, false, "time.wallclock", 3, 3,
     "rom_get_wallclock_time"},  // removed in API 4
    {kCallSetLazyMode, "SetLazyMode", OpGroup::kLazy, true, "mmu.lazy_batch", 3, 4, "rom_set_lazy_mode"},
    {kCallSafeHalt, "SafeHalt", OpGroup::kIrq, true, "irq.safe_halt", 3, 4, "rom_safe_halt"},
    {kCallGetFeatures, "GetFeatures", OpGroup::kNone, false, "hv.negotiate", 3, 4, "rom_get_features"},
    {kCallGetCycleCounter4, "GetCycleCounter", OpGroup::kTimer, false, "time.counter_monotonic", 4, 4,
     "rom_get_cycle_counter"},  // the counter's home from API 4
};

/// The row of `number` under API `api_major`, or nullptr (no such call in that API).
constexpr const CallInfo* find_call(uint16_t number, uint8_t api_major) {
  for (const CallInfo& c : kCalls)
    if (c.number == number && c.first_api <= api_major && api_major <= c.last_api) return &c;
  return nullptr;
}

/// The first row of `number` under any API, or nullptr. Group, probe and nop_ok of a number
/// are the same under every API (67 and 76 are both timer).
constexpr const CallInfo* find_call_any_api(uint16_t number) {
  for (const CallInfo& c : kCalls)
    if (c.number == number) return &c;
  return nullptr;
}

/// The op group `number` serves (kNone when none, or no such call).
constexpr OpGroup call_group(uint16_t number) {
  const CallInfo* c = find_call_any_api(number);
  return c ? c->group : OpGroup::kNone;
}

}  // namespace pvrom
