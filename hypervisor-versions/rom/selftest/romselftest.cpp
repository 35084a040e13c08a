// romselftest: a tiny multiboot guest that loads the ROM from fw_cfg (opt/pvmatrix/rom),
// binds it through get_reloc and exercises every call the ROM offers, printing one line
// per check on COM1 and exiting through isa-debug-exit (0 all ok, 1 a check failed).
// It is the ROM's own test, independent of the reference kernel:
//   qemu-system-i386 -machine microvm ... -kernel romselftest.elf -fw_cfg name=opt/pvmatrix/rom,file=X.rom
#include <stdint.h>

#include "pvrom/abi.h"

extern "C" void selftest_main();

asm(".section .multiboot, \"a\"\n"
    ".align 4\n"
    ".long 0x1BADB002\n.long 0\n.long -(0x1BADB002)\n"
    ".text\n.globl _start\n_start:\n"
    "  movl $stack_top, %esp\n  cld\n  call selftest_main\n1: cli\n  hlt\n  jmp 1b\n"
    ".bss\n.align 16\n.space 16384\nstack_top:\n.text\n");

namespace {

inline void outb(uint16_t p, uint8_t v) { asm volatile("outb %0, %1" : : "a"(v), "Nd"(p)); }
inline void outw(uint16_t p, uint16_t v) { asm volatile("outw %0, %1" : : "a"(v), "Nd"(p)); }
inline void outl(uint16_t p, uint32_t v) { asm volatile("outl %0, %1" : : "a"(v), "Nd"(p)); }
inline uint8_t inb(uint16_t p) { uint8_t v; asm volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }

void putc(char c) {
  while (!(inb(0x3f8 + 5) & 0x20)) {}
  outb(0x3f8, static_cast<uint8_t>(c));
}
void puts(const char* s) { while (*s) putc(*s++); }
void putu(uint64_t v) {
  char b[24];
  int n = 0;
  do { b[n++] = static_cast<char>('0' + v % 10); v /= 10; } while (v);
  while (n) putc(b[--n]);
}
void puti(int64_t v) { if (v < 0) { putc('-'); putu(static_cast<uint64_t>(-v)); } else putu(static_cast<uint64_t>(v)); }

[[noreturn]] void exit_qemu(uint32_t code) {
  outl(0xf4, code);
  for (;;) asm volatile("cli; hlt");
}

int g_failed = 0;
void check(bool ok, const char* what) {
  puts(ok ? "ok   " : "FAIL ");
  puts(what);
  putc('\n');
  if (!ok) ++g_failed;
}

// ---- fw_cfg, the legacy I/O port interface (selector 0x510, data 0x511) ----
uint32_t be32(const uint8_t* p) { return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]; }
void fw_read(uint8_t* dst, uint32_t n) { while (n--) *dst++ = inb(0x511); }
bool streq(const char* a, const char* b) { while (*a && *a == *b) { ++a; ++b; } return *a == *b; }

uint32_t load_rom() {
  outw(0x510, 0x19);  // file directory
  uint8_t c[4];
  fw_read(c, 4);
  uint32_t count = be32(c);
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t e[64];
    fw_read(e, 64);
    if (!streq(reinterpret_cast<const char*>(e + 8), pvrom::kFwCfgName)) continue;
    uint32_t size = be32(e);
    outw(0x510, static_cast<uint16_t>(e[4] << 8 | e[5]));
    fw_read(reinterpret_cast<uint8_t*>(pvrom::kLoadAddress), size);
    return size;
  }
  return 0;
}

// ---- calling the ROM in its convention ----
const pvrom::RomHeader* g_hdr;
uint32_t g_addr[80];
uint8_t g_reloc[80];

