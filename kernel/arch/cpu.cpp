#include "arch/cpu.h"

#include <pvrom/abi.h>

#include "arch/x86.h"
#include "lib/format.h"
#include "lib/panic.h"
#include "lib/record.h"

extern "C" char isr_stubs[];  // arch/boot.cpp: 256 stubs, 16 bytes each

namespace cpu {
namespace {

constexpr uint16_t kKernelCode = 0x08, kKernelData = 0x10;
constexpr int kStubSize = 16;

struct [[gnu::packed]] DescriptorPointer {
  uint16_t limit;
  uint32_t base;
};

struct Gate {
  uint16_t offset_low, selector;
  uint8_t zero, type_attr;
  uint16_t offset_high;
};
static_assert(sizeof(Gate) == 8);

constexpr uint8_t kInterruptGate = 0x8E;  // present, ring 0, 32-bit interrupt gate (IF cleared)

alignas(8) constinit uint64_t gdt[3] = {
    0,
    0x00CF9A000000FFFFull,  // 0x08: code, base 0, 4 GiB, ring 0
    0x00CF92000000FFFFull,  // 0x10: data, base 0, 4 GiB, ring 0
};
alignas(8) constinit Gate idt[256] = {};
constinit Handler handlers[256] = {};

constinit uint32_t rom_start = 0, rom_end = 0;
constinit const char* rom_name = "";
constinit bool crashing = false;

const char* exception_name(uint32_t v) {
  static constexpr const char* kNames[] = {
      "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range exceeded",
      "invalid opcode", "device not available", "double fault", "coprocessor segment overrun",
      "invalid TSS", "segment not present", "stack-segment fault", "general protection fault",
      "page fault", "reserved", "x87 floating-point error", "alignment check", "machine check",
      "SIMD floating-point error", "virtualization exception", "control protection exception"};
  return v < sizeof kNames / sizeof kNames[0] ? kNames[v] : "reserved exception";
}

}  // namespace

void init_descriptors() {
  DescriptorPointer gp{sizeof gdt - 1, reinterpret_cast<uint32_t>(gdt)};
  asm volatile(
      "lgdt %0\n\t"
      "ljmp %1, $1f\n"
      "1:\n\t"
      "mov %2, %%ax\n\t"
      "mov %%ax, %%ds\n\t"
      "mov %%ax, %%es\n\t"
      "mov %%ax, %%fs\n\t"
      "mov %%ax, %%gs\n\t"
      "mov %%ax, %%ss"
      :
      : "m"(gp), "i"(kKernelCode), "i"(kKernelData)
      : "eax", "memory");

  for (int v = 0; v < 256; ++v) {
    uint32_t addr = reinterpret_cast<uint32_t>(isr_stubs) + v * kStubSize;
    idt[v] = Gate{static_cast<uint16_t>(addr), kKernelCode, 0, kInterruptGate, static_cast<uint16_t>(addr >> 16)};
  }
  DescriptorPointer ip{sizeof idt - 1, reinterpret_cast<uint32_t>(idt)};
  asm volatile("lidt %0" ::"m"(ip) : "memory");
}

void set_handler(uint8_t vector, Handler h) { handlers[vector] = h; }

void set_rom_range(uint32_t start, uint32_t end, const char* name) {
  rom_start = start;
  rom_end = end;
  rom_name = name;
}

void crash(uint32_t vector, uint32_t eip, uint32_t error, const char* detail) {
  x86::cli();
  if (crashing) exit_native(pvrom::kExitCrash);  // a fault while reporting a fault
  crashing = true;
  char text[192];
  if (eip >= rom_start && eip < rom_end)
    format(text, sizeof text, "%s in the ROM (%s+0x%x)", detail, rom_name, static_cast<unsigned>(eip - rom_start));
  else
    format(text, sizeof text, "%s", detail);
  Record("crash")
      .num("vector", vector)
      .hex("eip", eip, 8)
      .hex("error", error, 0)
      .hex("cr2", x86::read_cr2(), 8)
      .str("detail", text)
      .emit();
  exit_native(pvrom::kExitCrash);
}

}  // namespace cpu

extern "C" void interrupt_dispatch(cpu::Frame* f) {
  if (cpu::Handler h = cpu::handlers[f->vector]) {
    h(*f);
    return;
  }
  if (f->vector < 32) cpu::crash(f->vector, f->eip, f->error, cpu::exception_name(f->vector));
  char detail[64];
  format(detail, sizeof detail, "unexpected interrupt vector %u", static_cast<unsigned>(f->vector));
  cpu::crash(f->vector, f->eip, f->error, detail);
}
