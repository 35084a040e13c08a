// The reference paravirt kernel: boot, find the ROM, bind, probe each op group, report, exit.
// Stages in order (docs/contracts.md): boot rom bind cpu irq mmu timer shutdown.
#include <pvrom/abi.h>

#include "arch/cpu.h"
#include "arch/lapic.h"
#include "arch/paging.h"
#include "arch/pic.h"
#include "arch/serial.h"
#include "arch/x86.h"
#include "lib/format.h"
#include "lib/panic.h"
#include "lib/record.h"
#include "lib/string.h"
#include "probes/probe.h"
#include "pv/bind.h"
#include "pv/cmdline.h"
#include "pv/pvops.h"
#include "pv/rom.h"
#include "pv/xen.h"
#include "release.h"
#include "time/clock.h"
#include "time/events.h"

#ifndef PVM_BUILD_ID
#define PVM_BUILD_ID "dev"
#endif

// The build id (the git revision by default) alone in a section of its own, at a fixed size and
// writable, so no code depends on its value: the harness leaves these bytes out of a kernel's
// digest (harness/result_cache.cpp, elf32_loaded_content), and the same code built at two
// revisions is one image to the result cache and to the gate, whichever build id each carries.
__attribute__((section(".pvm_build_id"), used)) char pvm_build_id[32] = PVM_BUILD_ID;

