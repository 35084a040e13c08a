// A hypervisor ABI version as described by hypervisor-versions/<name>/version.json
// (format: docs/contracts.md). The description is the single source of truth: the ROM
// build generates its configuration from it, and the harness boots on its platform.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cell.h"
#include "json_text.h"
#include "pvrom/abi.h"

namespace pvm {

/// One call a version offers (a row of "calls").
struct HvCall {
  uint16_t number = 0;          ///< pvrom::CallNumber
  std::string name;             ///< canonical name for this number under the version's API major
  pvrom::RelocType reloc = pvrom::kRelocNone;
  std::string semantics;        ///< optional free text ("applies at once")
};

/// A documented semantic quirk ("quirks"); ids the ROM build acts on are listed in the README.
struct HvQuirk {
  std::string id;
  std::string text;
};

/// The QEMU platform a version runs on.
struct HvPlatform {
  std::string machine = "microvm";
  std::string cpu = "qemu32";
  uint32_t memory_mib = 64;
  std::vector<std::string> devices;  ///< each one a QEMU `-device` argument value
  std::string qemu;                  ///< QEMU binary for this platform; "" = the launcher's default
  int icount_shift = kDefaultIcountShift;  ///< QEMU -icount shift (2^shift ns per instruction)
  double boot_allowance_s = 0;       ///< added to the matrix timeout: the hypervisor's own boot
};

/// Family "xen": a real hypervisor binary from a Debian package, fetched into a cache by
/// scripts/xen-fetch.sh (never built, never installed system-wide).
struct HvXen {
  std::string package;          ///< "xen-hypervisor-4.17-amd64"
  std::string package_version;  ///< pinned, e.g. "4.17.7+13-g2445b30a44-0+deb12u1"
  std::string binary;           ///< path inside the unpacked package, e.g. "boot/xen-4.17-amd64.gz"
  std::string cmdline;          ///< Xen's own command line (console=com1 dom0=pvh ...)
  std::string suite = "bookworm";  ///< the Debian suite scripts/fetch.sh takes the package from
  /// The kinds of guest this Xen build can construct a dom0 as ("guest_kinds", from the
  /// package's boot/xen-*.config): "pvh" (CONFIG_HVM), "pv64" (CONFIG_PV), "pv32" (CONFIG_PV32).
  std::vector<std::string> guest_kinds{"pvh", "pv64", "pv32"};
};

/// How a version runs a real Linux guest (family linux kernels, kernel/linux/), where that
/// differs from the reference kernel's platform ("linux_guest" in version.json): Debian's
/// kernels need more memory and a CPU model without the features QEMU's TCG cannot nest.
struct HvLinuxGuest {
  bool present = false;
  std::string cpu;              ///< QEMU -cpu for a real guest ("" = the platform's)
  uint32_t memory_mib = 0;      ///< QEMU -m for a real guest (0 = the platform's)
  std::string xen_cmdline;      ///< family xen: Xen's command line for a real dom0 ("" = xen_cmdline)
  double boot_allowance_s = -1; ///< added to the matrix timeout for a real guest (< 0 = the platform's)
};

/// A validated version.json.
struct HypervisorVersion {
  std::string name;     ///< "rom-1.12", equal to its folder name
  std::string family;   ///< "rom" | "xen" | "none" (bare QEMU: no hypervisor, the baseline column)
  uint8_t api_major = 0;
  uint8_t api_minor = 0;
  std::string summary;
  pvrom::CallingConvention calling_convention = pvrom::kConvRegparm3;
  uint32_t features = 0;  ///< pvrom::Feature bits
  std::vector<HvCall> calls;  ///< sorted by number, unique
  std::vector<HvQuirk> quirks;
  HvPlatform platform;
  HvXen xen;            ///< family "xen" only
  HvLinuxGuest linux_guest;  ///< families xen and none: the platform for a real Linux guest
  std::string path;     ///< the version.json it was loaded from

  /// "3.2".
  std::string api() const;
  /// The offered call with this number, or nullptr.
  const HvCall* find_call(uint16_t number) const;
  /// True if a quirk with this id is listed.
  bool has_quirk(std::string_view id) const;
};

/// Parses and validates version.json text. `file` names it in errors. When `expected_name`
/// is not empty, "name" must equal it (the folder name).
std::optional<HypervisorVersion> parse_hypervisor_version(std::string text, const std::string& file,
                                                          std::string_view expected_name,
                                                          JsonError* err);
/// Where a xen version's hypervisor lives: <cache>/<package_version>/xen (gunzipped by
/// scripts/xen-fetch.sh). `cache` is env PVMATRIX_XEN_CACHE, else ~/.cache/pvmatrix/xen.
std::string xen_cache_dir();
std::string xen_binary_path(const HypervisorVersion& v);

/// Loads <dir>/version.json; "name" must equal the folder name of `dir`.
std::optional<HypervisorVersion> load_hypervisor_version(const std::string& dir, JsonError* err);
/// Loads every <root>/*/version.json (sorted by name); the first error stops the load.
std::optional<std::vector<HypervisorVersion>> load_hypervisor_versions(const std::string& root,
                                                                       JsonError* err);

/// "timer", ... for one bit (nullptr for an unknown bit).
const char* feature_name(pvrom::Feature bit);
/// Names of all bits set in `features`, in bit order; unknown bits as "bit<N>".
std::vector<std::string> feature_names(uint32_t features);
/// The bit for a name, nullopt if unknown.
std::optional<pvrom::Feature> feature_from_name(std::string_view name);

/// "NONE" "CALL_REL" "JUMP_REL" "NOP" (nullptr for other values).
const char* reloc_name(uint8_t reloc);
std::optional<pvrom::RelocType> reloc_from_name(std::string_view name);

/// "regparm3" | "cdecl" (nullptr for other values).
const char* convention_name(uint32_t convention);
std::optional<pvrom::CallingConvention> convention_from_name(std::string_view name);
/// The convention an API major uses (3 -> regparm3, 4 -> cdecl); nullopt for unknown majors.
std::optional<pvrom::CallingConvention> convention_for_api_major(uint8_t major);

/// Canonical name of a call number under an API major ("GetCycleCounter"); nullptr if the
/// number is not a call of that major.
const char* call_name(uint16_t number, uint8_t api_major);

}  // namespace pvm
