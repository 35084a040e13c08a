// The seam between "what to boot" and "how to boot it" (ninja's CommandRunner):
// QemuLauncher execs QEMU directly, LibvirtLauncher creates a transient libvirt domain,
// tests use a fake. A launcher only boots and collects; it never classifies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cell.h"

namespace pvm {

/// What one boot left behind, before classification.
struct BootOutcome {
  bool started = false;            ///< false: the launcher could not start the guest (ERROR)
  std::string start_error;         ///< why it could not start (names the path or URI tried)
  bool timed_out = false;          ///< the launcher killed the guest when its time budget ran out
  bool interrupted = false;        ///< killed because the run was interrupted
  std::optional<int> exit_code;    ///< QEMU's exit status ((code << 1) | 1 for isa-debug-exit)
  std::optional<int> signal;       ///< signal that killed QEMU (not by us)
  bool exit_status_known = true;   ///< false through libvirt: the debug-exit status is lost
  std::string serial;              ///< serial output, bounded (see kSerialLimit); untrusted
  bool serial_truncated = false;   ///< more output arrived than kept
  uint64_t serial_bytes = 0;       ///< total bytes the guest wrote
  std::string stderr_text;         ///< launcher/QEMU diagnostics, bounded
  uint64_t duration_ms = 0;
  bool host_limit = false;         ///< killed at the wall-clock safety limit: the host starved it (ERROR)
  std::optional<uint64_t> cpu_ms;    ///< CPU time QEMU got (its threads), when the host tells
  std::optional<uint64_t> starved_ms;///< wall time QEMU sat runnable but not running (the budget skips it)
  std::vector<std::string> cmdline;///< argv (or the virsh/XML equivalent) to reproduce
  std::string host;                ///< where it ran
};

/// Guest wall clock at power-on, identical for every boot and launcher (QEMU `-rtc base=`,
/// libvirt `<clock offset='absolute'>`): with -icount the guest's clocks then follow virtual
/// time only, so every probe detail, time.wallclock included, is the same run after run.
inline constexpr const char* kGuestRtcBase = "2026-01-01T00:00:00";
inline constexpr long long kGuestRtcEpoch = 1767225600;  ///< kGuestRtcBase in Unix seconds

/// Serial bytes kept per boot: the head is kept, later output is counted and dropped.
inline constexpr size_t kSerialLimit = 1 << 20;

/// Boots cells. Implementations must be safe to call from several threads at once.
class Launcher {
 public:
  virtual ~Launcher() = default;
  /// Boots `spec` once and returns what happened. Never throws for guest or host faults.
  virtual BootOutcome boot(const CellSpec& spec) = 0;
  /// Kills every guest this launcher has running (SIGINT/SIGTERM path). Async-signal-unsafe;
  /// called from the main thread after a signal was noted.
  virtual void kill_all() = 0;
  /// "qemu" or "libvirt".
  virtual std::string name() const = 0;
  /// Why this launcher cannot boot `spec` at all ("" when it can): the cell is SKIP with that
  /// reason instead of being booted wrongly.
  virtual std::string cannot_boot(const CellSpec&) const { return {}; }
  /// How many boots it can usefully run at once when the user gave no -j; 0 = no opinion.
  virtual size_t suggested_jobs() const { return 0; }
};

}  // namespace pvm
