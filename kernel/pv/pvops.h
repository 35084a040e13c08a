// The pv-ops table, grouped as Linux grouped it (2.6.24's pv_cpu_ops, pv_irq_ops, pv_mmu_ops,
// pv_time_ops, pv_lazy_ops). Every privileged operation the kernel performs after the bind
// stage goes through it. It starts native (arch/x86.h); the bind stage (pv/bind.cpp) FILLS
// entries with ROM trampolines according to get_reloc: the call sites are never patched.
//
// IRET is the one op that is not a C function: the interrupt return path (arch/boot.cpp,
// interrupt_return) jumps or calls through pv_iret_target, so it is two variables here.
#pragma once

#include <stdint.h>

#include "pvrom/calls.h"

namespace pv {

/// Op groups in the contract's order (binding keys): the call table's (pvrom/calls.h).
using Group = pvrom::OpGroup;
inline constexpr int kGroupCount = pvrom::kOpGroupCount;
inline constexpr const auto& kGroupNames = pvrom::kOpGroupNames;

struct CpuOps {
  void (*cpuid)(uint32_t leaf, uint32_t out[4]);
  uint32_t (*read_cr3)();
  void (*write_cr3)(uint32_t cr3);
  void (*shutdown)(uint32_t code);  ///< should not return; the caller falls back if it does
};

struct IrqOps {
  void (*irq_disable)();
  void (*irq_enable)();
  uint32_t (*save_fl)();
  void (*restore_fl)(uint32_t flags);  ///< restores IF only
  void (*halt)();                      ///< hlt with IF as the caller left it
  void (*safe_halt)();                 ///< sti; hlt atomically
};

struct MmuOps {
  void (*set_pte)(uint32_t* pte, uint32_t value);
  void (*flush_tlb_single)(uint32_t linear_address);
  void (*flush_tlb)();  ///< applies pending lazy updates, then reloads CR3
};

struct TimerOps {
  uint64_t (*read_counter)();  ///< the REAL cycle counter (clocksource, before any clamping)
  uint64_t (*counter_hz)();
  uint64_t (*wallclock_ns)();
  /// pvrom::AlarmFlags; expiry: absolute counter value; period in counter cycles (0: one-shot).
  int32_t (*set_alarm)(uint32_t flags, uint64_t expiry, uint64_t period);
  int32_t (*cancel_alarm)();
  uint64_t (*ns_since_init)();  ///< API 4's call 67; null elsewhere
};

struct LazyOps {
  void (*set_lazy_mode)(uint32_t mode);  ///< pvrom::LazyMode
};

struct Ops {
  CpuOps cpu;
  IrqOps irq;
  MmuOps mmu;
  TimerOps timer;
  LazyOps lazy;
};

/// The table. Starts with the native implementations.
extern Ops ops;

/// The native implementations (what set_all_native installs).
const Ops& native_ops();

/// Resets every entry (and the IRET path) to native.
void set_all_native();

/// Native timer ops need the TSC rate; calibrated at boot against the PIT (time/clock.cpp).
void set_native_counter_hz(uint64_t hz);

}  // namespace pv

// The IRET path (arch/boot.cpp): jmp *pv_iret_target, or call when pv_iret_by_call.
extern "C" uint32_t pv_iret_target;
extern "C" uint8_t pv_iret_by_call;
extern "C" char native_iret[];
