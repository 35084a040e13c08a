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

std::unique_ptr<Launcher> make_launcher(const LauncherOptions& options) {
  std::string err;
  auto l = make_launcher(options, &err);
  if (!l) throw std::invalid_argument(err);
  return l;
}

size_t suggested_jobs(const Launcher& launcher) { return launcher.suggested_jobs(); }

}  // namespace pvm