// Every call goes through five 32-bit argument words: under regparm(3) the first three go
// in eax, edx, ecx and the rest on the stack, a uint64_t taking two words -- which is what
// gcc does for the ROM's prototypes. Each convention has its own noinline function: gcc 12's
// tail merging (-ftree-tail-merge, on at -O2) merges two indirect calls that differ only in
// the callee's convention, so `if (regparm) f_rp(...); else f_cdecl(...);` in one function
// silently becomes one cdecl call.
typedef uint64_t __attribute__((regparm(3))) Regparm3Fn(uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
typedef uint64_t CdeclFn(uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);

[[gnu::noinline]] uint64_t call_regparm3(uint32_t addr, const uint32_t (&w)[5]) {
  return reinterpret_cast<Regparm3Fn*>(addr)(w[0], w[1], w[2], w[3], w[4]);
}
[[gnu::noinline]] uint64_t call_cdecl(uint32_t addr, const uint32_t (&w)[5]) {
  return reinterpret_cast<CdeclFn*>(addr)(w[0], w[1], w[2], w[3], w[4]);
}
uint64_t call_words(uint16_t n, const uint32_t (&w)[5]) {
  if (g_hdr->calling_convention == pvrom::kConvRegparm3) return call_regparm3(g_addr[n], w);
  return call_cdecl(g_addr[n], w);
}

inline void push_word(uint32_t (&w)[5], int& i, uint32_t v) { w[i++] = v; }
inline void push_word(uint32_t (&w)[5], int& i, uint32_t* v) { w[i++] = reinterpret_cast<uint32_t>(v); }
inline void push_word(uint32_t (&w)[5], int& i, uint64_t v) {
  w[i++] = static_cast<uint32_t>(v);
  w[i++] = static_cast<uint32_t>(v >> 32);
}

template <typename R, typename... A>
R call(uint16_t n, A... args) {
  uint32_t w[5] = {};
  [[maybe_unused]] int i = 0;
  (push_word(w, i, args), ...);
  uint64_t r = call_words(n, w);
  if constexpr (!__is_same(R, void)) return static_cast<R>(r);
}
bool offered(uint16_t n) { return g_reloc[n] == pvrom::kRelocCallRel || g_reloc[n] == pvrom::kRelocJumpRel; }

// ---- IDT: the alarm vector, and an int 0x80 that returns through the ROM's IRET ----
struct [[gnu::packed]] IdtEntry { uint16_t lo, sel; uint8_t zero, type; uint16_t hi; };
IdtEntry g_idt[256];

}  // namespace

// Shared with the interrupt stubs below, hence C names at global scope.
extern "C" {
volatile uint32_t g_ticks = 0;
volatile uint32_t g_iret_calls = 0;
uint32_t g_iret_target = 0;  // the ROM's IRET entry
uint8_t g_iret_reloc = 0;    // and how it is bound
void alarm_isr();
void iret_isr();
void alarm_count() {
  g_ticks = g_ticks + 1;
  *reinterpret_cast<volatile uint32_t*>(pvrom::kLapicBase + 0xB0) = 0;  // EOI
}
}

namespace {
asm(".text\nalarm_isr:\n  pushal\n  call alarm_count\n  popal\n  iret\n"
    "iret_isr:\n  incl g_iret_calls\n"
    "  cmpb $2, g_iret_reloc\n  je 1f\n"
    "  call *g_iret_target\n"     // CALL_REL: the ROM discards the return address
    "1:\n  jmp *g_iret_target\n");  // JUMP_REL

void set_gate(int v, void (*fn)()) {
  uint32_t a = reinterpret_cast<uint32_t>(fn);
  uint16_t cs;
  asm volatile("movw %%cs, %0" : "=r"(cs));
  g_idt[v] = IdtEntry{static_cast<uint16_t>(a), cs, 0, 0x8E, static_cast<uint16_t>(a >> 16)};
}
void load_idt() {
  struct [[gnu::packed]] { uint16_t limit; uint32_t base; } d{sizeof g_idt - 1, reinterpret_cast<uint32_t>(g_idt)};
  asm volatile("lidt %0" : : "m"(d));
}

uint64_t counter() {
  uint16_t n = g_hdr->api_major >= 4 ? pvrom::kCallGetCycleCounter4 : pvrom::kCallGetCycleCounter;
  return call<uint64_t>(n);
}

}  // namespace

