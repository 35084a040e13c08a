// Paging, kept simple: the first 16 MiB identity-mapped with 4 KiB pages (page 0 left out to
// catch null pointers), the local APIC page uncached, and a scratch window of pages the MMU
// probes remap through the pv-ops.
#pragma once

#include <stdint.h>

namespace paging {

inline constexpr uint32_t kPageSize = 4096;
inline constexpr uint32_t kPresent = 1u << 0, kWritable = 1u << 1, kWriteThrough = 1u << 3,
                          kCacheDisable = 1u << 4;
inline constexpr uint32_t kWindowBase = 0x02000000;  ///< 32 MiB: outside the identity map
inline constexpr int kWindowPages = 16;
inline constexpr int kScratchFrames = 16;

/// Builds the tables and turns paging on (native CR3/CR0 writes: before any binding).
void init();
/// CR3 of the kernel's page directory.
uint32_t kernel_cr3();
/// A second page directory: the same identity map, its own window page table.
uint32_t alternate_cr3();
/// The PTE that maps window page i in the kernel's (alternate=false) or the alternate directory.
uint32_t* window_pte(int i, bool alternate = false);
inline uint32_t window_address(int i) { return kWindowBase + i * kPageSize; }
/// Physical (= identity-mapped) address of scratch frame i, page-aligned, zeroed at init.
uint32_t scratch_frame(int i);

}  // namespace paging
