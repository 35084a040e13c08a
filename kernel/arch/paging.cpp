#include "arch/paging.h"

#include <pvrom/abi.h>

#include "arch/x86.h"
#include "lib/string.h"

namespace paging {
namespace {

constexpr uint32_t kIdentityTables = 4;  // 4 x 4 MiB = 16 MiB
constexpr uint32_t kCr0Paging = 1u << 31, kCr0WriteProtect = 1u << 16;

uint32_t pde_index(uint32_t va) { return va >> 22; }
uint32_t pte_index(uint32_t va) { return (va >> 12) & 0x3FF; }

struct alignas(kPageSize) Table {
  uint32_t e[1024];
};

constinit Table directory = {}, alternate_directory = {};
constinit Table identity[kIdentityTables] = {};
constinit Table lapic_table = {};
constinit Table window_table = {}, alternate_window_table = {};
alignas(kPageSize) constinit uint8_t frames[kScratchFrames][kPageSize] = {};

uint32_t phys(const void* p) { return reinterpret_cast<uint32_t>(p); }

}  // namespace

void init() {
  for (uint32_t t = 0; t < kIdentityTables; ++t) {
    for (uint32_t i = 0; i < 1024; ++i) {
      uint32_t addr = (t * 1024 + i) * kPageSize;
      identity[t].e[i] = addr == 0 ? 0 : addr | kPresent | kWritable;
    }
    directory.e[t] = phys(&identity[t]) | kPresent | kWritable;
  }
  lapic_table.e[pte_index(pvrom::kLapicBase)] = pvrom::kLapicBase | kPresent | kWritable | kCacheDisable | kWriteThrough;
  directory.e[pde_index(pvrom::kLapicBase)] = phys(&lapic_table) | kPresent | kWritable;
  directory.e[pde_index(kWindowBase)] = phys(&window_table) | kPresent | kWritable;
  memcpy(&alternate_directory, &directory, sizeof directory);
  alternate_directory.e[pde_index(kWindowBase)] = phys(&alternate_window_table) | kPresent | kWritable;

  x86::write_cr3(phys(&directory));
  x86::write_cr0(x86::read_cr0() | kCr0Paging | kCr0WriteProtect);
}

uint32_t kernel_cr3() { return phys(&directory); }
uint32_t alternate_cr3() { return phys(&alternate_directory); }

uint32_t* window_pte(int i, bool alternate) {
  return &(alternate ? alternate_window_table : window_table).e[pte_index(window_address(i))];
}

uint32_t scratch_frame(int i) { return phys(frames[i]); }

}  // namespace paging
