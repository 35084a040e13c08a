// Native implementations of every pv-op: what the kernel does on bare hardware.
#include <pvrom/abi.h>

#include "arch/pit.h"
#include "arch/rtc.h"
#include "arch/x86.h"
#include "lib/panic.h"
#include "pv/pvops.h"

extern "C" {
uint32_t pv_iret_target = 0;  // set_all_native() points it at native_iret before interrupts
uint8_t pv_iret_by_call = 0;
}

namespace pv {
namespace {

constinit uint64_t tsc_hz = 1000000000ull;  // until calibrated: QEMU -icount shift=0 runs at 1 GHz

void native_cpuid(uint32_t leaf, uint32_t out[4]) { x86::cpuid(leaf, out); }
uint32_t native_read_cr3() { return x86::read_cr3(); }
void native_write_cr3(uint32_t v) { x86::write_cr3(v); }
void native_shutdown(uint32_t code) { exit_native(code); }

void native_irq_disable() { x86::cli(); }
void native_irq_enable() { x86::sti(); }
uint32_t native_save_fl() { return x86::read_eflags(); }
void native_restore_fl(uint32_t f) {
  if (f & x86::kFlagsIF)
    x86::sti();
  else
    x86::cli();
}
void native_halt() { x86::hlt(); }
void native_safe_halt() { x86::sti_hlt(); }

void native_set_pte(uint32_t* pte, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(pte) = v; }
void native_flush_tlb_single(uint32_t va) { x86::invlpg(va); }
void native_flush_tlb() { x86::write_cr3(x86::read_cr3()); }

uint64_t native_read_counter() { return x86::rdtsc(); }
uint64_t native_counter_hz() { return tsc_hz; }
uint64_t native_wallclock_ns() { return rtc::wallclock_ns(); }

/// Counter cycles -> PIT ticks, clamped to what a 16-bit PIT count can hold.
uint32_t pit_ticks(uint64_t cycles) {
  uint64_t ticks = cycles * pit::kHz / tsc_hz;
  if (ticks < 1) ticks = 1;
  if (ticks > 65535) ticks = 65535;
  return static_cast<uint32_t>(ticks);
}

int32_t native_set_alarm(uint32_t flags, uint64_t expiry, uint64_t period) {
  uint64_t now = x86::rdtsc();
  uint64_t delta = expiry > now ? expiry - now : 1;
  if (flags & pvrom::kAlarmPeriodic) {
    // The PIT's first interrupt comes one period after programming; close enough to expiry
    // for a tick device.
    pit::start_periodic(pit_ticks(period));
  } else {
    pit::start_oneshot(pit_ticks(delta));
  }
  return 0;
}

int32_t native_cancel_alarm() {
  pit::stop();
  return 0;
}

void native_set_lazy_mode(uint32_t) {}  // native PTE writes are immediate: nothing to batch

}  // namespace

Ops ops = {};

constinit const Ops kNative = {
    CpuOps{native_cpuid, native_read_cr3, native_write_cr3, native_shutdown},
    IrqOps{native_irq_disable, native_irq_enable, native_save_fl, native_restore_fl, native_halt, native_safe_halt},
    MmuOps{native_set_pte, native_flush_tlb_single, native_flush_tlb},
    TimerOps{native_read_counter, native_counter_hz, native_wallclock_ns, native_set_alarm, native_cancel_alarm,
             nullptr},
    LazyOps{native_set_lazy_mode},
};

const Ops& native_ops() { return kNative; }

void set_all_native() {
  ops = kNative;
  pv_iret_by_call = 0;
  pv_iret_target = reinterpret_cast<uint32_t>(native_iret);
}

void set_native_counter_hz(uint64_t hz) { tsc_hz = hz; }

}  // namespace pv
