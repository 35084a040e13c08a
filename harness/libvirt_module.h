// The libvirt backend as a run-time module (pvmatrix-libvirt.so, beside the executable):
// libvirt and the ~55 libraries it pulls in cost ~50 ms at every process start here, so only a
// command that boots through libvirt (or needs libvirt's version where its file name cannot say it:
// libvirt_client_version) loads them. The module holds LibvirtLauncher and LibvirtPool (libvirt_launcher.h); the core sees
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

/// "9.0.0" from the name of libvirt's library file, "libvirt.so.0.9000.0" (libvirt names it
/// 0.<major * 1000 + minor>.<micro>); "" for any other name.
std::string libvirt_version_from_file_name(const std::string& name);

/// libvirt's client library version for a run's metadata ("" without the module), read without
/// loading libvirt where that is exact: from the file name libvirt.so.0 resolves to in the
/// directory it was linked from (`libdir`), when the module is beside the executable, not loaded
/// yet, and no LD_LIBRARY_PATH or LD_PRELOAD could make the loader choose another file. Otherwise
/// the module is loaded and asks libvirt (libvirt and its ~55 libraries cost ~15 ms of CPU at
/// every run that did not boot through libvirt, for this one string).
std::string libvirt_client_version(const std::string& libdir);

}  // namespace pvm
