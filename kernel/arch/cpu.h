// Descriptor tables, interrupt dispatch and the crash path.
#pragma once

#include <stdint.h>

namespace cpu {

/// What every interrupt stub leaves on the stack (arch/boot.cpp), lowest address first.
struct Frame {
  uint32_t edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;  ///< pushal
  uint32_t vector, error;                                     ///< pushed by the stub / CPU
  uint32_t eip, cs, eflags;                                   ///< pushed by the CPU
};

using Handler = void (*)(Frame&);

/// Loads the kernel's GDT (flat code 0x08, data 0x10) and an IDT with all 256 stubs.
void init_descriptors();
/// Routes a vector to a handler. Exceptions without a handler become a crash record.
void set_handler(uint8_t vector, Handler h);

/// The address range that belongs to the ROM, so a crash there can say so.
void set_rom_range(uint32_t start, uint32_t end, const char* name);

/// Prints a "crash" record and exits with pvrom::kExitCrash through isa-debug-exit.
[[noreturn]] void crash(uint32_t vector, uint32_t eip, uint32_t error, const char* detail);

}  // namespace cpu
