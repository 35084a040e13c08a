// Boots a cell by exec'ing QEMU directly: serial on a pipe, a wall-clock timeout, the
// whole process group killed when it runs out. Collects; never classifies.
#pragma once

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <sys/types.h>

#include "launcher.h"

namespace pvm {

/// The QEMU binary used unless told otherwise (the real one, not Debian's xen wrapper script).
inline constexpr const char* kDefaultQemu = "/usr/libexec/qemu-system-i386";
/// QEMU stderr bytes kept per boot.
inline constexpr size_t kStderrLimit = 64 * 1024;

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
  std::string qemu_;
  std::mutex mu_;
  std::set<pid_t> live_;              ///< process groups running (unreaped), guarded by mu_
  std::atomic<bool> interrupted_{false};  ///< kill_all() was called: no new boots
};

}  // namespace pvm
