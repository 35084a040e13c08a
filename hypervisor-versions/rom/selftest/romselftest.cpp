// romselftest: a tiny multiboot guest that loads the ROM from fw_cfg (opt/pvmatrix/rom),
// binds it through get_reloc and exercises every call the ROM offers. It speaks the harness's
// serial protocol (docs/contracts.md): hello, an hv record naming what it bound, one probe record
// per check (ids rom.*), stage records, done; then Shutdown through the ROM with 0 (all ok) or 1.
// It is the ROM's own test, independent of the reference kernel, and a kernel of the world
// (build/images/kernel-romselftest.elf): the nightly boots it on every rom column, so the gate
// boots it for every ROM change.
//   qemu-system-i386 -machine microvm ... -kernel kernel-romselftest.elf -fw_cfg name=opt/pvmatrix/rom,file=X.rom
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
// A JSON string: quotes, backslashes and control characters escaped.
void putjs(const char* s) {
  putc('"');
  for (; *s; ++s) {
    if (*s == '"' || *s == '\\') { putc('\\'); putc(*s); }
    else if (static_cast<unsigned char>(*s) < 0x20) putc(' ');
    else putc(*s);
  }
  putc('"');
}

[[noreturn]] void exit_qemu(uint32_t code) {
  outl(0xf4, code);
  for (;;) asm volatile("cli; hlt");
}