namespace {

constexpr uint32_t kMultibootMagic = 0x2BADB002;
constexpr uint32_t kMultibootCmdline = 1u << 2;

struct MultibootInfo {
  uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
};

constinit pv::CommandLine cmdline;
constinit pv::Rom rom;
constinit pv::Binding binding;
/// Booted as a Xen PVH guest (dom0): the hypervisor is Xen, not a ROM.
constinit bool on_xen = false;
constinit const char* xen_missing = nullptr;  ///< PVH entry but no usable Xen interface: why
constinit char pvh_cmdline[256] = {};

/// The value a group bound to the hypervisor shows in the binding.
const char* bound_name() { return on_xen ? "xen" : "rom"; }

const char* feature_list(uint32_t features, char* buf, size_t cap) {
  Text<160> t;
  for (const auto& f : pvrom::kFeatureNames)
    if (features & f.bit) t.add("%s%s", t.len ? "," : "", f.name);
  str_copy(buf, cap, t.c_str());
  return buf;
}

/// Ends the bind stage with the binding per group ("cpu=rom irq=native(pv.native) ...").
void finish_bind(probes::Stage& s) {
  Text<160> b;
  for (int g = 0; g < pv::kGroupCount; ++g)
    b.add("%s%s=%s%s", g ? " " : "", pv::kGroupNames[g], binding.rom[g] ? bound_name() : "native",
          binding.overridden[g] ? "(pv.native)" : "");
  s.finish(b.c_str());
}

void add_binding(Record& r, bool all_native) {
  r.begin_object("binding");
  for (int g = 0; g < pv::kGroupCount; ++g) r.str(pv::kGroupNames[g], !all_native && binding.rom[g] ? bound_name() : "native");
  r.end_object();
}

void boot_stage(uint32_t magic, const MultibootInfo* mbi) {
  if (magic == xen::kPvhMagic) {
    // Xen gives dom0 its module's command line without the image path; the parser skips a
    // first token, so put one back.
    auto* si = reinterpret_cast<const xen::StartInfo*>(mbi);
    str_copy(pvh_cmdline, sizeof pvh_cmdline, "pvh ");
    if (si && si->magic == xen::kPvhMagic && si->cmdline_paddr && si->cmdline_paddr < 0x100000000ull) {
      const char* c = reinterpret_cast<const char*>(static_cast<uint32_t>(si->cmdline_paddr));
      size_t n = strlen(pvh_cmdline);
      str_copy(pvh_cmdline + n, sizeof pvh_cmdline - n, c);
    }
    pv::parse_command_line(pvh_cmdline, cmdline);
  } else {
    if (magic != kMultibootMagic) PANIC("not booted by a multiboot loader (magic 0x%x)", static_cast<unsigned>(magic));
    // The command line lives in low memory: read it before paging leaves page 0 unmapped.
    pv::parse_command_line(mbi && (mbi->flags & kMultibootCmdline) ? reinterpret_cast<const char*>(mbi->cmdline) : nullptr,
                           cmdline);
  }
  Record("hello", true).str("kernel", kRelease.name).str("build", pvm_build_id).str("cmdline", cmdline.args).emit();

  uint64_t hz = 0;
  if (on_xen) {
    // PVH: no PIT or 8259 (Xen keeps them); Xen states the TSC frequency in its CPUID leaf.
    paging::init();
    lapic::init();
    events::set_no_pit();
    hz = uint64_t(xen::tsc_khz()) * 1000;
    if (hz) clock::set_tsc_hz(hz);
    else hz = clock::tsc_hz();
  } else {
    pic::init();
    paging::init();
    lapic::init();
    hz = clock::calibrate_tsc();
  }
  const uint64_t bus = lapic::calibrate(hz);

  probes::Stage s("boot");
  Text<256> d;
  d.add("%s, paging on (16 MiB identity), LAPIC %s (timer %u MHz), TSC %u kHz%s",
        on_xen ? "Xen PVH entry" : "multiboot", lapic::present() ? "on" : "absent",
        static_cast<unsigned>(bus / 1000000), static_cast<unsigned>(hz / 1000),
        on_xen ? " (from Xen's CPUID time leaf)" : "");
  if (cmdline.native_groups) {
    d.add("; pv.native keeps");
    for (int g = 0; g < pv::kGroupCount; ++g)
      if (cmdline.native_groups & (1u << g)) d.add(" %s", pv::kGroupNames[g]);
    d.add(" native");
  }
  if (cmdline.unknown[0]) d.add("; pv.native: unknown group(s) ignored: %s", cmdline.unknown);
  s.finish(d.c_str());
}

void rom_stage() {
  if (on_xen) {
    // Xen is the hypervisor: there is no ROM to look for (fw_cfg is QEMU's, under Xen).
    str_copy(rom.absence, sizeof rom.absence, "booted by Xen (PVH): no ROM, the Xen backend binds");
    probes::Stage("rom").finish(rom.absence, "skip");
    return;
  }
  pv::discover_rom(rom);
  probes::Stage s("rom");
  Text<256> d;
  char api[8];
  pv::format_api(rom, api, sizeof api);
  switch (rom.state) {
    case pv::RomState::kNone:
      s.finish(rom.absence, "skip");
      return;
    case pv::RomState::kRefused:
      if (rom.header_readable) d.add("%s (API %s): ", rom.name, api);
      d.add("refused: %s", rom.refusal);
      break;
    case pv::RomState::kAccepted:
      d.add("%s API %s, %u bytes at 0x%08x, checksum ok, init(%u) = %d", rom.name, api,
            static_cast<unsigned>(rom.image_size), static_cast<unsigned>(pvrom::kLoadAddress),
            static_cast<unsigned>(rom.api_major), static_cast<int>(rom.init_result));
      if (rom.features_asked) d.add(", GetFeatures = 0x%x", static_cast<unsigned>(rom.features));
      break;
  }
  s.finish(d.c_str());
}

constinit xen::Events xen_events;

/// Xen backend binding (pv/xen.cpp): cpu = SCHEDOP_shutdown; irq = the upcall mask and
/// SCHEDOP_block; timer = Xen system time, VCPUOP timers, VIRQ_TIMER on the callback vector;
/// mmu and lazy stay native (PVH: the guest's own page tables under HAP).
void bind_xen() {
  const uint32_t ver = xen::version();
  const uint32_t feats = xen::features();
  xen::bind(cmdline, binding, xen_events);
  char api[16];
  Text<16> a;
  a.add("%u.%u", static_cast<unsigned>(ver >> 16), static_cast<unsigned>(ver & 0xffff));
  str_copy(api, sizeof api, a.c_str());
  Record hv("hv");
  hv.str("family", "xen").str("name", "xen").str("api", api);
  Text<32> f;
  f.add("0x%x", static_cast<unsigned>(feats));
  hv.str("xen_features", f.c_str());
  add_binding(hv, false);
  hv.emit();

  probes::Stage s("bind");
  Text<512> d;
  d.add("Xen %s (CPUID base 0x%x, hypercall page), XENVER_get_features 0x%x; %s binds %d ops", api,
        static_cast<unsigned>(xen::cpuid_base()), static_cast<unsigned>(feats), kRelease.name, binding.calls_bound);
  if (xen_events.shared_info) d.add("; shared info mapped");
  if (xen_events.timer_port >= 0) d.add(", VIRQ_TIMER on port %d", xen_events.timer_port);
  if (xen_events.callback) d.add(", callback vector 0x%x", static_cast<unsigned>(pvrom::kAlarmVector));
  if (!kRelease.binds_timer) d.add("; %s keeps the timer group native", kRelease.name);
  if (xen_events.problem[0]) d.add("; PROBLEM: %s", xen_events.problem);
  s.report("hv.negotiate", xen_events.problem[0] == '\0', d.c_str());
  finish_bind(s);
}

void bind_stage() {
  if (on_xen) return bind_xen();
  pv::bind(rom, cmdline, binding);
  lapic::keep_virtual_wire();  // the ROM's init may have reprogrammed the APIC

  char api[8], features[160];
  pv::format_api(rom, api, sizeof api);
  Record hv("hv");
  if (rom.state == pv::RomState::kNone) {
    hv.str("family", "none");
    add_binding(hv, true);
  } else {
    hv.str("family", "rom");
    if (rom.header_readable) hv.str("name", rom.name).str("api", api);
    if (rom.state == pv::RomState::kRefused) {
      hv.str("refused", rom.refusal);
      add_binding(hv, true);
    } else {
      feature_list(rom.features, features, sizeof features);
      hv.begin_array("features");
      for (const auto& f : pvrom::kFeatureNames)
        if (rom.features & f.bit) hv.item(f.name);
      hv.end_array();
      add_binding(hv, false);
    }
  }
  hv.emit();

  probes::Stage s("bind");
  Text<512> d;
  switch (rom.state) {
    case pv::RomState::kNone:
      d.add("no ROM (%s): every op group native", rom.absence);
      s.pass("hv.negotiate", d.c_str());
      break;
    case pv::RomState::kRefused:
      if (rom.header_readable) d.add("%s offers API %s; ", rom.name, api);
      d.add("%s refused it: %s; every op group native (a binding change, not a failure)", kRelease.name, rom.refusal);
      s.pass("hv.negotiate", d.c_str());
      break;
    case pv::RomState::kAccepted: {
      d.add("%s offers API %s (%s), features %s; %s speaks it: init(%u) ok, %d ops bound", rom.name, api,
            rom.convention == pvrom::kConvCdecl ? "cdecl" : "regparm3", features, kRelease.name,
            static_cast<unsigned>(rom.api_major), binding.calls_bound);
      if (rom.features_asked && rom.features != rom.header_features)
        d.add("; GetFeatures 0x%x differs from the header's 0x%x", static_cast<unsigned>(rom.features),
              static_cast<unsigned>(rom.header_features));
      if (binding.notes[0]) d.add("; %s", binding.notes);
      if (binding.problems[0]) d.add("; PROBLEMS: %s", binding.problems);
      s.report("hv.negotiate", binding.problems[0] == '\0', d.c_str());
      break;
    }
  }
  finish_bind(s);
}

[[noreturn]] void shutdown_stage() {
  probes::Stage("shutdown").finish(pv::ops.cpu.shutdown == pv::native_ops().cpu.shutdown ? "isa-debug-exit (native)"
                                   : on_xen ? "SCHEDOP_shutdown via Xen"
                                            : "Shutdown(37) via the ROM");
  const probes::Tally& t = probes::tally();
  Record("done").num("pass", t.pass).num("fail", t.fail).num("skip", t.skip).emit();
  uint32_t code = t.fail ? pvrom::kExitFail : pvrom::kExitPass;
  pv::ops.cpu.shutdown(code);
  exit_native(code);  // the bound shutdown returned: still leave with the right code
}

}  // namespace

