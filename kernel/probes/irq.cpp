// irq.*: the irq op group and the IRET path.
#include <pvrom/abi.h>

#include "arch/cpu.h"
#include "arch/pic.h"
#include "arch/pit.h"
#include "arch/x86.h"
#include "time/events.h"
#include "arch/lapic.h"
#include "lib/format.h"
#include "probes/probe.h"
#include "pv/pvops.h"
#include "pv/xen.h"
#include "time/clock.h"

namespace probes {
namespace {

constexpr uint8_t kTestVector = 0x80;
constexpr uint32_t kFrameStamp = 0x600D0000;  // the handler XORs it into the frame's eax
constexpr uint32_t kTickDivisor = 1193;       // ~1 kHz PIT ticks wake the halts

volatile uint32_t test_interrupts = 0;
volatile uint32_t ticks = 0;

void test_vector_handler(cpu::Frame& f) {
  test_interrupts = test_interrupts + 1;
  f.eax ^= kFrameStamp;
}

void tick() { ticks = ticks + 1; }

bool interrupts_on() { return x86::read_eflags() & x86::kFlagsIF; }
template <typename F>
bool is_rom(F op, F native) { return op != native; }
const char* via(bool rom) { return rom ? (xen::active() ? "Xen" : "the ROM") : "native"; }

void save_restore_probe(Stage& s) {
  const auto& n = pv::native_ops().irq;
  bool rom = is_rom(pv::ops.irq.save_fl, n.save_fl) || is_rom(pv::ops.irq.restore_fl, n.restore_fl);
  int bad = 0;
  Text<200> d;
  for (int round = 0; round < 2; ++round) {
    bool start_on = round == 0;
    start_on ? x86::sti() : x86::cli();
    uint32_t flags = pv::ops.irq.save_fl();
    bool saved_ok = bool(flags & x86::kFlagsIF) == start_on;
    start_on ? pv::ops.irq.irq_disable() : pv::ops.irq.irq_enable();
    bool flipped = interrupts_on() != start_on;
    pv::ops.irq.restore_fl(flags);
    bool restored = interrupts_on() == start_on;
    x86::cli();
    if (!saved_ok || !flipped || !restored) {
      ++bad;
      d.add("from IF=%d: save_fl IF=%d, flip %s, restore %s; ", start_on, bool(flags & x86::kFlagsIF),
            flipped ? "ok" : "lost", restored ? "ok" : "lost");
    }
  }
  if (!bad) d.add("save_fl/restore_fl via %s round-trip IF=1 and IF=0", via(rom));
  s.report("irq.save_restore", bad == 0, d.c_str(),
           rom ? (is_rom(pv::ops.irq.restore_fl, n.restore_fl) ? pvrom::kCallSetInterruptMask
                                                              : pvrom::kCallGetInterruptMask)
               : kNoCall);
}

void enable_disable_probe(Stage& s) {
  const auto& n = pv::native_ops().irq;
  bool rom = is_rom(pv::ops.irq.irq_enable, n.irq_enable) || is_rom(pv::ops.irq.irq_disable, n.irq_disable);
  bool enable_ok = true, disable_ok = true;
  for (int i = 0; i < 3; ++i) {
    pv::ops.irq.irq_enable();
    enable_ok &= interrupts_on();
    pv::ops.irq.irq_disable();
    disable_ok &= !interrupts_on();
  }
  x86::cli();
  Text<160> d;
  d.add("irq_enable/irq_disable via %s: sti %s, cli %s (3 rounds)", via(rom), enable_ok ? "ok" : "left IF=0",
        disable_ok ? "ok" : "left IF=1");
  s.report("irq.enable_disable", enable_ok && disable_ok, d.c_str(),
           !enable_ok && rom ? pvrom::kCallEnableInterrupts : (rom ? pvrom::kCallDisableInterrupts : kNoCall));
}

const char* iret_path() {
  if (pv_iret_target == reinterpret_cast<uint32_t>(native_iret)) return "native iret";
  return pv_iret_by_call ? "the ROM's IRET (CALL_REL)" : "the ROM's IRET (JUMP_REL)";
}

void iret_probe(Stage& s) {
  cpu::set_handler(kTestVector, test_vector_handler);
  test_interrupts = 0;
  bool regs_ok = true, flags_ok = true;
  for (int round = 0; round < 2; ++round) {
    bool start_on = round == 1;
    start_on ? x86::sti() : x86::cli();
    uint32_t eax = 0x1111, ebx = 0xB0B0CAFE, esi = 0x5151, edi = 0xD1D1;
    asm volatile("int $0x80" : "+a"(eax), "+b"(ebx), "+S"(esi), "+D"(edi)::"memory", "cc");
    bool on = interrupts_on();
    x86::cli();
    regs_ok &= eax == (0x1111 ^ kFrameStamp) && ebx == 0xB0B0CAFE && esi == 0x5151 && edi == 0xD1D1;
    flags_ok &= on == start_on;
  }
  bool ok = test_interrupts == 2 && regs_ok && flags_ok;
  Text<200> d;
  d.add("int $0x80 x%u returned through %s: registers %s, IF %s", static_cast<unsigned>(test_interrupts), iret_path(),
        regs_ok ? "from the frame" : "CORRUPTED", flags_ok ? "restored both ways" : "NOT restored");
  bool rom = pv_iret_target != reinterpret_cast<uint32_t>(native_iret);
  s.report("irq.iret", ok, d.c_str(), rom ? pvrom::kCallIret : kNoCall);
}

void lapic_tick(cpu::Frame&) {
  tick();
  lapic::eoi();
}

void halt_probes(Stage& s) {
  const auto& n = pv::native_ops().irq;
  // Without a PIT (Xen PVH) the wake-up ticks come from the LAPIC timer, 1 ms apart.
  const bool pit = events::has_pit();
  const char* source = pit ? "PIT IRQ 0 at ~1 kHz" : "LAPIC timer at 1 kHz";
  if (pit) {
    pic::set_handler(pit::kIrq, tick);
    pit::start_periodic(kTickDivisor);
  } else {
    cpu::set_handler(lapic::kHeartbeatVector, lapic_tick);
    lapic::start_timer_periodic(lapic::kHeartbeatVector, static_cast<uint32_t>(lapic::bus_hz() / 1000));
  }

  {  // halt: hlt with IF as the caller left it (enabled)
    bool rom = is_rom(pv::ops.irq.halt, n.halt);
    x86::cli();
    uint32_t before = ticks;
    uint64_t t0 = x86::rdtsc();
    pv::ops.irq.irq_enable();
    pv::ops.irq.halt();
    pv::ops.irq.irq_disable();
    uint64_t us = (x86::rdtsc() - t0) * 1000000 / clock::tsc_hz();
    bool woke = ticks != before;
    Text<160> d;
    d.add("halt via %s %s after %u us (%s)", via(rom),
          woke ? "woken by an interrupt" : "returned WITHOUT an interrupt", static_cast<unsigned>(us), source);
    s.report("irq.halt", woke && us < 5000, d.c_str(), rom ? pvrom::kCallHalt : kNoCall);
  }
  {  // safe_halt: sti; hlt atomically from IF=0, returns with IF=1
    bool rom = is_rom(pv::ops.irq.safe_halt, n.safe_halt);
    x86::cli();
    uint32_t before = ticks;
    uint64_t t0 = x86::rdtsc();
    pv::ops.irq.safe_halt();
    bool on = interrupts_on();
    x86::cli();
    uint64_t us = (x86::rdtsc() - t0) * 1000000 / clock::tsc_hz();
    bool woke = ticks != before;
    Text<160> d;
    d.add("safe_halt via %s %s after %u us, IF=%d after", via(rom),
          woke ? "woken by an interrupt" : "returned WITHOUT an interrupt", static_cast<unsigned>(us), on);
    s.report("irq.safe_halt", woke && on && us < 5000, d.c_str(), rom ? pvrom::kCallSafeHalt : kNoCall);
  }
  if (pit) {
    pit::stop();
    pic::mask(pit::kIrq);
  } else {
    lapic::stop_timer();
  }
  x86::cli();
}

}  // namespace

void run_irq(Stage& s) {
  x86::cli();
  save_restore_probe(s);
  enable_disable_probe(s);
  iret_probe(s);
  halt_probes(s);
}

}  // namespace probes
