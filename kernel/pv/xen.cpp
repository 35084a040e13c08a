#include "pv/xen.h"

#include <pvrom/abi.h>

#include "arch/x86.h"
#include "lib/format.h"
#include "lib/string.h"
#include "pv/pvops.h"
#include "release.h"

namespace xen {
namespace {

// Hypercall numbers and sub-commands (xen/include/public/xen.h, version.h, sched.h, memory.h,
// vcpu.h, event_channel.h, hvm/hvm_op.h, hvm/params.h).
constexpr uint32_t kHypercallMemoryOp = 12, kHypercallXenVersion = 17, kHypercallConsoleIo = 18,
                   kHypercallVcpuOp = 24, kHypercallSchedOp = 29, kHypercallEventChannelOp = 32,
                   kHypercallHvmOp = 34;
constexpr uint32_t kConsoleIoWrite = 0;
constexpr uint32_t kXenVerVersion = 0, kXenVerGetFeatures = 6;
constexpr uint32_t kSchedOpBlock = 1, kSchedOpShutdown = 2;
constexpr uint32_t kShutdownPoweroff = 0, kShutdownCrash = 3;
constexpr uint32_t kXenMemAddToPhysmap = 7, kMapSpaceSharedInfo = 0;
constexpr uint16_t kDomidSelf = 0x7FF0;
constexpr uint32_t kVcpuOpSetPeriodicTimer = 6, kVcpuOpStopPeriodicTimer = 7, kVcpuOpSetSingleshotTimer = 8,
                   kVcpuOpStopSingleshotTimer = 9;
constexpr uint32_t kEvtchnOpBindVirq = 1, kVirqTimer = 0;
constexpr uint32_t kHvmOpSetParam = 0, kHvmParamCallbackIrq = 0;
constexpr uint64_t kCallbackTypeVector = 2ull << 56;
constexpr uint32_t kHypercallStride = 32;  ///< each hypercall's stub in the page
constexpr uint64_t kNsPerSecond = 1000000000ull;

/// vcpu_time_info (32 bytes, the same in both ABIs).
struct VcpuTimeInfo {
  uint32_t version, pad0;
  uint64_t tsc_timestamp, system_time;
  uint32_t tsc_to_system_mul;
  int8_t tsc_shift;
  uint8_t flags, pad1[2];
};
/// vcpu_info, compat layout (64 bytes).
struct VcpuInfo {
  uint8_t evtchn_upcall_pending, evtchn_upcall_mask, pad[2];
  uint32_t evtchn_pending_sel;
  uint32_t cr2, arch_pad[5];
  VcpuTimeInfo time;
};
static_assert(sizeof(VcpuInfo) == 64);
/// shared_info, compat layout (the fields we use).
struct SharedInfo {
  VcpuInfo vcpu_info[32];
  uint32_t evtchn_pending[32], evtchn_mask[32];
  uint32_t wc_version, wc_sec, wc_nsec;
};
static_assert(__builtin_offsetof(SharedInfo, wc_version) == 2304);

alignas(4096) constinit uint8_t hypercall_page[4096] = {};
/// The page Xen's shared info replaces (XENMEM_add_to_physmap): identity-mapped, so its
/// physical frame is its address.
alignas(4096) constinit uint8_t shared_page[4096] = {};
constinit bool found = false;
constinit uint32_t base = 0;
constinit int timer_port = -1;

volatile SharedInfo& shared() { return *reinterpret_cast<volatile SharedInfo*>(shared_page); }
volatile VcpuInfo& vcpu0() { return shared().vcpu_info[0]; }

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
template <typename T>
uint32_t arg(T* p) { return reinterpret_cast<uint32_t>(p); }

// --- the timer group: Xen system time and VCPUOP timers -------------------------------------

/// Xen system time in ns: vcpu_time_info's system_time plus the TSC since its stamp, scaled
/// (the pvclock formula), read under its version (odd: Xen is updating it).
uint64_t system_time_ns() {
  volatile VcpuTimeInfo& t = vcpu0().time;
  uint32_t v;
  uint64_t ns;
  do {
    v = t.version;
    asm volatile("" ::: "memory");
    uint64_t delta = x86::rdtsc() - t.tsc_timestamp;
    int8_t shift = t.tsc_shift;
    delta = shift < 0 ? delta >> -shift : delta << shift;
    uint64_t mul = t.tsc_to_system_mul;  // (delta * mul) >> 32 without a 128-bit product
    ns = t.system_time + (delta >> 32) * mul + (((delta & 0xffffffffu) * mul) >> 32);
    asm volatile("" ::: "memory");
  } while ((v & 1) || v != t.version);
  return ns;
}
uint64_t ns_hz() { return kNsPerSecond; }

/// Wall clock: shared_info's wc_sec/wc_nsec (the wall time at system time 0) plus system time.
uint64_t wallclock_ns() {
  volatile SharedInfo& s = shared();
  uint32_t v, sec, nsec;
  do {
    v = s.wc_version;
    asm volatile("" ::: "memory");
    sec = s.wc_sec;
    nsec = s.wc_nsec;
    asm volatile("" ::: "memory");
  } while ((v & 1) || v != s.wc_version);
  return uint64_t(sec) * kNsPerSecond + nsec + system_time_ns();
}

struct alignas(8) SingleshotTimer {
  uint64_t timeout_abs_ns;
  uint32_t flags, pad;  // native struct is 16 bytes: Xen may copy all of them
};
struct alignas(8) PeriodicTimer {
  uint64_t period_ns;
};

int32_t set_alarm(uint32_t flags, uint64_t expiry, uint64_t period) {
  if (flags & pvrom::kAlarmPeriodic) {
    PeriodicTimer p{period};
    return static_cast<int32_t>(hypercall(kHypercallVcpuOp, kVcpuOpSetPeriodicTimer, 0, arg(&p)));
  }
  SingleshotTimer s{expiry, 0, 0};  // no VCPU_SSHOTTMR_future: a past expiry fires at once
  return static_cast<int32_t>(hypercall(kHypercallVcpuOp, kVcpuOpSetSingleshotTimer, 0, arg(&s)));
}

int32_t cancel_alarm() {
  long a = hypercall(kHypercallVcpuOp, kVcpuOpStopSingleshotTimer, 0, 0);
  long b = hypercall(kHypercallVcpuOp, kVcpuOpStopPeriodicTimer, 0, 0);
  return static_cast<int32_t>(a ? a : b);
}

// --- the irq group: the upcall mask, kept in step with IF ------------------------------------
// Under PVH Xen injects the callback vector by EFLAGS.IF, not by evtchn_upcall_mask (only a PV
// guest's upcall honours the mask), so irq_disable also clears IF: the mask is the ABI state
// save_fl reports, IF what really holds interrupts off.

void mask_events(uint8_t m) {
  vcpu0().evtchn_upcall_mask = m;
  asm volatile("" ::: "memory");
}
void irq_disable() {
  x86::cli();
  mask_events(1);
}
void irq_enable() {
  mask_events(0);
  x86::sti();
}
uint32_t save_fl() {
  bool on = (x86::read_eflags() & x86::kFlagsIF) && !vcpu0().evtchn_upcall_mask;
  return on ? x86::kFlagsIF : 0;
}
void restore_fl(uint32_t f) { (f & x86::kFlagsIF) ? irq_enable() : irq_disable(); }
/// SCHEDOP_block: Xen enables event delivery and deschedules the vCPU until an event or an
/// interrupt is pending (what a Xen guest's idle loop does instead of hlt).
void block() { hypercall(kHypercallSchedOp, kSchedOpBlock, 0); }
void halt() { block(); }
void safe_halt() {
  irq_enable();
  block();
}

void shutdown_op(uint32_t code) { shutdown(code); }

void fail_step(Events& e, const char* step, long rc) {
  format(e.problem, sizeof e.problem, "%s failed (%d)", step, static_cast<int>(rc));
}

/// Maps shared info, binds VIRQ_TIMER and asks for the callback vector. Each step's refusal
/// leaves the rest undone (the groups that need it stay native).
void setup_events(Events& e) {
  struct {
    uint16_t domid, size;
    uint32_t space, idx, gpfn;
  } map = {kDomidSelf, 0, kMapSpaceSharedInfo, 0, arg(shared_page) >> 12};
  if (long rc = hypercall(kHypercallMemoryOp, kXenMemAddToPhysmap, arg(&map)); rc != 0)
    return fail_step(e, "XENMEM_add_to_physmap(shared_info)", rc);
  e.shared_info = true;  // upcall mask 0, as Xen left it: the irq ops keep it in step with IF
  struct {
    uint32_t virq, vcpu, port;
  } bind_virq = {kVirqTimer, 0, 0};
  if (long rc = hypercall(kHypercallEventChannelOp, kEvtchnOpBindVirq, arg(&bind_virq)); rc != 0)
    return fail_step(e, "EVTCHNOP_bind_virq(VIRQ_TIMER)", rc);
  e.timer_port = timer_port = static_cast<int>(bind_virq.port);
  struct alignas(8) {
    uint16_t domid, pad;
    uint32_t index;
    uint64_t value;
  } param = {kDomidSelf, 0, kHvmParamCallbackIrq, kCallbackTypeVector | pvrom::kAlarmVector};
  if (long rc = hypercall(kHypercallHvmOp, kHvmOpSetParam, arg(&param)); rc != 0)
    return fail_step(e, "HVMOP_set_param(CALLBACK_IRQ, vector)", rc);
  e.callback = true;
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
  if (hypercall(kHypercallXenVersion, kXenVerGetFeatures, arg(&f)) != 0) return 0;
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
  if (found && n) hypercall(kHypercallConsoleIo, kConsoleIoWrite, static_cast<uint32_t>(n), arg(s));
}

void shutdown(uint32_t code) {
  if (!found) return;
  uint32_t reason = code == 0 ? kShutdownPoweroff : kShutdownCrash;
  hypercall(kHypercallSchedOp, kSchedOpShutdown, arg(&reason));
}

uint32_t alarm_features() { return pvrom::kFeatureOneShotAlarm | pvrom::kFeaturePeriodicAlarm; }

bool take_timer_event() {
  if (timer_port < 0) return false;
  volatile SharedInfo& s = shared();
  vcpu0().evtchn_upcall_pending = 0;
  __atomic_exchange_n(&vcpu0().evtchn_pending_sel, 0u, __ATOMIC_SEQ_CST);
  uint32_t word = static_cast<uint32_t>(timer_port) / 32, bit = 1u << (timer_port % 32);
  uint32_t was = __atomic_fetch_and(&s.evtchn_pending[word], ~bit, __ATOMIC_SEQ_CST);
  return was & bit;
}

void bind(const pv::CommandLine& cmdline, pv::Binding& out, Events& events) {
  pv::set_all_native();
  for (int g = 0; g < pv::kGroupCount; ++g) out.overridden[g] = cmdline.native_groups & (1u << g);
  auto wanted = [&](pv::Group g) { return !out.overridden[static_cast<int>(g)]; };
  auto bound = [&](pv::Group g, int ops) {
    out.rom[static_cast<int>(g)] = true;
    out.calls_bound += ops;
  };
  if (wanted(pv::Group::kCpu)) {
    pv::ops.cpu.shutdown = shutdown_op;
    bound(pv::Group::kCpu, 1);
  }
  const bool want_irq = wanted(pv::Group::kIrq), want_timer = kRelease.binds_timer && wanted(pv::Group::kTimer);
  if (want_irq || want_timer) setup_events(events);
  if (want_irq && events.shared_info) {
    pv::ops.irq = pv::IrqOps{irq_disable, irq_enable, save_fl, restore_fl, halt, safe_halt};
    bound(pv::Group::kIrq, 6);
  }
  if (want_timer && events.callback) {
    pv::ops.timer = pv::TimerOps{system_time_ns, ns_hz, wallclock_ns, set_alarm, cancel_alarm, nullptr};
    bound(pv::Group::kTimer, 5);
  }
}

}  // namespace xen
