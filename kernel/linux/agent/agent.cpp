// pvmatrix guest agent for real Linux kernels: the /init of a tiny initramfs (see
// kernel/linux/agent/CMakeLists.txt). It speaks the serial protocol of docs/contracts.md on
// /dev/console, one `@pvm {json}` record per write(), then powers the machine off.
//
// Records, in order:
//   hello; stage boot; hv; stage bind; probes of stage cpu, stage cpu; irq ...; mmu ...;
//   timer ...; stage shutdown; done. Then sync() and reboot(RB_POWER_OFF).
//
// The hv record. family is "xen" when /sys/hypervisor/type reads "xen", else "none" (and then
// no name/api/version keys, and every binding is "native"). api = "<major>.<minor>" and
// version = "<major>.<minor><extra>" from /sys/hypervisor/version/{major,minor,extra};
// guest_type from /sys/hypervisor/guest_type ("PV", "PVH", "HVM"; "" if absent); clocksource
// is /sys/devices/system/clocksource/clocksource0/current_clocksource, clockevent
// /sys/devices/system/clockevents/clockevent0/current_device.
//
// Binding rule (a Linux guest has no per-op-group switch we can read, so each group's binding
// is inferred from what the running kernel shows; every value is exactly "xen" or "native"):
//   cpu   = "xen" iff guest_type is "PV"  (pv_ops.cpu: privileged instructions are hypercalls)
//   irq   = "xen" iff some line of /proc/interrupts mentions "xen-"  (event channels:
//           xen-percpu-virq, xen-percpu-ipi, xen-dyn, xen-pirq ...)
//   mmu   = "xen" iff guest_type is "PV"  (pv_ops.mmu: page tables are validated by Xen)
//   timer = "xen" iff the current clocksource or the current clockevent device is "xen" (Xen's
//           system time, or VCPUOP single-shot timers delivered as VIRQ_TIMER)
//   lazy  = "xen" iff guest_type is "PV"  (lazy MMU/CPU mode batches into multicalls)
//   family "none": all "native".
//
// Probes (ids shared with the reference kernel where the id exists). Details are
// deterministic: they name the checked bounds, never measured durations or counts.
//   cpu:   cpu.cpuid          leaf 0 vendor; hypervisor signature at 0x40000000 (Xen's leaves
//                             are searched at 0x40000000..0x4000ff00 step 0x100, as Linux does);
//                             fails only if /sys/hypervisor/type is xen and neither plain nor
//                             forced-emulation cpuid finds XenVMMXenVMM (a PV guest's plain cpuid
//                             is not intercepted unless Xen has CPUID faulting, which TCG lacks)
//          linux.hypervisor   /sys/hypervisor/{type,version,guest_type} agree with the CPUID the
//                             kernel identified Xen with (plain cpuid; in a PV guest the
//                             forced-emulation one, ud2a;"xen";cpuid): Xen leaf base+1 =
//                             major.minor, guest_type PV|PVH|HVM; or both say "no Xen"
//   irq:   linux.interrupts   a timer interrupt line of /proc/interrupts (the xen-percpu virq
//                             "timer0", tried first, or LOC) increases across a 20 ms nanosleep
//          irq.halt           a 5 ms nanosleep returns after >= 5 ms (idle, then woken)
//   mmu:   mmu.tlb_flush      4 RW pages; write faults after mprotect(PROT_READ), works again
//                             after mprotect(PROT_READ|PROT_WRITE); read faults after munmap
//          mmu.lazy_batch     256 pages, fork(): the child sees the parent's pattern and
//                             rewrites every page; the parent's pages are unchanged (COW)
//   timer: time.counter_monotonic  20000 CLOCK_MONOTONIC reads never go back
//          time.oneshot       10 ms timerfd one-shot expires once, within [10 ms, 210 ms],
//                             and not again within the next 30 ms
//          time.periodic      2 ms periodic timerfd: >= 10 expirations take >= 20 ms and < 1 s
//          time.wallclock     CLOCK_REALTIME within [2026-01-01T00:00:00Z, +1 h] (the
//                             harness pins the guest RTC); detail the minute read
//          linux.clocksource  current clocksource is listed in available_clocksource
// Every probe runs under a 5 s alarm(): a probe that does not return fails "timed out after
// 5 s". A probe that cannot run is "skip" with the reason. A fault outside the probes' own
// expected faults prints a panic record naming the probe and lets the kernel kill init.
#include <cpuid.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csetjmp>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#ifndef PVM_AGENT_ARCH
#error "define PVM_AGENT_ARCH (x86_64 or i386)"
#endif

namespace {

constexpr size_t kFieldCap = 512;  // bytes of escaped text per string field
constexpr unsigned kProbeTimeoutS = 5;
constexpr long long kNsPerMs = 1000000;
constexpr long long kWallclockBase = 1767225600;  // 2026-01-01T00:00:00Z

int g_console = -1;

const char* errname(int e) {
  const char* n = strerrorname_np(e);
  return n ? n : "E?";
}

// ---------------------------------------------------------------------------------------------
// Records

class Record {
 public:
  Record() { raw("@pvm {"); }

