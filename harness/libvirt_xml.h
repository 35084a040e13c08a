// The libvirt domain XML of one cell: a pure function of the CellSpec and a few
// launcher choices, kept apart from the daemon so it is unit-tested without one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cell.h"
#include "markup.h"

namespace pvm {

/// fw_cfg name the kernel reads the ROM from (DESIGN §3).
inline constexpr std::string_view kRomFwCfgName = "opt/pvmatrix/rom";

/// QEMU arguments every libvirt domain gets through the qemu namespace: the exit device
/// the guest shuts down through, pvpanic, and a deterministic clock (as the direct backend).
std::vector<std::string> default_libvirt_qemu_args();

/// What the launcher decides beyond the CellSpec.
struct LibvirtDomainOptions {
  std::string name;         ///< unique domain name, e.g. "pvm-1234-7"
  std::string serial_path;  ///< absolute path on the libvirt host the serial port writes
  std::string emulator;     ///< QEMU binary on the libvirt host; "" = libvirt's choice
  std::vector<std::string> qemu_args = default_libvirt_qemu_args();  ///< before the spec's own
};

/// The transient domain that boots `spec`: type='qemu' (TCG), no disk, no network, no USB,
/// no balloon, serial to a file, the ROM as fw_cfg file, destroy on poweroff/reboot/crash.
std::string domain_xml(const CellSpec& spec, const LibvirtDomainOptions& options);

/// Why the libvirt backend cannot boot `spec` ("" when it can): a xen-family cell (Xen with the
/// kernel as its dom0 module) is not built by domain_xml, which boots the kernel directly.
std::string libvirt_cannot_boot(const CellSpec& spec);

/// One connection of a pool: a URI and how many cells may run there at once.
struct LibvirtConnectSpec {
  std::string uri;
  unsigned jobs = 0;  ///< 0 = the host's CPU count
  std::string work_dir;  ///< "" = the launcher's default work directory
};

/// Parses `URI[,jobs=N][,dir=PATH]` (the `--connect` syntax). False with `err` on bad input.
bool parse_connect_spec(const std::string& text, LibvirtConnectSpec* out, std::string* err);

}  // namespace pvm
