// MMU calls and lazy MMU mode. Versions with kFeatureLazyDefers really queue SetPxE
// updates while in lazy MMU mode: they reach memory at FlushTLB, on leaving lazy mode,
// or when the bounded queue is full (applied in order, none lost). Versions without it
// accept SetLazyMode and write every PxE at once.
#include "arch.h"
#include "rom.h"

using rom::require_negotiated;
namespace arch = rom::arch;

namespace {

constexpr bool kDefers = rom::has(pvrom::kFeatureLazyDefers);
constexpr uint32_t kQueueCapacity = 64;

struct PendingPxE {
  volatile uint32_t* pxe;
  uint32_t value;
};

PendingPxE g_queue[kQueueCapacity];
uint32_t g_pending = 0;
bool g_invalidate_after_apply = false;  // an InvalPage arrived while updates were queued
uint32_t g_lazy_mode = pvrom::kLazyNone;

/// Writes the queued updates in order. Returns true if a TLB reload is owed.
bool apply_pending() {
  for (uint32_t i = 0; i < g_pending; ++i) *g_queue[i].pxe = g_queue[i].value;
  g_pending = 0;
  bool owed = g_invalidate_after_apply;
  g_invalidate_after_apply = false;
  return owed;
}

}  // namespace

/// 38: void SetPxE(uint32_t* pxe, uint32_t value)
extern "C" ROMCALL void rom_set_pxe(uint32_t* pxe, uint32_t value) {
  require_negotiated();
  if (kDefers && g_lazy_mode == pvrom::kLazyMmu) {
    uint32_t flags = rom::irq_save();
    if (g_pending == kQueueCapacity) {
      if (apply_pending()) arch::write_cr3(arch::read_cr3());
    }
    g_queue[g_pending++] = PendingPxE{pxe, value};
    rom::irq_restore(flags);
    return;
  }
  *reinterpret_cast<volatile uint32_t*>(pxe) = value;
}

/// 46: void InvalPage(uint32_t linear_address)
extern "C" ROMCALL void rom_inval_page(uint32_t linear_address) {
  require_negotiated();
  // With updates still queued the invalidation would come too early: owe a full reload.
  if (kDefers && g_pending != 0) g_invalidate_after_apply = true;
  arch::invlpg(linear_address);
}

/// 47: void FlushTLB()  -- applies pending lazy updates, then reloads CR3 (non-global TLB)
extern "C" ROMCALL void rom_flush_tlb() {
  require_negotiated();
  uint32_t flags = rom::irq_save();
  if (kDefers) apply_pending();
  arch::write_cr3(arch::read_cr3());
  rom::irq_restore(flags);
}

/// 73: void SetLazyMode(uint32_t mode)  -- kLazyMmu enters, anything else leaves
extern "C" ROMCALL void rom_set_lazy_mode(uint32_t mode) {
  require_negotiated();
  uint32_t flags = rom::irq_save();
  uint32_t old = g_lazy_mode;
  g_lazy_mode = mode == pvrom::kLazyMmu ? pvrom::kLazyMmu : pvrom::kLazyNone;
  if (kDefers && old == pvrom::kLazyMmu && g_lazy_mode != pvrom::kLazyMmu) {
    if (apply_pending()) arch::write_cr3(arch::read_cr3());
  }
  rom::irq_restore(flags);
}
