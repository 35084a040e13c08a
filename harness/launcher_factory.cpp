#include "launcher_factory.h"

#include <stdexcept>

#include <fmt/format.h>

#include "libvirt_launcher.h"
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
  std::vector<LibvirtConnectSpec> specs;
  for (const auto& text : o.connect) {
    LibvirtConnectSpec s;
    if (!parse_connect_spec(text, &s, err)) return nullptr;
    specs.push_back(std::move(s));
  }
  if (specs.empty()) specs.push_back({"qemu:///system", 0, ""});
  // One connection without a job limit needs no pool: the scheduler's -j decides.
  if (specs.size() == 1 && specs[0].jobs == 0) {
    LibvirtLauncherOptions lo;
    lo.uri = specs[0].uri;
    lo.emulator = o.qemu_binary;
    lo.work_dir = specs[0].work_dir;
    return std::make_unique<LibvirtLauncher>(lo);
  }
  return std::make_unique<LibvirtPool>(specs, o.qemu_binary);
}

std::unique_ptr<Launcher> make_launcher(const LauncherOptions& options) {
  std::string err;
  auto l = make_launcher(options, &err);
  if (!l) throw std::invalid_argument(err);
  return l;
}

size_t suggested_jobs(const Launcher& launcher) {
  if (auto* pool = dynamic_cast<const LibvirtPool*>(&launcher)) return pool->capacity();
  return 0;
}

}  // namespace pvm
