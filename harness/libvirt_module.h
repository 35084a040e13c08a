// The libvirt backend as a run-time module (pvmatrix-libvirt.so, beside the executable):
// libvirt and the ~55 libraries it pulls in cost ~50 ms at every process start here, so only a
// command that boots through libvirt, or records libvirt's version in a run's metadata, loads
// them. The module holds LibvirtLauncher and LibvirtPool (libvirt_launcher.h); the core sees
// them only as Launchers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "launcher.h"

namespace pvm {

/// What the module offers. `abi` must equal kLibvirtModuleAbi (a module of another build of a
/// different layout is refused, not called).
struct LibvirtModule {
  int abi;
  size_t size;
  /// `--connect` values (empty: qemu:///system) and the emulator ("" = libvirt's choice); nullptr
  /// with `err` for a malformed --connect or an unreachable pool member.
  std::unique_ptr<Launcher> (*make_launcher)(const std::vector<std::string>& connect, const std::string& emulator,
                                             std::string* err);
  /// The libvirt client library's version ("10.0.0"), "" if unknown.
  std::string (*version)();
};
inline constexpr int kLibvirtModuleAbi = 1;
inline constexpr const char* kLibvirtModuleFile = "pvmatrix-libvirt.so";
inline constexpr const char* kLibvirtModuleSymbol = "pvmatrix_libvirt_module";

/// The module, loaded on first use; nullptr with `err` (the path and why) when it cannot be.
const LibvirtModule* libvirt_module(std::string* err);

}  // namespace pvm
