#include "pv/xen.h"

#include "arch/x86.h"
#include "lib/string.h"

namespace xen {
namespace {

// Hypercall numbers and sub-commands (xen/include/public/xen.h, version.h, sched.h).
constexpr uint32_t kHypercallConsoleIo = 18, kHypercallXenVersion = 17, kHypercallSchedOp = 29;
constexpr uint32_t kConsoleIoWrite = 0;
constexpr uint32_t kXenVerVersion = 0, kXenVerGetFeatures = 6;
constexpr uint32_t kSchedOpShutdown = 2;
constexpr uint32_t kShutdownPoweroff = 0, kShutdownCrash = 3;
constexpr uint32_t kHypercallStride = 32;  ///< each hypercall's stub in the page

alignas(4096) constinit uint8_t hypercall_page[4096] = {};
constinit bool found = false;
constinit uint32_t base = 0;

static inline void wrmsr(uint32_t msr, uint64_t v) {
  asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<uint32_t>(v)), "d"(static_cast<uint32_t>(v >> 32)) : "memory");
}

/// A 32-bit HVM hypercall: arguments in ebx, ecx, edx; the result in eax.
long hypercall(uint32_t nr, uint32_t a1, uint32_t a2 = 0, uint32_t a3 = 0) {
  long r;
  asm volatile("call *%[entry]"
               : "=a"(r), "+b"(a1), "+c"(a2), "+d"(a3)
               : [entry] "S"(hypercall_page + nr * kHypercallStride)
               : "memory", "edi");
  return r;
}

}  // namespace

bool active() { return found; }
uint32_t cpuid_base() { return base; }

bool init(const char** why) {
  uint32_t r[4];
  for (uint32_t leaf = 0x40000000; leaf < 0x40010000; leaf += 0x100) {
    x86::cpuid(leaf, r);
    // "XenVMMXenVMM" in ebx, ecx, edx.
    if (r[1] == 0x566e6558 && r[2] == 0x65584d4d && r[3] == 0x4d4d566e && r[0] >= leaf + 2) {
      base = leaf;
      break;
    }
  }
  if (!base) {
    *why = "no Xen CPUID leaves (XenVMMXenVMM)";
    return false;
  }
  x86::cpuid(base + 2, r);  // eax: hypercall pages, ebx: the MSR that installs them
  if (r[0] < 1) {
    *why = "Xen offers no hypercall page";
    return false;
  }
  wrmsr(r[1], reinterpret_cast<uint32_t>(hypercall_page));  // paging is off or identity: phys == virt
  found = true;
  return true;
}

uint32_t version() { return static_cast<uint32_t>(hypercall(kHypercallXenVersion, kXenVerVersion, 0)); }

uint32_t features() {
  struct { uint32_t submap_idx, submap; } f = {0, 0};
  if (hypercall(kHypercallXenVersion, kXenVerGetFeatures, reinterpret_cast<uint32_t>(&f)) != 0) return 0;
  return f.submap;
}

uint32_t tsc_khz() {
  uint32_t r[4];
  if (!base) return 0;
  x86::cpuid(base, r);
  if (r[0] < base + 3) return 0;
  asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(base + 3), "c"(0));
  return r[2];  // subleaf 0: ecx = guest TSC frequency in kHz
}

void console_write(const char* s, size_t n) {
  if (found && n) hypercall(kHypercallConsoleIo, kConsoleIoWrite, static_cast<uint32_t>(n), reinterpret_cast<uint32_t>(s));
}

void shutdown(uint32_t code) {
  if (!found) return;
  uint32_t reason = code == 0 ? kShutdownPoweroff : kShutdownCrash;
  hypercall(kHypercallSchedOp, kSchedOpShutdown, reinterpret_cast<uint32_t>(&reason));
}

}  // namespace xen
