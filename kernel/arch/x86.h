// x86 instructions, one static inline function each (kvm-unit-tests lib/x86/processor.h style).
// These are the NATIVE implementations behind the pv-ops table and the kernel's own hardware
// access. Nothing here knows about the ROM.
#pragma once

#include <stdint.h>

namespace x86 {

inline constexpr uint32_t kFlagsIF = 1u << 9;  ///< EFLAGS interrupt enable

static inline void cli() { asm volatile("cli" ::: "memory"); }
static inline void sti() { asm volatile("sti" ::: "memory"); }
static inline void hlt() { asm volatile("hlt" ::: "memory"); }
/// sti; hlt back to back: the sti shadow makes the pair atomic (no lost wake-up).
static inline void sti_hlt() { asm volatile("sti; hlt" ::: "memory"); }
static inline void pause() { asm volatile("pause" ::: "memory"); }
static inline void ud2() { asm volatile("ud2"); }

static inline uint32_t read_eflags() {
  uint32_t f;
  asm volatile("pushfl; popl %0" : "=r"(f)::"memory");
  return f;
}
static inline void write_eflags(uint32_t f) { asm volatile("pushl %0; popfl" ::"r"(f) : "memory", "cc"); }

static inline uint32_t read_cr0() { uint32_t v; asm volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline void write_cr0(uint32_t v) { asm volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
static inline uint32_t read_cr2() { uint32_t v; asm volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr3() { uint32_t v; asm volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline void write_cr3(uint32_t v) { asm volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
static inline uint32_t read_cr4() { uint32_t v; asm volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void invlpg(uint32_t va) { asm volatile("invlpg (%0)" ::"r"(va) : "memory"); }

static inline uint64_t rdtsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (uint64_t(hi) << 32) | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t out[4]) {
  asm volatile("cpuid" : "=a"(out[0]), "=b"(out[1]), "=c"(out[2]), "=d"(out[3]) : "a"(leaf), "c"(0));
}

static inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
/// A write to an unused port: ~1 us of delay on real hardware, what Linux's outb_p does.
static inline void io_delay() { outb(0x80, 0); }

static inline uint32_t mmio_read32(uint32_t addr) { return *reinterpret_cast<volatile uint32_t*>(addr); }
static inline void mmio_write32(uint32_t addr, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(addr) = v; }

static inline uint32_t bswap32(uint32_t v) { return __builtin_bswap32(v); }

}  // namespace x86
