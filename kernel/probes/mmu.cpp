// mmu.tlb_flush, mmu.lazy_batch: the mmu and lazy op groups.
#include <pvrom/abi.h>

#include "arch/paging.h"
#include "arch/x86.h"
#include "lib/format.h"
#include "probes/probe.h"
#include "pv/pvops.h"
#include "release.h"

namespace probes {
namespace {

constexpr uint32_t kMarkerA = 0xA1A1A1A1, kMarkerB = 0xB2B2B2B2, kWritten = 0xC3C3C3C3;
constexpr uint32_t kMarkerLazyBase = 0x1A2E0000;
constexpr int kTlbPage = 1;           // window page for mmu.tlb_flush
constexpr int kLazyFirstPage = 4;     // window pages 4.. for mmu.lazy_batch
constexpr int kLazyPages = 8;
constexpr uint32_t kPteFlags = paging::kPresent | paging::kWritable;

volatile uint32_t& word(uint32_t address) { return *reinterpret_cast<volatile uint32_t*>(address); }
const char* via(bool rom) { return rom ? "the ROM" : "native"; }

// The kernel's view of lazy MMU mode (2.6.22's rule: a batch is flushed before a PTE is read).
bool lazy_active = false;

void enter_lazy() {
  pv::ops.lazy.set_lazy_mode(pvrom::kLazyMmu);
  lazy_active = true;
}
void leave_lazy() {
  pv::ops.lazy.set_lazy_mode(pvrom::kLazyNone);
  lazy_active = false;
}
/// Reads a PTE the way the kernel must: pending lazy updates are flushed first.
uint32_t read_pte(const uint32_t* pte) {
  if (lazy_active) pv::ops.mmu.flush_tlb();
  return *reinterpret_cast<const volatile uint32_t*>(pte);
}

void tlb_flush_probe(Stage& s) {
  const auto& n = pv::native_ops().mmu;
  bool rom_set = pv::ops.mmu.set_pte != n.set_pte, rom_single = pv::ops.mmu.flush_tlb_single != n.flush_tlb_single,
       rom_all = pv::ops.mmu.flush_tlb != n.flush_tlb;
  uint32_t a = paging::scratch_frame(2), b = paging::scratch_frame(3);
  word(a) = kMarkerA;
  word(b) = kMarkerB;
  uint32_t* pte = paging::window_pte(kTlbPage);
  uint32_t va = paging::window_address(kTlbPage);

  pv::ops.mmu.set_pte(pte, a | kPteFlags);  // map
  pv::ops.mmu.flush_tlb_single(va);
  uint32_t pte_a = read_pte(pte);
  uint32_t seen_a = word(va);
  word(va) = kWritten;  // write through the mapping: the TLB now holds va -> a
  uint32_t landed = word(a);
  pv::ops.mmu.set_pte(pte, b | kPteFlags);  // remap
  pv::ops.mmu.flush_tlb_single(va);
  uint32_t seen_b = word(va);
  pv::ops.mmu.set_pte(pte, a | kPteFlags);  // remap back, full flush this time
  pv::ops.mmu.flush_tlb();
  uint32_t seen_back = word(va);
  pv::ops.mmu.set_pte(pte, 0);
  pv::ops.mmu.flush_tlb_single(va);

  bool map_ok = pte_a == (a | kPteFlags) && seen_a == kMarkerA && landed == kWritten;
  bool single_ok = seen_b == kMarkerB;
  bool all_ok = seen_back == kWritten;
  Text<256> d;
  d.add("set_pte via %s, invlpg via %s, flush_tlb via %s: ", via(rom_set), via(rom_single), via(rom_all));
  if (map_ok && single_ok && all_ok)
    d.add("map, write, remap + invlpg, remap + full flush all read back right");
  else
    d.add("map %s (pte 0x%x, read 0x%x), after invlpg read 0x%x (want 0x%x), after flush read 0x%x (want 0x%x)",
          map_ok ? "ok" : "WRONG", static_cast<unsigned>(pte_a), static_cast<unsigned>(seen_a),
          static_cast<unsigned>(seen_b), static_cast<unsigned>(kMarkerB), static_cast<unsigned>(seen_back),
          static_cast<unsigned>(kWritten));
  int blame = kNoCall;
  if (!map_ok && rom_set) blame = pvrom::kCallSetPxE;
  else if (!single_ok && rom_single) blame = pvrom::kCallInvalPage;
  else if (!all_ok && rom_all) blame = pvrom::kCallFlushTLB;
  s.report("mmu.tlb_flush", map_ok && single_ok && all_ok, d.c_str(), blame);
}

void lazy_batch_probe(Stage& s) {
  if (!kRelease.binds_lazy) {
    Text<120> d;
    d.add("%s has no lazy MMU mode (it arrived in 2.6.22)", kRelease.name);
    s.skip("mmu.lazy_batch", d.c_str());
    return;
  }
  bool rom_lazy = pv::ops.lazy.set_lazy_mode != pv::native_ops().lazy.set_lazy_mode;
  bool rom_set = pv::ops.mmu.set_pte != pv::native_ops().mmu.set_pte;
  for (int i = 0; i < kLazyPages; ++i) {
    word(paging::scratch_frame(kLazyFirstPage + i)) = kMarkerLazyBase + i;
    *paging::window_pte(kLazyFirstPage + i) = 0;
    x86::invlpg(paging::window_address(kLazyFirstPage + i));
  }
  enter_lazy();
  for (int i = 0; i < kLazyPages; ++i)
    pv::ops.mmu.set_pte(paging::window_pte(kLazyFirstPage + i), paging::scratch_frame(kLazyFirstPage + i) | kPteFlags);
  // Observation only: how many updates the ROM held back (it may, with lazy_defers).
  int deferred = 0;
  for (int i = 0; i < kLazyPages; ++i)
    if (*reinterpret_cast<volatile uint32_t*>(paging::window_pte(kLazyFirstPage + i)) == 0) ++deferred;
  uint32_t first = read_pte(paging::window_pte(kLazyFirstPage));  // flushes the batch first
  leave_lazy();
  pv::ops.mmu.flush_tlb();

  int in_table = 0, mapped = 0;
  for (int i = 0; i < kLazyPages; ++i) {
    uint32_t want = paging::scratch_frame(kLazyFirstPage + i) | kPteFlags;
    if (*reinterpret_cast<volatile uint32_t*>(paging::window_pte(kLazyFirstPage + i)) == want) ++in_table;
    if (in_table == i + 1 && word(paging::window_address(kLazyFirstPage + i)) == kMarkerLazyBase + i) ++mapped;
  }
  for (int i = 0; i < kLazyPages; ++i) pv::ops.mmu.set_pte(paging::window_pte(kLazyFirstPage + i), 0);
  pv::ops.mmu.flush_tlb();

  bool first_ok = first == (paging::scratch_frame(kLazyFirstPage) | kPteFlags);
  bool ok = first_ok && in_table == kLazyPages && mapped == kLazyPages;
  Text<256> d;
  d.add("%d set_pte via %s in lazy mode (via %s): %d deferred until flush; PTE read after flush %s; %d/%d in the "
        "table and %d/%d mapped after leaving lazy mode",
        kLazyPages, via(rom_set), via(rom_lazy), deferred, first_ok ? "current" : "STALE", in_table, kLazyPages,
        mapped, kLazyPages);
  int blame = kNoCall;
  if (!ok) blame = !first_ok ? pvrom::kCallFlushTLB : (rom_lazy ? pvrom::kCallSetLazyMode : pvrom::kCallSetPxE);
  if (!rom_lazy && !rom_set) blame = kNoCall;
  s.report("mmu.lazy_batch", ok, d.c_str(), blame);
}

}  // namespace

void run_mmu(Stage& s) {
  tlb_flush_probe(s);
  lazy_batch_probe(s);
}

}  // namespace probes