  Record& str(const char* key, const char* value) {
    this->key(key);
    quoted(value);
    return *this;
  }
  Record& num(const char* key, long long v) {
    this->key(key);
    char b[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0ull - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v);
    do b[n++] = static_cast<char>('0' + u % 10); while ((u /= 10) != 0);
    if (v < 0) ch('-');
    while (n) ch(b[--n]);
    return *this;
  }
  Record& begin(const char* key) {
    this->key(key);
    ch('{');
    first_[++depth_] = true;
    return *this;
  }
  Record& end() {
    ch('}');
    --depth_;
    return *this;
  }
  // One write() for the whole line (a short write is completed, never interleaved by us).
  void emit() {
    raw("}\n");
    if (g_console < 0) return;
    size_t done = 0;
    while (done < len_) {
      ssize_t n = write(g_console, buf_ + done, len_ - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

 private:
  void ch(char c) {
    if (len_ < sizeof buf_) buf_[len_++] = c;
  }
  void raw(const char* s) {
    while (*s) ch(*s++);
  }
  void key(const char* k) {
    if (!first_[depth_]) ch(',');
    first_[depth_] = false;
    quoted(k);
    ch(':');
  }
  // JSON string: '"' and '\\' escaped, control characters and every byte >= 0x7f as \u00XX
  // (the line stays ASCII, so it is valid JSON whatever the kernel hands us); the escaped text
  // is capped at kFieldCap bytes, never inside an escape.
  void quoted(const char* s) {
    static const char hex[] = "0123456789abcdef";
    ch('"');
    size_t used = 0;
    for (; s && *s; ++s) {
      unsigned char c = static_cast<unsigned char>(*s);
      char e[6];
      size_t n = 0;
      if (c == '"' || c == '\\') {
        e[n++] = '\\', e[n++] = static_cast<char>(c);
      } else if (c < 0x20 || c >= 0x7f) {
        e[n++] = '\\', e[n++] = 'u', e[n++] = '0', e[n++] = '0', e[n++] = hex[c >> 4], e[n++] = hex[c & 15];
      } else {
        e[n++] = static_cast<char>(c);
      }
      if (used + n > kFieldCap) break;
      for (size_t i = 0; i < n; ++i) ch(e[i]);
      used += n;
    }
    ch('"');
  }

  // Worst case: a hv record of ~10 capped fields stays far below this.
  char buf_[16384];
  size_t len_ = 0;
  bool first_[4] = {true, true, true, true};
  int depth_ = 0;
};

// A stage's begin record: a death or a hang is placed in the stage that was running.
void stage_begin(const char* name) { Record().str("ev", "stage").str("name", name).str("status", "begin").emit(); }

void stage_record(const char* name, bool ok, const char* detail = nullptr) {
  Record r;
  r.str("ev", "stage").str("name", name).str("status", ok ? "ok" : "fail");
  if (detail) r.str("detail", detail);
  r.emit();
}

// ---------------------------------------------------------------------------------------------
// Small helpers

// Reads a (small, procfs/sysfs) file into buf, NUL-terminated, trailing whitespace trimmed.
// Returns the length, or -1 (errno set) if it cannot be opened or read.
long read_text(const char* path, char* buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    buf[0] = 0;
    return -1;
  }
  size_t len = 0;
  while (len + 1 < cap) {
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      buf[0] = 0;
      errno = e;
      return -1;
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  close(fd);
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\t' || buf[len - 1] == '\r'))
    --len;
  buf[len] = 0;
  return static_cast<long>(len);
}

long long now_ns(clockid_t clock = CLOCK_MONOTONIC) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000ll + ts.tv_nsec;
}

void sleep_ns(long long ns) {
  timespec ts{static_cast<time_t>(ns / 1000000000ll), static_cast<long>(ns % 1000000000ll)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

bool has_word(const char* list, const char* word) {
  size_t wl = strlen(word);
  for (const char* p = list; *p;) {
    while (*p == ' ' || *p == '\t' || *p == '\n') ++p;
    const char* s = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\n') ++p;
    if (static_cast<size_t>(p - s) == wl && wl && strncmp(s, word, wl) == 0) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Platform facts (read once, before the probes)

struct Hypervisor {
  bool xen = false;
  char type[64] = "";
  char major[32] = "", minor[32] = "", extra[128] = "";
  char guest_type[32] = "";
  char clocksource[64] = "";
  char clockevent[64] = "";
  bool irq_xen = false;
};
Hypervisor g_hv;

char g_interrupts[65536];

void read_hypervisor() {
  read_text("/sys/hypervisor/type", g_hv.type, sizeof g_hv.type);
  g_hv.xen = strcmp(g_hv.type, "xen") == 0;
  if (g_hv.xen) {
    read_text("/sys/hypervisor/version/major", g_hv.major, sizeof g_hv.major);
    read_text("/sys/hypervisor/version/minor", g_hv.minor, sizeof g_hv.minor);
    read_text("/sys/hypervisor/version/extra", g_hv.extra, sizeof g_hv.extra);
    read_text("/sys/hypervisor/guest_type", g_hv.guest_type, sizeof g_hv.guest_type);
  }
  read_text("/sys/devices/system/clocksource/clocksource0/current_clocksource", g_hv.clocksource,
            sizeof g_hv.clocksource);
  read_text("/sys/devices/system/clockevents/clockevent0/current_device", g_hv.clockevent, sizeof g_hv.clockevent);
  if (read_text("/proc/interrupts", g_interrupts, sizeof g_interrupts) > 0)
    g_hv.irq_xen = strstr(g_interrupts, "xen-") != nullptr;
}

struct Binding {
  const char* cpu;
  const char* irq;
  const char* mmu;
  const char* timer;
  const char* lazy;
};

Binding binding() {
  const char* x = "xen";
  const char* n = "native";
  if (!g_hv.xen) return {n, n, n, n, n};
  bool pv = strcmp(g_hv.guest_type, "PV") == 0;
  bool timer = strcmp(g_hv.clocksource, "xen") == 0 || strcmp(g_hv.clockevent, "xen") == 0;
  return {pv ? x : n, g_hv.irq_xen ? x : n, pv ? x : n, timer ? x : n, pv ? x : n};
}

// cpuid
struct Cpuid {
  char vendor[13] = "";
  bool hv_bit = false;
  char signature[13] = "";  // at 0x40000000 (only read with the hypervisor bit)
  uint32_t xen_base = 0;    // leaf of "XenVMMXenVMM", 0 if none
  uint32_t xen_version = 0; // eax of xen_base + 1
  // PV guests only: the same through Xen's forced-emulation prefix (ud2a; .ascii "xen"; cpuid),
  // the CPUID a PV kernel itself uses. A plain cpuid in a PV guest runs unintercepted unless Xen
  // has CPUID faulting on this CPU, and then shows the host's leaves.
  bool fep_tried = false;
  bool fep_faulted = false;
  uint32_t fep_xen_base = 0;
  uint32_t fep_xen_version = 0;
};

void sig12(char* out, uint32_t a, uint32_t b, uint32_t c) {
  memcpy(out, &a, 4);
  memcpy(out + 4, &b, 4);
  memcpy(out + 8, &c, 4);
  out[12] = 0;
  for (int i = 0; i < 12; ++i)
    if (out[i] == 0) out[i] = ' ';  // keep the detail one printable string
}

using CpuidFn = void (*)(uint32_t leaf, uint32_t r[4]);
void plain_cpuid(uint32_t leaf, uint32_t r[4]) { __cpuid(leaf, r[0], r[1], r[2], r[3]); }
void fep_cpuid(uint32_t leaf, uint32_t r[4]) {
  asm volatile("ud2a; .ascii \"xen\"; cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "0"(leaf), "2"(0));
}

// Xen's leaves as Linux finds them: "XenVMMXenVMM" at 0x40000000 + k * 0x100, with at least 2
// leaves after the base. Sets base and the version (eax of base + 1); false if none.
bool find_xen_leaves(CpuidFn cpuid, uint32_t& base_out, uint32_t& version_out) {
  for (uint32_t base = 0x40000000; base < 0x40010000; base += 0x100) {
    uint32_t r[4];
    cpuid(base, r);
    char s[13];
    sig12(s, r[1], r[2], r[3]);
    if (strcmp(s, "XenVMMXenVMM") == 0 && r[0] - base >= 2) {
      base_out = base;
      cpuid(base + 1, r);
      version_out = r[0];
      return true;
    }
  }
  return false;
}

Cpuid read_cpuid() {
  Cpuid c;
  uint32_t a, b, cx, d;
  __cpuid(0, a, b, cx, d);
  sig12(c.vendor, b, d, cx);
  uint32_t max_basic = a;
  if (max_basic >= 1) {
    __cpuid(1, a, b, cx, d);
    c.hv_bit = (cx >> 31) & 1;
  }
  if (c.hv_bit) {
    __cpuid(0x40000000, a, b, cx, d);
    sig12(c.signature, b, cx, d);
    find_xen_leaves(plain_cpuid, c.xen_base, c.xen_version);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Probe runner: timeout and fault handling

enum Status { kPass, kFail, kSkip };
using ProbeFn = Status (*)(char* detail, size_t cap);

int g_pass = 0, g_fail = 0, g_skip = 0;
const char* volatile g_current = "startup";

sigjmp_buf g_timeout_jmp;
volatile sig_atomic_t g_in_probe = 0;
volatile pid_t g_child = 0;

sigjmp_buf g_fault_jmp;
volatile sig_atomic_t g_fault_armed = 0;

void on_alarm(int) {
  if (g_in_probe) siglongjmp(g_timeout_jmp, 1);
}

// An expected fault (armed by faults() or read_cpuid_fep()) jumps back; any other one prints a
// panic record and returns with the default action: the re-executed access kills init (panic).
void on_fault(int sig) {
  if (g_fault_armed) {
    g_fault_armed = 0;
    siglongjmp(g_fault_jmp, 1);
  }
  char detail[128] = "agent: unexpected signal ";
  char num[8];
  int n = 0, s = sig;
  do num[n++] = static_cast<char>('0' + s % 10); while ((s /= 10) != 0);
  size_t l = strlen(detail);
  while (n) detail[l++] = num[--n];
  detail[l] = 0;
  strcat(detail, " (");
  strcat(detail, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
  strcat(detail, ") in ");
  strncat(detail, g_current, sizeof detail - strlen(detail) - 1);
  Record().str("ev", "panic").str("detail", detail).emit();
  signal(sig, SIG_DFL);
}

// Runs fn(p); true if it faulted (SIGSEGV/SIGBUS) instead of returning.
template <typename F>
bool faults(F fn, volatile char* p) {
  if (sigsetjmp(g_fault_jmp, 1) != 0) return true;
  g_fault_armed = 1;
  fn(p);
  g_fault_armed = 0;
  return false;
}
void write_byte(volatile char* p) { *p = 0x5a; }
void read_byte(volatile char* p) { (void)*p; }

// Fills c.fep_* (PV guests only); a SIGILL (no forced emulation) is caught and noted.
void read_cpuid_fep(Cpuid& c) {
  c.fep_tried = true;
  if (sigsetjmp(g_fault_jmp, 1) != 0) {
    c.fep_faulted = true;
    return;
  }
  g_fault_armed = 1;
  find_xen_leaves(fep_cpuid, c.fep_xen_base, c.fep_xen_version);
  g_fault_armed = 0;
}

// Returns true if the probe failed.
bool run_probe(const char* id, ProbeFn fn) {
  static char detail[kFieldCap + 1];
  detail[0] = 0;
  g_current = id;
  g_child = 0;
  volatile Status st = kFail;
  if (sigsetjmp(g_timeout_jmp, 1) == 0) {
    g_in_probe = 1;
    alarm(kProbeTimeoutS);
    st = fn(detail, sizeof detail);
    alarm(0);
    g_in_probe = 0;
  } else {
    g_in_probe = 0;
    g_fault_armed = 0;
    if (g_child > 0) {
      kill(g_child, SIGKILL);
      waitpid(g_child, nullptr, 0);
      g_child = 0;
    }
    st = kFail;
    snprintf(detail, sizeof detail, "timed out after %u s", kProbeTimeoutS);
  }
  const char* status = st == kPass ? "pass" : st == kSkip ? "skip" : "fail";
  (st == kPass ? g_pass : st == kSkip ? g_skip : g_fail)++;
  Record().str("ev", "probe").str("id", id).str("status", status).str("detail", detail).emit();
  g_current = "agent";
  return st == kFail;
}

struct ProbeDef {
  const char* id;
  ProbeFn fn;
};

template <size_t N>
void run_stage(const char* stage, const ProbeDef (&probes)[N]) {
  stage_begin(stage);
  bool failed = false;
  for (const ProbeDef& p : probes) failed |= run_probe(p.id, p.fn);
  stage_record(stage, !failed);
}

#define DETAIL(...) (snprintf(detail, cap, __VA_ARGS__), 0)

// ---------------------------------------------------------------------------------------------
// Stage cpu

Cpuid g_cpuid;

// Appends what the forced-emulation cpuid saw (PV guests only).
void append_fep(const Cpuid& c, char* detail, size_t cap) {
  if (!c.fep_tried) return;
  size_t l = strlen(detail);
  if (c.fep_faulted)
    snprintf(detail + l, cap - l, "; forced-emulation cpuid raised SIGILL");
  else if (c.fep_xen_base)
    snprintf(detail + l, cap - l, "; forced-emulation cpuid (PV) finds Xen leaves at base 0x%08x", c.fep_xen_base);
  else
    snprintf(detail + l, cap - l, "; forced-emulation cpuid (PV) finds no Xen leaves either");
}

// Plain cpuid, as any user program runs it: under Xen it must show Xen's leaves.
Status probe_cpuid(char* detail, size_t cap) {
  const Cpuid& c = g_cpuid;
  if (!c.vendor[0]) return DETAIL("cpuid leaf 0 returned no vendor"), kFail;
  if (!c.hv_bit)
    DETAIL("vendor %s; no hypervisor bit (leaf 1 ecx.31 clear)", c.vendor);
  else if (c.xen_base)
    DETAIL("vendor %s; hypervisor signature %s at 0x40000000; Xen leaves at base 0x%08x", c.vendor, c.signature,
           c.xen_base);
  else
    DETAIL("vendor %s; hypervisor signature %s at 0x40000000; no XenVMMXenVMM leaves", c.vendor, c.signature);
  if (g_hv.xen && !c.xen_base) {
    // A PV guest's plain cpuid reaches the CPU unless Xen can fault it (CPUID faulting, which
    // QEMU's TCG CPU does not offer): Linux itself uses the forced-emulation form there. The
    // probe passes when that one finds Xen, and fails when neither does.
    size_t l = strlen(detail);
    snprintf(detail + l, cap - l, "; /sys/hypervisor/type is xen: plain cpuid not intercepted (no CPUID faulting)");
    append_fep(c, detail, cap);
    return c.fep_tried && c.fep_xen_base ? kPass : kFail;
  }
  return kPass;
}

Status probe_linux_hypervisor(char* detail, size_t cap) {
  const Cpuid& c = g_cpuid;
  if (!g_hv.xen) {
    char sys[96] = "no /sys/hypervisor/type";
    if (g_hv.type[0]) snprintf(sys, sizeof sys, "/sys/hypervisor/type is %s", g_hv.type);
    if (c.xen_base) return DETAIL("cpuid reports Xen at 0x%08x but %s", c.xen_base, sys), kFail;
    return DETAIL("%s; cpuid shows no Xen leaves", sys), kPass;
  }
  char* end = nullptr;
  unsigned long maj = strtoul(g_hv.major, &end, 10);
  bool maj_ok = g_hv.major[0] && *end == 0;
  unsigned long min = strtoul(g_hv.minor, &end, 10);
  bool min_ok = g_hv.minor[0] && *end == 0;
  if (!maj_ok || !min_ok)
    return DETAIL("/sys/hypervisor/version major='%s' minor='%s' are not numbers", g_hv.major, g_hv.minor), kFail;
  const char* gt = g_hv.guest_type;
  if (strcmp(gt, "PV") != 0 && strcmp(gt, "PVH") != 0 && strcmp(gt, "HVM") != 0)
    return DETAIL("xen %lu.%lu: guest_type '%s' is not PV, PVH or HVM", maj, min, gt), kFail;
  // The CPUID the kernel itself identified Xen with: in a PV guest the forced-emulation one.
  const bool fep = c.fep_tried;
  const char* how = fep ? "forced-emulation cpuid" : "cpuid";
  uint32_t base = fep ? c.fep_xen_base : c.xen_base, version = fep ? c.fep_xen_version : c.xen_version;
  if (!base)
    return DETAIL("/sys/hypervisor says xen %lu.%lu (%s) but %s shows no XenVMMXenVMM leaves%s", maj, min, gt, how,
                  fep && c.fep_faulted ? " (SIGILL)" : ""),
           kFail;
  unsigned cmaj = version >> 16, cmin = version & 0xffff;
  if (cmaj != maj || cmin != min)
    return DETAIL("/sys/hypervisor says xen %lu.%lu but %s leaf 0x%08x says %u.%u", maj, min, how, base + 1, cmaj,
                  cmin),
           kFail;
  return DETAIL("xen %lu.%lu%s guest_type %s; %s leaf 0x%08x agrees", maj, min, g_hv.extra, gt, how, base + 1),
         kPass;
}

// ---------------------------------------------------------------------------------------------
// Stage irq

// The summed per-CPU counts of the first /proc/interrupts line accepted by match(), -1 if none.
long long interrupt_count(bool (*match)(const char* label, const char* rest)) {
  static char buf[65536];
  if (read_text("/proc/interrupts", buf, sizeof buf) <= 0) return -1;
  char* line = buf;
  bool header = true;
  while (line && *line) {
    char* nl = strchr(line, '\n');
    if (nl) *nl = 0;
    if (header) {
      header = false;  // "           CPU0       CPU1"
    } else {
      char* p = line;
      while (*p == ' ') ++p;
      char* colon = strchr(p, ':');
      if (colon) {
        *colon = 0;
        const char* label = p;
        p = colon + 1;
        long long sum = 0;
        for (;;) {
          while (*p == ' ' || *p == '\t') ++p;
          if (*p < '0' || *p > '9') break;
          sum += strtoll(p, &p, 10);
        }
        if (match(label, p)) return sum;
      }
    }
    line = nl ? nl + 1 : nullptr;
  }
  return -1;
}

// "24:  353  xen-percpu    -virq      timer0": chip "xen-percpu", handler "-virq", name "timer0"
// (the per-CPU VIRQ_TIMER event channel of CPU 0).
bool is_xen_timer(const char*, const char* rest) {
  const char* last = rest;
  for (const char* p = rest; *p; ++p)
    if (*p != ' ' && *p != '\t' && (p == rest || p[-1] == ' ' || p[-1] == '\t')) last = p;
  return strstr(rest, "xen-percpu") && strstr(rest, "virq") && strcmp(last, "timer0") == 0;
}
bool is_loc(const char* label, const char*) { return strcmp(label, "LOC") == 0; }

Status probe_interrupts(char* detail, size_t cap) {
  struct Line {
    const char* name;
    bool (*match)(const char*, const char*);
    long long before;
  } lines[] = {{"xen-percpu virq timer0", is_xen_timer, -1}, {"LOC", is_loc, -1}};
  bool any = false;
  for (Line& l : lines) any |= (l.before = interrupt_count(l.match)) >= 0;
  if (!any) return DETAIL("/proc/interrupts has neither a xen-percpu virq timer0 line nor LOC"), kFail;
  sleep_ns(20 * kNsPerMs);
  for (Line& l : lines) {
    if (l.before < 0) continue;
    long long after = interrupt_count(l.match);
    if (after > l.before) return DETAIL("%s count increased across a 20 ms nanosleep", l.name), kPass;
  }
  char seen[128] = "";
  for (Line& l : lines)
    if (l.before >= 0) strcat(strcat(seen, seen[0] ? ", " : ""), l.name);
  return DETAIL("no timer interrupt line increased across a 20 ms nanosleep (looked at: %s)", seen), kFail;
}

Status probe_halt(char* detail, size_t cap) {
  long long t0 = now_ns();
  sleep_ns(5 * kNsPerMs);
  long long dt = now_ns() - t0;
  if (dt < 5 * kNsPerMs) return DETAIL("5 ms nanosleep returned before 5 ms had passed"), kFail;
  return DETAIL("5 ms nanosleep returned after at least 5 ms"), kPass;
}

// ---------------------------------------------------------------------------------------------
// Stage mmu

Status probe_tlb_flush(char* detail, size_t cap) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t pages = 4, len = pages * page;
  void* m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return DETAIL("mmap of %zu pages: %s", pages, errname(errno)), kFail;
  volatile char* p = static_cast<volatile char*>(m);
  for (size_t i = 0; i < pages; ++i) p[i * page] = static_cast<char>(i + 1);
  if (mprotect(m, len, PROT_READ) != 0) {
    munmap(m, len);
    return DETAIL("mprotect(PROT_READ): %s", errname(errno)), kFail;
  }
  for (size_t i = 0; i < pages; ++i) {
    if (p[i * page] != static_cast<char>(i + 1)) {
      munmap(m, len);
      return DETAIL("page %zu lost its contents after mprotect(PROT_READ)", i), kFail;
    }
    if (!faults(write_byte, p + i * page)) {
      munmap(m, len);
      return DETAIL("write to page %zu did not fault after mprotect(PROT_READ) (stale writable TLB entry)", i),
             kFail;
    }
  }
  if (mprotect(m, len, PROT_READ | PROT_WRITE) != 0) {
    munmap(m, len);
    return DETAIL("mprotect(PROT_READ|PROT_WRITE): %s", errname(errno)), kFail;
  }
  for (size_t i = 0; i < pages; ++i) {
    if (faults(write_byte, p + i * page)) {
      munmap(m, len);
      return DETAIL("write to page %zu faulted after mprotect(PROT_READ|PROT_WRITE) (stale read-only TLB entry)", i),
             kFail;
    }
  }
  if (munmap(m, len) != 0) return DETAIL("munmap: %s", errname(errno)), kFail;
  for (size_t i = 0; i < pages; ++i)
    if (!faults(read_byte, p + i * page))
      return DETAIL("read of page %zu did not fault after munmap (stale TLB entry)", i), kFail;
  return DETAIL("%zu pages: writes faulted after mprotect(PROT_READ), succeeded after PROT_WRITE, reads faulted "
                "after munmap", pages),
         kPass;
}

uint32_t pattern(size_t page, size_t word, uint32_t salt) {
  return salt ^ static_cast<uint32_t>(page * 2654435761u) ^ static_cast<uint32_t>(word * 40503u);
}

Status probe_lazy_batch(char* detail, size_t cap) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t pages = 256, words = page / sizeof(uint32_t), len = pages * page;
  const uint32_t kParent = 0xa5a5a5a5u, kChild = 0x5a5a5a5au;
  void* m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return DETAIL("mmap of %zu pages: %s", pages, errname(errno)), kFail;
  volatile uint32_t* w = static_cast<volatile uint32_t*>(m);
  for (size_t i = 0; i < pages; ++i)
    for (size_t j = 0; j < words; j += 16) w[i * words + j] = pattern(i, j, kParent);
  pid_t pid = fork();
  if (pid < 0) {
    munmap(m, len);
    return DETAIL("fork: %s", errname(errno)), kFail;
  }
  if (pid == 0) {
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    signal(SIGALRM, SIG_DFL);
    for (size_t i = 0; i < pages; ++i)
      for (size_t j = 0; j < words; j += 16)
        if (w[i * words + j] != pattern(i, j, kParent)) _exit(1);
    for (size_t i = 0; i < pages; ++i)
      for (size_t j = 0; j < words; j += 16) w[i * words + j] = pattern(i, j, kChild);
    for (size_t i = 0; i < pages; ++i)
      for (size_t j = 0; j < words; j += 16)
        if (w[i * words + j] != pattern(i, j, kChild)) _exit(2);
    _exit(0);
  }
  g_child = pid;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_child = 0;
  size_t changed = pages;
  for (size_t i = 0; i < pages && changed == pages; ++i)
    for (size_t j = 0; j < words; j += 16)
      if (w[i * words + j] != pattern(i, j, kParent)) {
        changed = i;
        break;
      }
  munmap(m, len);
  if (WIFSIGNALED(status)) return DETAIL("child killed by signal %d (%s)", WTERMSIG(status), sigabbrev_np(WTERMSIG(status))), kFail;
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 1)
    return DETAIL("child did not see the parent's pattern in its copy of %zu pages", pages), kFail;
  if (WEXITSTATUS(status) == 2) return DETAIL("child's writes to its %zu pages did not stick", pages), kFail;
  if (WEXITSTATUS(status) != 0) return DETAIL("child exited %d", WEXITSTATUS(status)), kFail;
  if (changed != pages)
    return DETAIL("parent's page %zu changed after the child rewrote its copy (copy-on-write broken)", changed), kFail;
  return DETAIL("%zu pages across fork(): child saw the parent's pattern and rewrote every page; parent's pages "
                "unchanged", pages),
         kPass;
}

// ---------------------------------------------------------------------------------------------
// Stage timer

Status probe_counter_monotonic(char* detail, size_t cap) {
  constexpr int kReads = 20000;  // each a trapped rdtsc under nested Xen: ~70 us of host time
  long long prev = now_ns();
  for (int i = 0; i < kReads; ++i) {
    long long t = now_ns();
    if (t < prev) return DETAIL("CLOCK_MONOTONIC went back at read %d of %d", i + 1, kReads), kFail;
    prev = t;
  }
  return DETAIL("%d CLOCK_MONOTONIC reads never went back", kReads), kPass;
}

// timerfd_create, or a skip/fail status with the reason in detail.
int make_timerfd(char* detail, size_t cap, Status& why) {
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    DETAIL("timerfd_create(CLOCK_MONOTONIC): %s", errname(e));
    why = (e == ENOSYS || e == EINVAL) ? kSkip : kFail;
  }
  return fd;
}

Status probe_oneshot(char* detail, size_t cap) {
  Status why;
  int fd = make_timerfd(detail, cap, why);
  if (fd < 0) return why;
  itimerspec its{};
  its.it_value.tv_nsec = 10 * kNsPerMs;
  long long t0 = now_ns();
  if (timerfd_settime(fd, 0, &its, nullptr) != 0) {
    close(fd);
    return DETAIL("timerfd_settime(10 ms one-shot): %s", errname(errno)), kFail;
  }
  uint64_t n = 0;
  ssize_t r = read(fd, &n, sizeof n);
  long long dt = now_ns() - t0;
  if (r != sizeof n) {
    close(fd);
    return DETAIL("read of the 10 ms one-shot timerfd: %s", r < 0 ? errname(errno) : "short read"), kFail;
  }
  pollfd pfd{fd, POLLIN, 0};
  int again = poll(&pfd, 1, 30);
  close(fd);
  if (n != 1) return DETAIL("10 ms one-shot reported more than one expiration"), kFail;
  if (dt < 10 * kNsPerMs) return DETAIL("10 ms one-shot expired before 10 ms had passed"), kFail;
  if (dt > 210 * kNsPerMs) return DETAIL("10 ms one-shot expired later than 10 ms + 200 ms"), kFail;
  if (again != 0) return DETAIL("10 ms one-shot expired again within the following 30 ms"), kFail;
  return DETAIL("10 ms one-shot expired once within [10 ms, 210 ms] and not again within 30 ms"), kPass;
}

Status probe_periodic(char* detail, size_t cap) {
  Status why;
  int fd = make_timerfd(detail, cap, why);
  if (fd < 0) return why;
  itimerspec its{};
  its.it_value.tv_nsec = 2 * kNsPerMs;
  its.it_interval.tv_nsec = 2 * kNsPerMs;
  long long t0 = now_ns();
  if (timerfd_settime(fd, 0, &its, nullptr) != 0) {
    close(fd);
    return DETAIL("timerfd_settime(2 ms periodic): %s", errname(errno)), kFail;
  }
  uint64_t total = 0;
  while (total < 10) {
    uint64_t n = 0;
    ssize_t r = read(fd, &n, sizeof n);
    if (r != sizeof n) {
      close(fd);
      return DETAIL("read of the 2 ms periodic timerfd: %s", r < 0 ? errname(errno) : "short read"), kFail;
    }
    total += n;
  }
  long long dt = now_ns() - t0;
  close(fd);
  if (dt < 20 * kNsPerMs) return DETAIL("10 expirations of a 2 ms periodic timer came before 20 ms"), kFail;
  if (dt >= 1000 * kNsPerMs) return DETAIL("10 expirations of a 2 ms periodic timer took 1 s or more"), kFail;
  return DETAIL("2 ms periodic timer: 10 expirations within [20 ms, 1 s)"), kPass;
}

Status probe_wallclock(char* detail, size_t cap) {
  timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return DETAIL("clock_gettime(CLOCK_REALTIME): %s", errname(errno)), kFail;
  long long s = static_cast<long long>(ts.tv_sec);
  time_t t = ts.tv_sec;
  tm g{};
  char when[40] = "?";
  if (gmtime_r(&t, &g)) strftime(when, sizeof when, "%Y-%m-%dT%H:%MZ", &g);
  bool ok = s >= kWallclockBase && s <= kWallclockBase + 3600;
  return DETAIL("CLOCK_REALTIME reads %s; %s [2026-01-01T00:00Z, +1 h]", when, ok ? "within" : "outside"),
         ok ? kPass : kFail;
}

Status probe_clocksource(char* detail, size_t cap) {
  char cur[64], avail[400];
  if (read_text("/sys/devices/system/clocksource/clocksource0/current_clocksource", cur, sizeof cur) <= 0)
    return DETAIL("cannot read current_clocksource: %s", errname(errno)), kFail;
  if (read_text("/sys/devices/system/clocksource/clocksource0/available_clocksource", avail, sizeof avail) < 0)
    return DETAIL("cannot read available_clocksource: %s", errname(errno)), kFail;
  bool ok = has_word(avail, cur);
  return DETAIL("current=%s available=%s%s", cur, avail, ok ? "" : " (current not listed)"), ok ? kPass : kFail;
}

// ---------------------------------------------------------------------------------------------
// Startup and shutdown

// mkdir + mount; appends a failure to `errors`.
void mount_fs(const char* source, const char* target, const char* type, char* errors, size_t cap) {
  if (mkdir(target, 0555) != 0 && errno != EEXIST) {
    size_t l = strlen(errors);
    snprintf(errors + l, cap - l, "%smkdir %s: %s", l ? "; " : "", target, errname(errno));
    return;
  }
  if (mount(source, target, type, MS_NOSUID | MS_NOEXEC | MS_NODEV, nullptr) != 0 && errno != EBUSY) {
    size_t l = strlen(errors);
    snprintf(errors + l, cap - l, "%smount %s on %s: %s", l ? "; " : "", type, target, errname(errno));
  }
}

void open_console() {
  g_console = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (g_console < 0 && fcntl(1, F_GETFD) >= 0) g_console = 1;  // the kernel's stdout for init
}

void install_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, nullptr);
  sa.sa_handler = on_fault;
  sigaction(SIGSEGV, &sa, nullptr);
  sigaction(SIGBUS, &sa, nullptr);
  sigaction(SIGILL, &sa, nullptr);
  sigaction(SIGFPE, &sa, nullptr);
}

}  // namespace

int main() {
  char mount_errors[kFieldCap] = "";
  // devtmpfs only if the archive does not bring /dev/console (ours does).
  if (access("/dev/console", F_OK) != 0) mount_fs("devtmpfs", "/dev", "devtmpfs", mount_errors, sizeof mount_errors);
  open_console();
  klogctl(8 /* SYSLOG_ACTION_CONSOLE_LEVEL */, nullptr, 1);
  mount_fs("proc", "/proc", "proc", mount_errors, sizeof mount_errors);
  mount_fs("sysfs", "/sys", "sysfs", mount_errors, sizeof mount_errors);
  install_handlers();

  utsname u{};
  uname(&u);
  char cmdline[4096];
  read_text("/proc/cmdline", cmdline, sizeof cmdline);
  const char* start = cmdline;
  while (*start == ' ') ++start;
  Record().num("v", 1).str("ev", "hello").str("kernel", u.release).str("build", "agent-" PVM_AGENT_ARCH)
      .str("cmdline", start).emit();
  stage_begin("boot");

  char boot_detail[kFieldCap + 1];
  snprintf(boot_detail, sizeof boot_detail, "%s %s%s%s", u.machine, u.release, mount_errors[0] ? "; " : "",
           mount_errors);
  stage_record("boot", mount_errors[0] == 0, boot_detail);

  stage_begin("bind");
  read_hypervisor();
  g_cpuid = read_cpuid();
  if (g_hv.xen && strcmp(g_hv.guest_type, "PV") == 0) read_cpuid_fep(g_cpuid);
  Binding b = binding();
  {
    Record r;
    r.str("ev", "hv").str("family", g_hv.xen ? "xen" : "none");
    if (g_hv.xen) {
      char api[80], version[256];
      snprintf(api, sizeof api, "%s.%s", g_hv.major, g_hv.minor);
      snprintf(version, sizeof version, "%s.%s%s", g_hv.major, g_hv.minor, g_hv.extra);
      r.str("name", "xen").str("api", api).str("version", version);
    }
    r.str("guest_type", g_hv.guest_type).str("clocksource", g_hv.clocksource).str("clockevent", g_hv.clockevent);
    r.begin("binding").str("cpu", b.cpu).str("irq", b.irq).str("mmu", b.mmu).str("timer", b.timer).str("lazy", b.lazy);
    r.end().emit();
  }
  char bind_detail[160];
  snprintf(bind_detail, sizeof bind_detail, "cpu=%s irq=%s mmu=%s timer=%s lazy=%s", b.cpu, b.irq, b.mmu, b.timer,
           b.lazy);
  stage_record("bind", true, bind_detail);

  static const ProbeDef cpu[] = {{"cpu.cpuid", probe_cpuid}, {"linux.hypervisor", probe_linux_hypervisor}};
  static const ProbeDef irq[] = {{"linux.interrupts", probe_interrupts}, {"irq.halt", probe_halt}};
  static const ProbeDef mmu[] = {{"mmu.tlb_flush", probe_tlb_flush}, {"mmu.lazy_batch", probe_lazy_batch}};
  static const ProbeDef timer[] = {{"time.counter_monotonic", probe_counter_monotonic},
                                   {"time.oneshot", probe_oneshot},
                                   {"time.periodic", probe_periodic},
                                   {"time.wallclock", probe_wallclock},
                                   {"linux.clocksource", probe_clocksource}};
  run_stage("cpu", cpu);
  run_stage("irq", irq);
  run_stage("mmu", mmu);
  run_stage("timer", timer);

  stage_begin("shutdown");
  stage_record("shutdown", true);
  Record().str("ev", "done").num("pass", g_pass).num("fail", g_fail).num("skip", g_skip).emit();
  sync();
  reboot(RB_POWER_OFF);
  char why[96];
  snprintf(why, sizeof why, "reboot(RB_POWER_OFF) failed: %s", errname(errno));
  Record().str("ev", "panic").str("detail", why).emit();
  for (;;) pause();
}
