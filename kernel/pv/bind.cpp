#include "pv/bind.h"

#include "lib/format.h"
#include "lib/string.h"
#include "pv/rom_calls.h"
#include "release.h"

namespace pv {
namespace {

void nop_void() {}
void nop_u32(uint32_t) {}
void nop_pte(uint32_t*, uint32_t) {}

void append(char* buf, size_t cap, const char* fmt, unsigned a, unsigned b = 0) {
  size_t used = strlen(buf);
  if (used && used + 2 < cap) {
    buf[used++] = ';';
    buf[used++] = ' ';
    buf[used] = '\0';
  }
  format(buf + used, cap - used, fmt, a, b);
}

class Binder {
 public:
  Binder(const Rom& rom, Binding& out) : rom_(rom), out_(out) {}

  /// Asks get_reloc about `call` and checks the answer against the header's call table.
  /// Returns the entry address for CALL_REL/JUMP_REL (0 otherwise) and the reloc type.
  uint32_t ask(uint16_t call, uint8_t* reloc) {
    uint64_t r = rom_get_reloc(call);
    *reloc = static_cast<uint8_t>(r);
    uint32_t address = static_cast<uint32_t>(r >> 32);
    check_table(call, static_cast<uint32_t>(r), address);
    if (*reloc == pvrom::kRelocCallRel || *reloc == pvrom::kRelocJumpRel) {
      if (address < pvrom::kLoadAddress + sizeof(pvrom::RomHeader) || address >= pvrom::kLoadAddress + rom_.image_size) {
        append(out_.problems, sizeof out_.problems, "call %u: entry 0x%08x outside the ROM, kept native", call, address);
        *reloc = pvrom::kRelocNone;
        return 0;
      }
    } else if (*reloc != pvrom::kRelocNone && *reloc != pvrom::kRelocNop) {
      append(out_.problems, sizeof out_.problems, "call %u: unknown reloc type %u, kept native", call, *reloc);
      *reloc = pvrom::kRelocNone;
    }
    return address;
  }

  /// Binds one C-function op: CALL_REL -> the trampoline, NOP -> nop (when the op has no
  /// result; a value-returning op cannot be a no-op and stays native), NONE -> native.
  /// It counts for the call's op group, read from pvrom/calls.h at compile time (the table
  /// itself is not linked into the kernel).
  template <uint16_t Call, typename F>
  void op(F& slot, F trampoline, F nop = nullptr) {
    constexpr Group g = pvrom::call_group(Call);
    static_assert(g != Group::kNone, "a bound call serves an op group");
    op(g, Call, slot, trampoline, nop);
  }

  /// The same for a call number known only at run time, in group `g`.
  template <typename F>
  void op(Group g, uint16_t call, F& slot, F trampoline, F nop = nullptr) {
    uint8_t reloc;
    uint32_t address = ask(call, &reloc);
    switch (reloc) {
      case pvrom::kRelocCallRel:
        rom_calls_set(call, address);
        slot = trampoline;
        bound(g);
        break;
      case pvrom::kRelocNop:
        if (nop) {
          slot = nop;
          bound(g);
          append(out_.notes, sizeof out_.notes, "call %u is a NOP", call);
        } else {
          append(out_.problems, sizeof out_.problems, "call %u: NOP for an op with a result, kept native", call);
        }
        break;
      case pvrom::kRelocJumpRel:
        append(out_.problems, sizeof out_.problems, "call %u: JUMP_REL for an op that returns, kept native", call);
        break;
      default:
        break;
    }
  }

  static constexpr Group kIretGroup = pvrom::call_group(pvrom::kCallIret);

  /// IRET: JUMP_REL -> the return path jumps to the ROM with the frame on top; CALL_REL -> it
  /// calls (the ROM drops the return address); NONE/NOP -> native iret.
  void iret() {
    uint8_t reloc;
    uint32_t address = ask(pvrom::kCallIret, &reloc);
    out_.iret_reloc = reloc;
    if (reloc == pvrom::kRelocJumpRel || reloc == pvrom::kRelocCallRel) {
      asm volatile("" ::: "memory");
      pv_iret_by_call = reloc == pvrom::kRelocCallRel;
      pv_iret_target = address;
      bound(kIretGroup);
    } else if (reloc == pvrom::kRelocNop) {
      out_.iret_reloc = pvrom::kRelocNone;
      append(out_.problems, sizeof out_.problems, "call %u: NOP for IRET, kept native", pvrom::kCallIret);
    }
  }

 private:
  void bound(Group g) {
    out_.rom[static_cast<int>(g)] = true;
    ++out_.calls_bound;
  }