// ---- records (docs/contracts.md "Serial protocol") ----
int g_failed = 0, g_passed = 0;
void stage(const char* name, const char* status) {
  puts("@pvm {\"ev\":\"stage\",\"name\":"); putjs(name); puts(",\"status\":"); putjs(status); puts("}\n");
}
// One probe record: `id` is stable (rom.*), `what` says what was checked.
void check(bool ok, const char* id, const char* what) {
  puts("@pvm {\"ev\":\"probe\",\"id\":"); putjs(id); puts(",\"status\":"); putjs(ok ? "pass" : "fail");
  puts(",\"detail\":"); putjs(what); puts("}\n");
  if (ok) ++g_passed; else ++g_failed;
}
void done() {
  puts("@pvm {\"ev\":\"done\",\"pass\":"); putu(g_passed); puts(",\"fail\":"); putu(g_failed); puts(",\"skip\":0}\n");
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

// ---- register preservation: ROM calls keep ebx, esi, edi, ebp (README "Calling conventions") ----
// uint32_t preserves(uint32_t addr, uint32_t regparm, uint32_t arg): calls the ROM entry at
// `addr` with one argument word (eax under regparm3, the stack under cdecl) and sentinels in
// ebx, esi, edi, ebp; returns a bitmask of those that changed (1 ebx, 2 esi, 4 edi, 8 ebp).
extern "C" uint32_t preserves(uint32_t addr, uint32_t regparm, uint32_t arg);
asm(".text\npreserves:\n"
    "  pushl %ebp\n  pushl %ebx\n  pushl %esi\n  pushl %edi\n"
    "  movl 20(%esp), %ecx\n  movl 24(%esp), %edx\n  movl 28(%esp), %eax\n"
    "  movl $0x5eb1c0de, %ebx\n  movl $0x51c0ffee, %esi\n  movl $0xd1feed00, %edi\n  movl $0xb0bacafe, %ebp\n"
    "  testl %edx, %edx\n  jz 1f\n"
    "  xorl %edx, %edx\n  pushl $0\n  call *%ecx\n  addl $4, %esp\n  jmp 2f\n"   // regparm3: arg in eax
    "1:\n  pushl %eax\n  call *%ecx\n  addl $4, %esp\n"                       // cdecl: arg on the stack
    "2:\n  xorl %eax, %eax\n"
    "  cmpl $0x5eb1c0de, %ebx\n  je 3f\n  orl $1, %eax\n3:\n"
    "  cmpl $0x51c0ffee, %esi\n  je 4f\n  orl $2, %eax\n4:\n"
    "  cmpl $0xd1feed00, %edi\n  je 5f\n  orl $4, %eax\n5:\n"
    "  cmpl $0xb0bacafe, %ebp\n  je 6f\n  orl $8, %eax\n6:\n"
    "  popl %edi\n  popl %esi\n  popl %ebx\n  popl %ebp\n  ret\n");

namespace {

const char* kNo[] = {"", "ebx", "esi", "ebx esi", "edi", "ebx edi", "esi edi", "ebx esi edi", "ebp", "ebx ebp",
                     "esi ebp", "ebx esi ebp", "edi ebp", "ebx edi ebp", "esi edi ebp", "ebx esi edi ebp"};

void hv_record() {
  puts("@pvm {\"ev\":\"hv\",\"family\":\"rom\",\"name\":"); putjs(g_hdr->version_name); puts(",\"api\":\"");
  putu(g_hdr->api_major); putc('.'); putu(g_hdr->api_minor); puts("\",\"features\":[");
  bool first = true;
  for (const pvrom::FeatureName& f : pvrom::kFeatureNames)
    if (g_hdr->features & f.bit) {
      if (!first) putc(',');
      putjs(f.name);
      first = false;
    }
  // What the selftest exercises through the ROM, as the kernel would bind it.
  auto on = [](uint16_t n) { return offered(n) ? "\"rom\"" : "\"native\""; };
  puts("],\"binding\":{\"cpu\":\"rom\",\"irq\":\"rom\",\"mmu\":"); puts(on(pvrom::kCallSetPxE));
  puts(",\"timer\":"); puts(on(pvrom::kCallSetAlarm)); puts(",\"lazy\":"); puts(on(pvrom::kCallSetLazyMode)); puts("}}\n");
}

}  // namespace

extern "C" void selftest_main() {
  puts("@pvm {\"v\":1,\"ev\":\"hello\",\"kernel\":\"romselftest\",\"build\":\"selftest\",\"cmdline\":\"\"}\n");
  stage("rom", "begin");
  uint32_t size = load_rom();
  if (!size) {
    puts("@pvm {\"ev\":\"hv\",\"family\":\"none\",\"binding\":{}}\n");
    check(false, "rom.header", "no ROM in fw_cfg (opt/pvmatrix/rom)");
    stage("rom", "fail");
    done();
    exit_qemu(1);
  }
  g_hdr = reinterpret_cast<const pvrom::RomHeader*>(pvrom::kLoadAddress);
  uint8_t sum = 0;
  for (uint32_t i = 0; i < size; ++i) sum = static_cast<uint8_t>(sum + reinterpret_cast<uint8_t*>(pvrom::kLoadAddress)[i]);
  check(g_hdr->rom_signature == pvrom::kRomSignature && g_hdr->pvm_signature == pvrom::kPvmSignature &&
        g_hdr->rom_length * 512u == size && sum == 0, "rom.header", "header: signature, length, checksum");
  if (g_failed) {
    stage("rom", "fail");
    done();
    exit_qemu(1);
  }

  set_gate(pvrom::kAlarmVector, alarm_isr);
  set_gate(0x80, iret_isr);
  load_idt();

  using InitFn = int32_t (*)(uint32_t);
  using RelocFn = uint64_t (*)(uint32_t);
  auto init = reinterpret_cast<InitFn>(pvrom::kLoadAddress + g_hdr->init_offset);
  auto get_reloc = reinterpret_cast<RelocFn>(pvrom::kLoadAddress + g_hdr->get_reloc_offset);
  check(init(g_hdr->api_major == 3 ? 4 : 3) == pvrom::kErrUnsupported, "rom.init_refuses",
        "init refuses a major it does not serve (-38)");
  check(init(g_hdr->api_major) == 0, "rom.init", "init with the ROM's own major returns 0");
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
  check(table_ok, "rom.get_reloc", "get_reloc agrees with the call table for calls 0..79");
  hv_record();
  stage("rom", g_failed ? "fail" : "ok");

  stage("cpu", "begin");
  if (g_hdr->api_major >= 4) {
    check(offered(pvrom::kCallGetFeatures) && call<uint32_t>(pvrom::kCallGetFeatures) == g_hdr->features,
          "rom.get_features", "API 4 offers GetFeatures(75), = the header's features");
  } else if (offered(pvrom::kCallGetFeatures)) {
    check(call<uint32_t>(pvrom::kCallGetFeatures) == g_hdr->features, "rom.get_features",
          "GetFeatures(75) = the header's features");
  }
  uint32_t regs[4] = {};
  call<void>(pvrom::kCallCpuid, uint32_t{0}, regs);
  check(regs[0] >= 1 && regs[1] != 0, "rom.cpuid", "Cpuid(0) leaf 0: max leaf >= 1, a vendor");
  uint32_t cr3 = call<uint32_t>(pvrom::kCallGetCR3);
  call<void>(pvrom::kCallSetCR3, cr3);
  check(call<uint32_t>(pvrom::kCallGetCR3) == cr3, "rom.cr3", "GetCR3(21) after SetCR3(17) reads it back");
  // Register preservation, in the ROM's convention, over every call that takes at most one
  // word and returns at once.
  {
    const uint32_t regparm = g_hdr->calling_convention == pvrom::kConvRegparm3;
    struct { uint16_t n; uint32_t arg; } calls[] = {
        {pvrom::kCallGetCR3, 0}, {pvrom::kCallSetCR3, cr3}, {pvrom::kCallGetInterruptMask, 0},
        {pvrom::kCallDisableInterrupts, 0}, {pvrom::kCallEnableInterrupts, 0}, {pvrom::kCallSetInterruptMask, 0x202},
        {pvrom::kCallGetCycleFrequency, 0}, {pvrom::kCallGetCycleCounter, 0}, {pvrom::kCallGetCycleCounter4, 0},
        {pvrom::kCallCancelAlarm, 0}, {pvrom::kCallGetWallclockTime, 0}, {pvrom::kCallSetLazyMode, 0},
        {pvrom::kCallFlushTLB, 0}, {pvrom::kCallGetFeatures, 0}};
    uint32_t bad = 0, tried = 0;
    uint16_t first_bad = 0;
    for (const auto& c : calls) {
      if (g_reloc[c.n] != pvrom::kRelocCallRel) continue;
      ++tried;
      uint32_t m = preserves(g_addr[c.n], regparm, c.arg);
      if (m && !bad) first_bad = c.n;
      bad |= m;
    }
    call<void>(pvrom::kCallSetInterruptMask, uint32_t{0x202});
    if (!bad) {
      check(tried > 3, "rom.preserves_registers", "every call tried keeps ebx esi edi ebp");
    } else {
      static char what[96];
      char* w = what;
      auto add = [&w](const char* t) { while (*t && w < what + sizeof what - 1) *w++ = *t++; };
      char num[4] = {static_cast<char>('0' + first_bad / 10), static_cast<char>('0' + first_bad % 10), 0, 0};
      add("call ");
      add(first_bad < 10 ? num + 1 : num);
      add(" (and perhaps others) changed ");
      add(kNo[bad & 15]);
      add(", which the convention preserves");
      *w = 0;
      check(false, "rom.preserves_registers", what);
    }
  }
  stage("cpu", g_failed ? "fail" : "ok");

  stage("irq", "begin");
  call<void>(pvrom::kCallDisableInterrupts);
  bool off = !(call<uint32_t>(pvrom::kCallGetInterruptMask) & 0x200);
  call<void>(pvrom::kCallEnableInterrupts);
  bool on = call<uint32_t>(pvrom::kCallGetInterruptMask) & 0x200;
  call<void>(pvrom::kCallSetInterruptMask, uint32_t{0});
  bool off2 = !(call<uint32_t>(pvrom::kCallGetInterruptMask) & 0x200);
  call<void>(pvrom::kCallSetInterruptMask, uint32_t{0x202});
  check(off && on && off2 && (call<uint32_t>(pvrom::kCallGetInterruptMask) & 0x200), "rom.interrupts",
        "DisableInterrupts(30) clears IF, EnableInterrupts(29) sets it, SetInterruptMask(32) restores it, GetInterruptMask(31) reads it");
  // IRET through the ROM, honoring its reloc.
  g_iret_reloc = g_reloc[pvrom::kCallIret];
  g_iret_target = g_addr[pvrom::kCallIret];
  asm volatile("int $0x80" ::: "memory");
  asm volatile("int $0x80" ::: "memory");
  check(g_iret_calls == 2, "rom.iret",
        g_reloc[pvrom::kCallIret] == pvrom::kRelocJumpRel ? "Iret(33) JUMP_REL returns from two interrupts"
                                                           : "Iret(33) CALL_REL returns from two interrupts");
  stage("irq", g_failed ? "fail" : "ok");

  stage("mmu", "begin");
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
    check(deferred == defers && applied && applied_on_leave && none_lost, "rom.lazy_mmu",
          defers ? "lazy MMU defers SetPxE(38) until FlushTLB(47) / leaving lazy mode, 200 queued, none lost, in order"
                 : "lazy MMU applies SetPxE(38) at once");
  }
  stage("mmu", g_failed ? "fail" : "ok");

  stage("timer", "begin");
  if (offered(pvrom::kCallGetCycleFrequency)) {
    uint64_t hz = call<uint64_t>(pvrom::kCallGetCycleFrequency);
    check(hz >= 100000000 && hz <= 10000000000ull && hz % 1000000 == 0, "rom.cycle_frequency",
          "GetCycleFrequency(66) plausible (0.1-10 GHz), rounded to MHz");
    uint64_t prev = counter();
    int back = 0;
    int64_t worst = 0;
    for (int i = 0; i < 1000; ++i) {
      uint64_t now = counter();
      if (now < prev) { ++back; if (static_cast<int64_t>(prev - now) > worst) worst = static_cast<int64_t>(prev - now); }
      prev = now;
    }
    bool quirk = g_hdr->version_name[0] && streq(g_hdr->version_name, "rom-1.13.1");
    check(quirk ? (back > 0 && worst <= 2000) : back == 0, "rom.counter",
          quirk ? "the cycle counter steps back by at most 2000 cycles (quirk counter_steps_back)"
                : "the cycle counter never goes back in 1000 reads");
    if (g_hdr->api_major >= 4) {
      uint64_t a = call<uint64_t>(pvrom::kCallGetCycleCounter);
      for (int i = 0; i < 100000; ++i) asm volatile("");
      uint64_t b = call<uint64_t>(pvrom::kCallGetCycleCounter);
      check(b > a && a < 10000000000ull, "rom.ns_since_init", "call 67 = ns since init on API 4, increasing");
    }
    // Periodic alarm: 1 ms period, wait for 3 ticks.
    g_ticks = 0;
    int32_t r = call<int32_t>(pvrom::kCallSetAlarm, uint32_t{pvrom::kAlarmPeriodic}, counter() + hz / 1000, hz / 1000);
    for (int i = 0; i < 100 && g_ticks < 3; ++i) call<void>(pvrom::kCallSafeHalt);
    // Halt (1.x): returns after the next tick, IF as the caller left it (on).
    if (offered(pvrom::kCallHalt)) {
      uint32_t before = g_ticks;
      call<void>(pvrom::kCallHalt);
      check(g_ticks > before && (call<uint32_t>(pvrom::kCallGetInterruptMask) & 0x200), "rom.halt",
            "Halt(35) returns after an interrupt, IF still set");
    }
    check(call<int32_t>(pvrom::kCallSetAlarm, uint32_t{pvrom::kAlarmPeriodic}, uint64_t{0}, uint64_t{0}) ==
              pvrom::kErrUnsupported,
          "rom.alarm_bad_args", "SetAlarm(68) refuses a periodic alarm of period 0 (-38)");
    int32_t c = call<int32_t>(pvrom::kCallCancelAlarm);
    uint32_t at_cancel = g_ticks;
    for (int i = 0; i < 300000; ++i) asm volatile("");
    check(r == 0 && at_cancel >= 3, "rom.alarm_periodic", "SetAlarm(68) periodic 1 ms: >= 3 ticks, each on vector 0xEF");
    check(c == 0 && g_ticks == at_cancel, "rom.cancel_alarm", "CancelAlarm(69) returns 0 and no tick follows");
    // One-shot alarm: 2 ms from now.
    g_ticks = 0;
    uint64_t t0 = counter();
    r = call<int32_t>(pvrom::kCallSetAlarm, uint32_t{pvrom::kAlarmOneShot}, t0 + hz / 500, uint64_t{0});
    bool has_oneshot = g_hdr->features & pvrom::kFeatureOneShotAlarm;
    if (has_oneshot) {
      for (int i = 0; i < 100 && g_ticks == 0; ++i) call<void>(pvrom::kCallSafeHalt);
      uint64_t waited = counter() - t0;
      for (int i = 0; i < 200000; ++i) asm volatile("");
      check(r == 0 && g_ticks == 1 && waited >= hz / 500 - 1000, "rom.alarm_oneshot",
            "SetAlarm(68) one-shot 2 ms ahead fires once, not early");
    } else {
      check(r == pvrom::kErrUnsupported, "rom.alarm_oneshot", "SetAlarm(68) refuses one-shot (-38): periodic only");
    }
  }
  if (offered(pvrom::kCallGetWallclockTime)) {
    uint64_t ns = call<uint64_t>(pvrom::kCallGetWallclockTime);
    check(ns > 1600000000ull * 1000000000ull && ns < 4000000000ull * 1000000000ull && ns % 1000000000ull == 0,
          "rom.wallclock", "GetWallclockTime(70): ns since the epoch, plausible, whole seconds (CMOS RTC)");
  }
  stage("timer", g_failed ? "fail" : "ok");
  stage("shutdown", "begin");
  stage("shutdown", "ok");
  done();
  call<void>(pvrom::kCallShutdown, uint32_t(g_failed ? 1 : 0));
  exit_qemu(3);  // Shutdown returned
}
