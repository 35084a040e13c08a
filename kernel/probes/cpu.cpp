// cpu.cpuid, cpu.cr3_switch: the cpu op group.
#include <pvrom/abi.h>

#include "arch/paging.h"
#include "arch/x86.h"
#include "lib/format.h"
#include "lib/string.h"
#include "probes/probe.h"
#include "pv/pvops.h"

namespace probes {
namespace {

constexpr uint32_t kMarkerKernel = 0x4B45524E;     // "KERN"
constexpr uint32_t kMarkerAlternate = 0x414C5445;  // "ALTE"

const char* via(bool rom) { return rom ? "the ROM" : "native"; }

void cpuid_probe(Stage& s) {
  bool rom = pv::ops.cpu.cpuid != pv::native_ops().cpu.cpuid;
  uint32_t got[2][4], want[2][4];
  for (uint32_t leaf = 0; leaf < 2; ++leaf) {
    pv::ops.cpu.cpuid(leaf, got[leaf]);
    x86::cpuid(leaf, want[leaf]);
  }
  char vendor[13];
  memcpy(vendor + 0, &got[0][1], 4);
  memcpy(vendor + 4, &got[0][3], 4);
  memcpy(vendor + 8, &got[0][2], 4);
  vendor[12] = '\0';
  for (char& c : vendor)
    if (c && (c < 0x20 || c > 0x7e)) c = '?';
  bool same = memcmp(got, want, sizeof got) == 0;
  Text<200> d;
  d.add("cpuid via %s: vendor \"%s\", max leaf %u, family/model 0x%x", via(rom), vendor, static_cast<unsigned>(got[0][0]),
        static_cast<unsigned>(got[1][0]));
  if (same)
    d.add("; leaves 0 and 1 match the instruction");
  else
    d.add("; leaf %u differs from the instruction (eax 0x%x vs 0x%x)", memcmp(got[0], want[0], 16) ? 0u : 1u,
          static_cast<unsigned>(got[memcmp(got[0], want[0], 16) ? 0 : 1][0]),
          static_cast<unsigned>(want[memcmp(got[0], want[0], 16) ? 0 : 1][0]));
  s.report("cpu.cpuid", same, d.c_str(), rom ? pvrom::kCallCpuid : kNoCall);
}

void cr3_switch_probe(Stage& s) {
  bool rom_write = pv::ops.cpu.write_cr3 != pv::native_ops().cpu.write_cr3;
  bool rom_read = pv::ops.cpu.read_cr3 != pv::native_ops().cpu.read_cr3;
  // Window page 0 maps a different frame in each directory (set up natively).
  uint32_t frame_k = paging::scratch_frame(0), frame_a = paging::scratch_frame(1);
  *reinterpret_cast<volatile uint32_t*>(frame_k) = kMarkerKernel;
  *reinterpret_cast<volatile uint32_t*>(frame_a) = kMarkerAlternate;
  *paging::window_pte(0, false) = frame_k | paging::kPresent | paging::kWritable;
  *paging::window_pte(0, true) = frame_a | paging::kPresent | paging::kWritable;
  x86::invlpg(paging::window_address(0));
  auto* window = reinterpret_cast<volatile uint32_t*>(paging::window_address(0));

  uint32_t kernel = paging::kernel_cr3(), alternate = paging::alternate_cr3();
  uint32_t before = pv::ops.cpu.read_cr3();
  uint32_t seen_before = *window;
  pv::ops.cpu.write_cr3(alternate);
  uint32_t during = pv::ops.cpu.read_cr3();
  uint32_t seen_during = *window;
  pv::ops.cpu.write_cr3(kernel);
  uint32_t after = pv::ops.cpu.read_cr3();
  uint32_t seen_after = *window;
  x86::write_cr3(kernel);  // whatever happened, continue on the kernel's directory

  bool reads_ok = before == kernel && during == alternate && after == kernel;
  bool maps_ok = seen_before == kMarkerKernel && seen_during == kMarkerAlternate && seen_after == kMarkerKernel;
  Text<240> d;
  d.add("write_cr3 via %s, read_cr3 via %s: ", via(rom_write), via(rom_read));
  if (reads_ok && maps_ok) {
    d.add("switched 0x%x -> 0x%x -> 0x%x, the window followed each directory", static_cast<unsigned>(kernel),
          static_cast<unsigned>(alternate), static_cast<unsigned>(kernel));
  } else {
    d.add("read 0x%x/0x%x/0x%x (want 0x%x/0x%x/0x%x), window saw 0x%x/0x%x/0x%x", static_cast<unsigned>(before),
          static_cast<unsigned>(during), static_cast<unsigned>(after), static_cast<unsigned>(kernel),
          static_cast<unsigned>(alternate), static_cast<unsigned>(kernel), static_cast<unsigned>(seen_before),
          static_cast<unsigned>(seen_during), static_cast<unsigned>(seen_after));
  }
  int blame = kNoCall;
  if (!maps_ok && rom_write) blame = pvrom::kCallSetCR3;
  else if (!reads_ok && rom_read) blame = pvrom::kCallGetCR3;
  else if (!reads_ok && rom_write) blame = pvrom::kCallSetCR3;
  s.report("cpu.cr3_switch", reads_ok && maps_ok, d.c_str(), blame);
}

}  // namespace

void run_cpu(Stage& s) {
  cpuid_probe(s);
  cr3_switch_probe(s);
}

}  // namespace probes
