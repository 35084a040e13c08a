// The cell: one boot of one kernel release on one hypervisor version with one config.
// These types are the seam between the parts of the harness: the launchers (QEMU,
// libvirt) produce a BootOutcome, the classifier turns it into a CellResult, the
// scheduler and the reports consume CellResults. Serialized as the DESIGN §6 cell object.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace pvm {

/// A cell status (DESIGN §5). The first six are what a boot can show; XFAIL, XPASS
/// and FLAKY are applied afterwards from expectations and retries.
enum class Status { Pass, Fail, Crash, Hang, Error, Skip, Xfail, Xpass, Flaky };

/// What a guest bound each op group to: op group name ("cpu" "irq" "mmu" "timer" "lazy") ->
/// target name ("rom" | "xen" | "native"; op_group.h has both as enums). Kept as the names the
/// guest wrote: its records are untrusted, and a name this harness does not know is reported as
/// written rather than dropped.
using Binding = std::map<std::string, std::string>;

/// One row of the status table, as lit's ResultCode: the status's name and what it means.
struct StatusInfo {
  Status status;
  const char* name;  ///< "PASS", "FAIL", ... as in JSON, JUnit and the HTML report
  bool works;        ///< the cell booted and passed (on a retry, or against an expectation)
  bool unexpected;   ///< an unexpected failure: makes `run` exit 1
  bool broken;       ///< the boot showed the kernel does not work there (expected or not)
};
/// Every status, in the order reports list them (docs/contracts.md "Cell object", `status`).
inline constexpr StatusInfo kStatuses[] = {
    {Status::Pass, "PASS", true, false, false},    {Status::Fail, "FAIL", false, true, true},
    {Status::Crash, "CRASH", false, true, true},   {Status::Hang, "HANG", false, true, true},
    {Status::Error, "ERROR", false, true, false},  {Status::Skip, "SKIP", false, false, false},
    {Status::Xfail, "XFAIL", false, false, true},  {Status::Xpass, "XPASS", true, true, false},
    {Status::Flaky, "FLAKY", true, false, false},
};
/// The row of `s`.
const StatusInfo& info(Status s);
/// The status table as JSON: [{"name":"PASS","works":true,"unexpected":false,"broken":false}, ...]
/// (`pvmatrix list --statuses`, the HTML report's data block).
nlohmann::json status_table_json();

/// "PASS", "FAIL", ... as in JSON, JUnit and the HTML report.
const char* to_string(Status s);
/// Parses "PASS", ...; nullopt for anything else (callers name the file and field).
std::optional<Status> status_from_string(const std::string& s);
/// True for statuses that make `run` exit 1: FAIL CRASH HANG ERROR XPASS.
bool is_unexpected_failure(Status s);
/// True when the cell booted and passed: PASS, XPASS (against an expectation) or FLAKY (on a retry).
bool works(Status s);

/// What to boot. Everything a launcher needs, resolved to paths; the cache key is a digest of it.
/// -icount shift: each guest instruction counts 2^shift ns of virtual time. icount makes the
/// guest's clocks deterministic (without it time.sched_clock fails at random on a loaded host);
/// a larger shift makes the guest's busy-waits on time take fewer instructions (measured on
/// 2.6.25/rom-1.13: shift 0 ~1.8 s, 3 ~0.45 s; the 32 cells of tests/e2e/test_world.py: shift 0
/// 48 s, shift 4 28 s, same outcomes; both on a 2-core host at load ~16).
/// Family xen sets 0 in version.json: Xen's own code then counts 1 ns per instruction, close
/// to real hardware; at 4 its timer path alone made interrupts ~1.6 ms late.
inline constexpr int kDefaultIcountShift = 4;

