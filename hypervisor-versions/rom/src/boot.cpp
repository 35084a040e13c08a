// The bootstrap entry points (init, get_reloc: cdecl in every API) and GetFeatures.
#include "arch.h"
#include "rom.h"

extern "C" const pvrom::RomHeader rom_header;
extern "C" const pvrom::CallEntry rom_call_table[];

extern "C" {
volatile uint8_t rom_negotiated = 0;
}

namespace rom {

uint32_t irq_save() {
  uint32_t f = arch::read_eflags();
  arch::cli();
  return f;
}

void irq_restore(uint32_t flags) {
  if (flags & arch::kEflagsIf) arch::sti();
}

}  // namespace rom

/// int32_t init(uint32_t kernel_api_major): 0, or kErrUnsupported for a major this ROM does not serve.
extern "C" ROMCDECL int32_t rom_init(uint32_t kernel_api_major) {
  if (kernel_api_major != PVROM_API_MAJOR) return pvrom::kErrUnsupported;
  rom_negotiated = 0;
  if constexpr (rom::has(pvrom::kFeatureTimer)) rom::timer_init();
  return 0;
}

/// uint64_t get_reloc(uint32_t call): low 32 bits RelocType, high 32 bits absolute address.
/// Answers from the same call table static readers see; calls not in it are NONE.
extern "C" ROMCDECL uint64_t rom_get_reloc(uint32_t call) {
  for (uint32_t i = 0; i < rom_header.call_count; ++i) {
    const pvrom::CallEntry& e = rom_call_table[i];
    if (e.number != call) continue;
    uint32_t address = e.offset ? pvrom::kLoadAddress + e.offset : 0;
    return (uint64_t{address} << 32) | e.reloc;
  }
  return pvrom::kRelocNone;
}

/// 75: uint32_t GetFeatures() -- from API 4 the call that must come first.
extern "C" ROMCALL uint32_t rom_get_features() {
  rom_negotiated = 1;
  return rom::kFeatures;
}

// The compiler may emit calls to these for struct copies and zeroing.
extern "C" void* memset(void* d, int c, unsigned n) {
  auto* p = static_cast<uint8_t*>(d);
  while (n--) *p++ = static_cast<uint8_t>(c);
  return d;
}
extern "C" void* memcpy(void* d, const void* s, unsigned n) {
  auto* p = static_cast<uint8_t*>(d);
  auto* q = static_cast<const uint8_t*>(s);
  while (n--) *p++ = *q++;
  return d;
}