extern "C" void (*__init_array_start[])();
extern "C" void (*__init_array_end[])();

extern "C" [[noreturn]] void kernel_main(uint32_t magic, const MultibootInfo* mbi) {
  if (magic == xen::kPvhMagic) on_xen = xen::init(&xen_missing);
  if (!on_xen) serial::init();
  cpu::init_descriptors();
  pv::set_all_native();
  for (auto* ctor = __init_array_start; ctor != __init_array_end; ++ctor) (*ctor)();

  boot_stage(magic, mbi);
  rom_stage();
  bind_stage();
  {
    probes::Stage s("cpu");
    probes::run_cpu(s);
    s.finish();
  }
  {
    probes::Stage s("irq");
    probes::run_irq(s);
    s.finish();
  }
  {
    probes::Stage s("mmu");
    probes::run_mmu(s);
    s.finish();
  }
  {
    probes::Stage s("timer");
    clock::setup();
    events::setup(on_xen ? xen::alarm_features() : rom.features);
    probes::run_timer(s);
    Text<128> d;
    d.add("clock events: %s; clocksource %s%s", events::mode_name(),
          pv::ops.timer.read_counter == pv::native_ops().timer.read_counter ? "TSC"
          : on_xen                                                         ? "Xen system time"
                                                                           : "ROM counter",
          kRelease.clamps_counter ? " (clamped)" : "");
    s.finish(d.c_str());
  }
  shutdown_stage();
}