struct CellSpec {
  std::string kernel;             ///< release, e.g. "2.6.25"
  std::string hv;                 ///< hypervisor version, e.g. "rom-1.12"
  std::string config = "default"; ///< config name from the matrix
  std::string cmdline;            ///< kernel command line, e.g. "pv.native=timer"
  std::string kernel_image;       ///< path to the multiboot ELF (a real kernel: its uncompressed vmlinux)
  std::string rom_image;          ///< path to the ROM binary ("" for none)
  std::string machine = "microvm";///< QEMU machine type (from version.json, config may override)
  std::string cpu = "qemu32";     ///< QEMU CPU model
  uint32_t memory_mib = 64;       ///< guest RAM
  std::vector<std::string> extra_qemu_args; ///< from version.json platform "devices"/config
  double timeout_s = 10.0;        ///< wall-clock budget for one attempt
  int icount_shift = kDefaultIcountShift; ///< QEMU -icount shift (version.json platform.icount_shift)
  std::string family = "rom";     ///< the version's family: "rom" | "xen"
  std::string qemu;               ///< QEMU binary the version needs; "" = the launcher's default
  std::string hypervisor_image;   ///< family xen: the Xen binary (QEMU -kernel; the kernel is a module)
  std::string hypervisor_cmdline; ///< family xen: Xen's command line
  std::string skip_reason;        ///< not "": the cell's requirements are missing; it is SKIP, not booted
  std::string kernel_family = "reference"; ///< "reference" (kernel/, tests/fixtures) | "linux" (kernel/linux/)
  std::string initrd;             ///< family linux: the guest agent's initramfs (newc cpio)
  std::string dom0_mode;          ///< family xen: "pvh" | "pv", as Xen's command line says ("" otherwise)

  /// Stable id: "kernel=2.6.25/hv=rom-1.12/cfg=default".
  std::string id() const;
};

/// One parsed probe record.
struct Probe {
  std::string id;      ///< stable across releases, e.g. "time.oneshot"
  std::string status;  ///< "pass" | "fail" | "skip"
  std::string detail;  ///< guest text (untrusted)
  std::optional<int> call;  ///< ROM call number involved, when the guest names one
};

/// One parsed stage record.
struct Stage {
  std::string name;    ///< "boot" "rom" "bind" "cpu" "irq" "mmu" "timer" "shutdown"
  std::string status;  ///< "ok" | "fail" | "skip"
  std::string detail;
};

/// One attempt at booting a cell (retries make several).
struct Attempt {
  Status status = Status::Error;
  uint64_t duration_ms = 0;
  std::optional<int> exit_code;   ///< QEMU's exit status, when it exited
  std::optional<int> signal;      ///< signal that ended QEMU, when it was killed
  std::string reason;             ///< one line: why this status
  std::optional<uint64_t> cpu_ms;     ///< CPU time QEMU got (unknown: a remote libvirt host, or no schedstat)
  std::optional<uint64_t> starved_ms; ///< wall time QEMU waited for a CPU (not counted in the budget)
};

/// The classified result of a cell (DESIGN §6 cell object).
struct CellResult {
  CellSpec spec;
  Status status = Status::Error;        ///< final status (after expectations and retries)
  Status outcome = Status::Error;       ///< what the last boot showed (PASS..SKIP)
  std::optional<std::string> expected;  ///< expected outcome from known issues ("FAIL"), if any
  std::string expected_reason;          ///< known-issue reason
  std::string expected_link;            ///< known-issue link
  Binding binding;                      ///< what the guest bound each op group to
  std::string hv_api;                   ///< API version the guest saw, "3.2" ("" if none)
  std::vector<std::string> hv_features; ///< feature names the guest saw
  std::string hv_refused;               ///< why the kernel refused the ROM ("" if accepted)
  std::string kernel_build;             ///< build id from the hello record
  std::string stage;                    ///< last stage reached
  std::vector<Stage> stages;
  std::vector<Probe> probes;
  uint64_t duration_ms = 0;             ///< last attempt's wall time
  std::vector<Attempt> attempts;
  std::string reason;                   ///< one line: why this status
  std::string evidence;                 ///< the log excerpt that shows why (untrusted text)
  std::string log_path;                 ///< serial log, relative to the report dir when in a run
  std::vector<std::string> qemu_cmdline;///< argv to reproduce the boot
  std::string host;                     ///< which host/connection ran it
  std::string backend = "qemu";         ///< "qemu" | "libvirt"
};

void to_json(nlohmann::json& j, const CellResult& c);
/// Throws std::runtime_error naming the field on malformed input.
void from_json(const nlohmann::json& j, CellResult& c);

}  // namespace pvm
