// Boots a cell by exec'ing QEMU directly: serial on a pipe, a wall-clock timeout, the
// whole process group killed when it runs out. Collects; never classifies.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "launcher.h"

namespace pvm {

class BootBudget;

/// The QEMU binary used unless told otherwise (the real one, not Debian's xen wrapper script).
inline constexpr const char* kDefaultQemu = "/usr/libexec/qemu-system-i386";
/// QEMU stderr bytes kept per boot.
inline constexpr size_t kStderrLimit = 64 * 1024;

/// How long a boot's reader lets serial output pile up in the pipe after a wakeup that read
/// `got_bytes` gathered over `elapsed_ns`: a fifth of the boot's age, from 1 ms (a reference
/// kernel is over in ~20 ms) to 200 ms from the boot's first second on (Xen's console comes in
/// bursts a few hundred ms apart: the first five are read in two), and to a second while
/// `before_records` (a watched boot whose guest has written no record yet: only a console banner
/// can end it then, Xen or the kernel dying before the guest's own part began, a failure either
/// way; a real kernel's boot log through Xen comes in dozens of bursts); never longer than the
/// output, at the rate it has just come, takes to fill a quarter of the pipe (a flood is read at
/// pipe speed). A boot's end is noticed at most this much later; a QEMU that exits ends the wait
/// at once (its pidfd).
uint64_t serial_coalesce_ns(uint64_t age_ns, uint64_t got_bytes, uint64_t elapsed_ns, uint64_t pipe_bytes,
                            bool before_records = false);

class QemuLauncher : public Launcher {
 public:
  /// `qemu`: path of the qemu-system-i386 binary to exec.
  explicit QemuLauncher(std::string qemu = kDefaultQemu);
  ~QemuLauncher() override;

  BootOutcome boot(const CellSpec& spec) override;
  void kill_all() override;
  std::string name() const override { return "qemu"; }

  /// The full argv QEMU is started with for `spec` (argv[0] is the binary); family xen boots
  /// Xen as the multiboot kernel with the cell's kernel as its dom0 module.
  std::vector<std::string> argv(const CellSpec& spec) const;
  /// The binary this launcher execs (unless the cell's version names its own).
  const std::string& qemu() const { return qemu_; }

 private:
  /// A QEMU started in its own process group: its serial output (stdout) and stderr on pipes.
  struct Child {
    pid_t pid = -1;
    int serial = -1, err = -1;
    int pidfd = -1;           ///< readable once QEMU has exited (-1: no pidfd_open here)
    size_t serial_pipe = 0;   ///< the serial pipe's capacity
    uint64_t err_total = 0;
    bool err_truncated = false, killed = false;
    void kill_group() {
      if (!killed) ::kill(-pid, SIGKILL);
      killed = true;
    }
    /// Sleeps up to `wait`, less if QEMU exits meanwhile. Without a pidfd, 1 ms at most.
    void await_exit(std::chrono::milliseconds wait) const;
  };
  /// Starts out->cmdline; false with out->start_error (or out->interrupted after kill_all()).
  bool spawn(BootOutcome* out, Child* child);
  /// Reads serial and stderr until both close, the boot is over, the budget is spent or
  /// kill_all() is called; closes the pipes.
  void read_until_over(Child& child, bool watch, BootBudget& budget, BootOutcome* out);
  /// Waits for QEMU to exit (still within the budget), kills what is left of its group, reaps it.
  void reap(Child& child, BootBudget& budget, BootOutcome* out);

  std::string qemu_;
  std::mutex mu_;
  std::set<pid_t> live_;              ///< process groups running (unreaped), guarded by mu_
  std::atomic<bool> interrupted_{false};  ///< kill_all() was called: no new boots
};

}  // namespace pvm
