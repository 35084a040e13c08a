// One-line wrappers around the i386 instructions the ROM uses.
#pragma once

#include <stdint.h>

namespace rom::arch {

static inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint64_t rdtsc() { uint64_t v; asm volatile("rdtsc" : "=A"(v)); return v; }
static inline uint64_t rdmsr(uint32_t msr) { uint64_t v; asm volatile("rdmsr" : "=A"(v) : "c"(msr)); return v; }
static inline void wrmsr(uint32_t msr, uint64_t v) { asm volatile("wrmsr" : : "c"(msr), "A"(v)); }
static inline void cli() { asm volatile("cli" ::: "memory"); }
static inline void sti() { asm volatile("sti" ::: "memory"); }
static inline void hlt() { asm volatile("hlt" ::: "memory"); }
static inline void sti_hlt() { asm volatile("sti; hlt" ::: "memory"); }
static inline uint32_t read_eflags() { uint32_t f; asm volatile("pushfl; popl %0" : "=r"(f) : : "memory"); return f; }
static inline void write_eflags(uint32_t f) { asm volatile("pushl %0; popfl" : : "r"(f) : "memory", "cc"); }
static inline uint32_t read_cr3() { uint32_t v; asm volatile("movl %%cr3, %0" : "=r"(v)); return v; }
static inline void write_cr3(uint32_t v) { asm volatile("movl %0, %%cr3" : : "r"(v) : "memory"); }
static inline void invlpg(uint32_t a) { asm volatile("invlpg (%0)" : : "r"(a) : "memory"); }
static inline void cpuid(uint32_t leaf, uint32_t r[4]) {
  asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}
static inline void pause() { asm volatile("pause"); }
[[noreturn]] static inline void ud2() { __builtin_trap(); }

inline constexpr uint32_t kEflagsIf = 1u << 9;

}  // namespace rom::arch
