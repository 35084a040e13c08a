#include "launcher_factory.h"

#include <stdexcept>

#include <fmt/format.h>

#include "libvirt_module.h"
#include "qemu_launcher.h"

namespace pvm {

std::unique_ptr<Launcher> make_launcher(const LauncherOptions& o, std::string* err) {
  if (o.backend == "qemu") {
    if (!o.connect.empty()) {
      *err = "--connect needs --backend libvirt";
      return nullptr;
    }
    return std::make_unique<QemuLauncher>(o.qemu_binary.empty() ? kDefaultQemu : o.qemu_binary);
  }
  if (o.backend != "libvirt") {
    *err = fmt::format("unknown backend '{}' (expected qemu or libvirt)", o.backend);
    return nullptr;
  }
  // Only now is libvirt loaded (libvirt_module.h).
  const LibvirtModule* module = libvirt_module(err);
  if (!module) {
    *err = "the libvirt backend is not available: " + *err;
    return nullptr;
  }
  return module->make_launcher(o.connect, o.qemu_binary, err);
}

namespace {

class DryRunLauncher : public Launcher {
 public:
  BootOutcome boot(const CellSpec&) override {
    BootOutcome none;  // not reached: run_cell asks cannot_boot() first
    none.start_error = "dry run: not booted";
    return none;
  }
  void kill_all() override {}
  std::string name() const override { return "dry-run"; }
  std::string cannot_boot(const CellSpec&) const override { return "dry run: not booted"; }
};

}  // namespace

std::unique_ptr<Launcher> make_dry_run_launcher() { return std::make_unique<DryRunLauncher>(); }

std::unique_ptr<Launcher> make_launcher(const LauncherOptions& options) {
  std::string err;
  auto l = make_launcher(options, &err);
  if (!l) throw std::invalid_argument(err);
  return l;
}

size_t suggested_jobs(const Launcher& launcher) { return launcher.suggested_jobs(); }

}  // namespace pvm
