// CPU, interrupt, halt and shutdown calls.
#include "arch.h"
#include "rom.h"

using rom::require_negotiated;
namespace arch = rom::arch;

/// 0: void Cpuid(uint32_t leaf, uint32_t regs_out[4])  -- eax, ebx, ecx, edx (subleaf 0)
extern "C" ROMCALL void rom_cpuid(uint32_t leaf, uint32_t* regs_out) {
  require_negotiated();
  arch::cpuid(leaf, regs_out);
}

/// 17: void SetCR3(uint32_t cr3)
extern "C" ROMCALL void rom_set_cr3(uint32_t cr3) {
  require_negotiated();
  arch::write_cr3(cr3);
}

/// 21: uint32_t GetCR3()
extern "C" ROMCALL uint32_t rom_get_cr3() {
  require_negotiated();
  return arch::read_cr3();
}

/// 29: void EnableInterrupts()
extern "C" ROMCALL void rom_enable_interrupts() {
  require_negotiated();
  arch::sti();
}

/// 30: void DisableInterrupts()
extern "C" ROMCALL void rom_disable_interrupts() {
  require_negotiated();
  arch::cli();
}

/// 31: uint32_t GetInterruptMask()  -- EFLAGS
extern "C" ROMCALL uint32_t rom_get_interrupt_mask() {
  require_negotiated();
  return arch::read_eflags();
}

/// 32: void SetInterruptMask(uint32_t eflags)  -- restores IF only
extern "C" ROMCALL void rom_set_interrupt_mask(uint32_t eflags) {
  require_negotiated();
  if (eflags & arch::kEflagsIf) arch::sti();
  else arch::cli();
}

/// 35: void Halt()  -- hlt with IF as the caller left it
extern "C" ROMCALL void rom_halt() {
  require_negotiated();
  arch::hlt();
}

/// 74: void SafeHalt()  -- sti; hlt: the sti shadow makes the pair atomic
extern "C" ROMCALL void rom_safe_halt() {
  require_negotiated();
  arch::sti_hlt();
}

/// 37: [[noreturn]] void Shutdown(uint32_t code)  -- isa-debug-exit at port 0xf4
extern "C" ROMCALL [[noreturn]] void rom_shutdown(uint32_t code) {
  require_negotiated();
  arch::outl(pvrom::kDebugExitPort, code);                       // iosize=4 device
  arch::outb(pvrom::kDebugExitPort, static_cast<uint8_t>(code)); // iosize=1 device
  for (;;) {
    arch::cli();
    arch::hlt();
  }
}

// 33: IRET. JUMP_REL: jumped to with the iret frame on top of the stack.
// CALL_REL: called, so a return address sits above the frame: discard it, then iret.
// Flags may be clobbered before iret: iret reloads EFLAGS from the frame.
#if PVROM_API_MAJOR >= 4
#define PVROM_IRET_GUARD "  cmpb $0, rom_negotiated\n  jne 1f\n  ud2\n1:\n"
#else
#define PVROM_IRET_GUARD ""
#endif
asm(".text\n"
    ".globl rom_iret_jump\n"
    "rom_iret_jump:\n" PVROM_IRET_GUARD
    "  iret\n"
    ".globl rom_iret_call\n"
    "rom_iret_call:\n" PVROM_IRET_GUARD
    "  addl $4, %esp\n"
    "  iret\n");