extern "C" void selftest_main() {
  puts("romselftest\n");
  uint32_t size = load_rom();
  if (!size) { puts("no ROM in fw_cfg\n"); exit_qemu(1); }
  g_hdr = reinterpret_cast<const pvrom::RomHeader*>(pvrom::kLoadAddress);
  uint8_t sum = 0;
  for (uint32_t i = 0; i < size; ++i) sum = static_cast<uint8_t>(sum + reinterpret_cast<uint8_t*>(pvrom::kLoadAddress)[i]);
  puts("ROM "); puts(g_hdr->version_name); puts(" API "); putu(g_hdr->api_major); putc('.'); putu(g_hdr->api_minor); putc('\n');
  check(g_hdr->rom_signature == pvrom::kRomSignature && g_hdr->pvm_signature == pvrom::kPvmSignature &&
        g_hdr->rom_length * 512u == size && sum == 0, "header: signature, length, checksum");
  if (g_failed) exit_qemu(1);

  set_gate(pvrom::kAlarmVector, alarm_isr);
  set_gate(0x80, iret_isr);
  load_idt();

  using InitFn = int32_t (*)(uint32_t);
  using RelocFn = uint64_t (*)(uint32_t);
  auto init = reinterpret_cast<InitFn>(pvrom::kLoadAddress + g_hdr->init_offset);
  auto get_reloc = reinterpret_cast<RelocFn>(pvrom::kLoadAddress + g_hdr->get_reloc_offset);
  check(init(g_hdr->api_major == 3 ? 4 : 3) == pvrom::kErrUnsupported, "init refuses a major it does not serve");
  check(init(g_hdr->api_major) == 0, "init");
  const auto* table = reinterpret_cast<const pvrom::CallEntry*>(pvrom::kLoadAddress + g_hdr->call_table_offset);
  bool table_ok = true;
  for (uint16_t n = 0; n < 80; ++n) {
    uint64_t r = get_reloc(n);
    g_reloc[n] = static_cast<uint8_t>(r);
    g_addr[n] = static_cast<uint32_t>(r >> 32);
    bool in_table = false;
    for (uint32_t i = 0; i < g_hdr->call_count; ++i)
      if (table[i].number == n) {
        in_table = true;
        table_ok = table_ok && table[i].reloc == g_reloc[n] &&
                   (table[i].offset ? table[i].offset + pvrom::kLoadAddress : 0) == g_addr[n];
      }
    table_ok = table_ok && (in_table || g_reloc[n] == pvrom::kRelocNone);
  }
  check(table_ok, "get_reloc agrees with the call table");

  if (g_hdr->api_major >= 4) {
    check(offered(pvrom::kCallGetFeatures), "API 4 offers GetFeatures");
    check(call<uint32_t>(pvrom::kCallGetFeatures) == g_hdr->features, "GetFeatures = header features");
  } else if (offered(pvrom::kCallGetFeatures)) {
    check(call<uint32_t>(pvrom::kCallGetFeatures) == g_hdr->features, "GetFeatures = header features");
  }

  uint32_t regs[4] = {};
  call<void>(pvrom::kCallCpuid, uint32_t{0}, regs);
  puts("     cpuid 0: "); putu(regs[0]); putc(' '); putu(regs[1]); putc('\n');
  check(regs[0] >= 1 && regs[1] != 0, "Cpuid leaf 0");
  uint32_t cr3 = call<uint32_t>(pvrom::kCallGetCR3);
  call<void>(pvrom::kCallSetCR3, cr3);
  puts("     cr3 "); putu(cr3); puts(" -> "); putu(call<uint32_t>(pvrom::kCallGetCR3)); putc('\n');
  check(call<uint32_t>(pvrom::kCallGetCR3) == cr3, "Get/SetCR3");
  call<void>(pvrom::kCallDisableInterrupts);
  bool off = !(call<uint32_t>(pvrom::kCallGetInterruptMask) & 0x200);
  call<void>(pvrom::kCallEnableInterrupts);
  bool on = call<uint32_t>(pvrom::kCallGetInterruptMask) & 0x200;
  call<void>(pvrom::kCallSetInterruptMask, uint32_t{0});
  bool off2 = !(call<uint32_t>(pvrom::kCallGetInterruptMask) & 0x200);
  call<void>(pvrom::kCallSetInterruptMask, uint32_t{0x202});
  check(off && on && off2 && (call<uint32_t>(pvrom::kCallGetInterruptMask) & 0x200), "interrupt enable/disable/mask");

  // IRET through the ROM, honoring its reloc.
  g_iret_reloc = g_reloc[pvrom::kCallIret];
  g_iret_target = g_addr[pvrom::kCallIret];
  asm volatile("int $0x80" ::: "memory");
  asm volatile("int $0x80" ::: "memory");
  check(g_iret_calls == 2, g_reloc[pvrom::kCallIret] == pvrom::kRelocJumpRel ? "IRET (JUMP_REL)" : "IRET (CALL_REL)");

  if (offered(pvrom::kCallSetLazyMode)) {
    volatile uint32_t pxe = 1;
    call<void>(pvrom::kCallSetLazyMode, uint32_t{pvrom::kLazyMmu});
    call<void>(pvrom::kCallSetPxE, const_cast<uint32_t*>(&pxe), uint32_t{5});
    bool deferred = pxe == 1;
    call<void>(pvrom::kCallFlushTLB);
    bool applied = pxe == 5;
    call<void>(pvrom::kCallSetPxE, const_cast<uint32_t*>(&pxe), uint32_t{6});
    call<void>(pvrom::kCallSetLazyMode, uint32_t{pvrom::kLazyNone});
    bool applied_on_leave = pxe == 6;
    static volatile uint32_t many[200];
    call<void>(pvrom::kCallSetLazyMode, uint32_t{pvrom::kLazyMmu});
    for (uint32_t i = 0; i < 200; ++i) call<void>(pvrom::kCallSetPxE, const_cast<uint32_t*>(&many[i]), i + 1);
    call<void>(pvrom::kCallSetLazyMode, uint32_t{pvrom::kLazyNone});
    bool none_lost = true;
    for (uint32_t i = 0; i < 200; ++i) none_lost = none_lost && many[i] == i + 1;
    bool defers = g_hdr->features & pvrom::kFeatureLazyDefers;
    check(deferred == defers && applied && applied_on_leave && none_lost,
          defers ? "lazy MMU defers SetPxE until FlushTLB/leave, none lost" : "lazy MMU applies at once");
  }

  if (offered(pvrom::kCallGetCycleFrequency)) {
    uint64_t hz = call<uint64_t>(pvrom::kCallGetCycleFrequency);
    puts("     cycle frequency "); putu(hz); puts(" Hz\n");
    check(hz >= 100000000 && hz <= 10000000000ull, "GetCycleFrequency plausible");
    uint64_t prev = counter();
    int back = 0;
    int64_t worst = 0;
    for (int i = 0; i < 1000; ++i) {
      uint64_t now = counter();
      if (now < prev) { ++back; if (static_cast<int64_t>(prev - now) > worst) worst = static_cast<int64_t>(prev - now); }
      prev = now;
    }
    puts("     counter stepped back "); puti(back); puts(" times, at most "); puti(worst); puts(" cycles\n");
    bool quirk = g_hdr->version_name[0] && streq(g_hdr->version_name, "rom-1.13.1");
    check(quirk ? (back > 0 && worst <= 2000) : back == 0, quirk ? "counter steps back (quirk)" : "counter monotonic");
    if (g_hdr->api_major >= 4) {
      uint64_t a = call<uint64_t>(pvrom::kCallGetCycleCounter);
      for (int i = 0; i < 100000; ++i) asm volatile("");
      uint64_t b = call<uint64_t>(pvrom::kCallGetCycleCounter);
      check(b > a && a < 10000000000ull, "call 67 = ns since init (API 4)");
    }
    // Periodic alarm: 1 ms period, wait for 3 ticks.
    g_ticks = 0;
    int32_t r = call<int32_t>(pvrom::kCallSetAlarm, uint32_t{pvrom::kAlarmPeriodic}, counter() + hz / 1000, hz / 1000);
    for (int i = 0; i < 100 && g_ticks < 3; ++i) call<void>(pvrom::kCallSafeHalt);
    call<int32_t>(pvrom::kCallCancelAlarm);
    check(r == 0 && g_ticks >= 3, "periodic alarm ticks");
    // One-shot alarm: 2 ms from now.
    g_ticks = 0;
    uint64_t t0 = counter();
    r = call<int32_t>(pvrom::kCallSetAlarm, uint32_t{pvrom::kAlarmOneShot}, t0 + hz / 500, uint64_t{0});
    bool has_oneshot = g_hdr->features & pvrom::kFeatureOneShotAlarm;
    if (has_oneshot) {
      for (int i = 0; i < 100 && g_ticks == 0; ++i) call<void>(pvrom::kCallSafeHalt);
      uint64_t waited = counter() - t0;
      for (int i = 0; i < 200000; ++i) asm volatile("");
      puts("     one-shot fired after "); putu(waited); puts(" cycles\n");
      check(r == 0 && g_ticks == 1 && waited >= hz / 500 - 1000, "one-shot alarm fires once, not early");
    } else {
      check(r == pvrom::kErrUnsupported, "one-shot alarm refused (periodic only)");
    }
  }
  if (offered(pvrom::kCallGetWallclockTime)) {
    uint64_t ns = call<uint64_t>(pvrom::kCallGetWallclockTime);
    puts("     wallclock "); putu(ns / 1000000000ull); puts(" s since epoch\n");
    check(ns > 1600000000ull * 1000000000ull && ns < 4000000000ull * 1000000000ull, "GetWallclockTime plausible");
  }
  puts(g_failed ? "romselftest: FAILED\n" : "romselftest: all ok\n");
  call<void>(pvrom::kCallShutdown, uint32_t(g_failed ? 1 : 0));
  exit_qemu(3);  // Shutdown returned
}