  /// get_reloc(number) must answer exactly the header's call table row (pvrom/abi.h).
  void check_table(uint16_t call, uint32_t reloc, uint32_t address) {
    const auto* h = rom_.header;
    const auto* table = reinterpret_cast<const pvrom::CallEntry*>(pvrom::kLoadAddress + h->call_table_offset);
    uint32_t want_reloc = pvrom::kRelocNone, want_address = 0;
    for (uint32_t i = 0; i < h->call_count; ++i) {
      if (table[i].number != call) continue;
      want_reloc = table[i].reloc;
      bool has_entry = want_reloc == pvrom::kRelocCallRel || want_reloc == pvrom::kRelocJumpRel;
      want_address = has_entry ? pvrom::kLoadAddress + table[i].offset : 0;
      break;
    }
    bool has_entry = reloc == pvrom::kRelocCallRel || reloc == pvrom::kRelocJumpRel;
    if (reloc != want_reloc || (has_entry && address != want_address))
      append(out_.problems, sizeof out_.problems, "get_reloc(%u) disagrees with the call table (reloc %u)", call,
             reloc);
  }

  const Rom& rom_;
  Binding& out_;
};

}  // namespace

void bind(const Rom& rom, const CommandLine& cmdline, Binding& out) {
  set_all_native();
  for (int g = 0; g < kGroupCount; ++g) out.overridden[g] = cmdline.native_groups & (1u << g);
  if (rom.state != RomState::kAccepted) return;

  auto wanted = [&](Group g) { return !out.overridden[static_cast<int>(g)]; };
  Binder b(rom, out);
  if (wanted(Group::kCpu)) {
    b.op<pvrom::kCallCpuid>(ops.cpu.cpuid, rom_cpuid);
    b.op<pvrom::kCallGetCR3>(ops.cpu.read_cr3, rom_read_cr3);
    b.op<pvrom::kCallSetCR3>(ops.cpu.write_cr3, rom_write_cr3, nop_u32);
    b.op<pvrom::kCallShutdown>(ops.cpu.shutdown, rom_shutdown);
    b.iret();
  }
  if (wanted(Group::kIrq)) {
    b.op<pvrom::kCallDisableInterrupts>(ops.irq.irq_disable, rom_irq_disable, nop_void);
    b.op<pvrom::kCallEnableInterrupts>(ops.irq.irq_enable, rom_irq_enable, nop_void);
    b.op<pvrom::kCallGetInterruptMask>(ops.irq.save_fl, rom_save_fl);
    b.op<pvrom::kCallSetInterruptMask>(ops.irq.restore_fl, rom_restore_fl, nop_u32);
    b.op<pvrom::kCallHalt>(ops.irq.halt, rom_halt, nop_void);
    b.op<pvrom::kCallSafeHalt>(ops.irq.safe_halt, rom_safe_halt, nop_void);
  }
  if (kRelease.binds_mmu && wanted(Group::kMmu)) {
    b.op<pvrom::kCallSetPxE>(ops.mmu.set_pte, rom_set_pte, nop_pte);
    b.op<pvrom::kCallInvalPage>(ops.mmu.flush_tlb_single, rom_flush_tlb_single, nop_u32);
    b.op<pvrom::kCallFlushTLB>(ops.mmu.flush_tlb, rom_flush_tlb, nop_void);
  }
  if (kRelease.binds_timer && wanted(Group::kTimer)) {
    // API 4 renumbered the counter: 76 is the cycle counter, 67 is reused for ns since init.
    static_assert(pvrom::call_group(pvrom::kCallGetCycleCounter) == Group::kTimer &&
                  pvrom::call_group(pvrom::kCallGetCycleCounter4) == Group::kTimer);
    b.op(Group::kTimer, rom_counter_call(), ops.timer.read_counter, rom_read_counter);
    b.op<pvrom::kCallGetCycleFrequency>(ops.timer.counter_hz, rom_counter_hz);
    b.op<pvrom::kCallGetWallclockTime>(ops.timer.wallclock_ns, rom_wallclock_ns);
    b.op<pvrom::kCallSetAlarm>(ops.timer.set_alarm, rom_set_alarm);
    b.op<pvrom::kCallCancelAlarm>(ops.timer.cancel_alarm, rom_cancel_alarm);
    if (rom.api_major >= 4) {
      b.op<pvrom::kCallGetCycleCounter>(ops.timer.ns_since_init, rom_ns_since_init);
      append(out.notes, sizeof out.notes, "API %u: counter is call %u, call 67 is ns since init", rom.api_major,
             rom_counter_call());
    }
    // A counter without its frequency (or the reverse) cannot be used: keep both native.
    bool counter_rom = ops.timer.read_counter == rom_read_counter, hz_rom = ops.timer.counter_hz == rom_counter_hz;
    if (counter_rom != hz_rom) {
      ops.timer.read_counter = native_ops().timer.read_counter;
      ops.timer.counter_hz = native_ops().timer.counter_hz;
      append(out.problems, sizeof out.problems, "counter call %u without frequency call %u (or reverse), kept native",
             rom_counter_call(), pvrom::kCallGetCycleFrequency);
    }
  }
  if (kRelease.binds_lazy && wanted(Group::kLazy)) {
    b.op<pvrom::kCallSetLazyMode>(ops.lazy.set_lazy_mode, rom_set_lazy_mode, nop_u32);
  }
}

}  // namespace pv
