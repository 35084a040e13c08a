// A real Linux kernel release (family "linux"): one descriptor per release under
// kernel/linux/<name>.json (format: docs/contracts.md "Real kernels"). The kernel is Debian's,
// pinned to a package version; scripts/fetch.sh puts its image and the uncompressed vmlinux
// extracted from it into the cache. Booted with the project's guest agent as init
// (kernel/linux/agent/), beside the reference kernel, in the same matrix.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json_text.h"

namespace pvm {

/// Where the release's Debian package comes from.
struct LinuxPackage {
  std::string name;          ///< "linux-image-6.1.0-57-amd64"
  std::string version;       ///< pinned Debian version, "6.1.192-3"
  std::string suite;         ///< "bookworm-security", "trixie", "sid", ...
  std::string architecture;  ///< "amd64" | "i386"
  std::string image;         ///< the bzImage's path inside the package, "boot/vmlinuz-..."
};

/// A validated kernel/linux/<name>.json.
struct LinuxRelease {
  std::string name;                   ///< "linux-6.1", equal to the file stem
  std::string summary;
  LinuxPackage package;
  std::vector<std::string> switches;  ///< Linux's own command-line switches the workaround search tries
  std::string path;                   ///< the descriptor it was loaded from

  /// "x86_64" for amd64, "i386" for i386: the guest agent build it boots with.
  std::string agent_arch() const;
};

/// Parses and validates descriptor text; `file` names it in errors, `expected_name` (when not
/// empty) must equal "name".
std::optional<LinuxRelease> parse_linux_release(std::string text, const std::string& file,
                                                std::string_view expected_name, JsonError* err);
/// Loads every <dir>/*.json, sorted by name; a missing dir is an empty list; the first error stops.
std::optional<std::vector<LinuxRelease>> load_linux_releases(const std::string& dir, JsonError* err);

/// Where scripts/fetch.sh puts what it downloads (Debian kernels and Xen): env
/// PVMATRIX_DOWNLOADS, else ~/.cache/pvmatrix (beside the result cache, whose own dirs are two hex digits).
std::string downloads_dir();
/// <cache_root>/linux/<package>_<version>_<architecture>: where scripts/fetch.sh puts
/// `vmlinuz` (the package's image) and `vmlinux` (the ELF extracted from it).
std::string linux_cache_dir(const LinuxRelease& r);
std::string vmlinux_path(const LinuxRelease& r);

/// The command line every real-kernel boot starts with, before the config's own: the console
/// the harness reads (ttyS0 bare, hvc0 as Xen's dom0), no KASLR (the load address would come
/// from RDRAND: two boots must give the same records) and an immediate reboot on panic (the
/// boot ends there instead of hanging until the timeout).
std::string linux_base_cmdline(bool under_xen);

}  // namespace pvm
