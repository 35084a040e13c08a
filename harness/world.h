// The world a cell is resolved in: where the repository and the built images are, which
// kernel releases and hypervisor versions exist, and how a (release, version, config)
// becomes a bootable CellSpec (docs/contracts.md "Build outputs", "Releases, versions").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cell.h"
#include "hypervisor_version.h"
#include "linux_release.h"

namespace pvm {

/// The releases the reference kernel is built for, in world order.
inline constexpr const char* kKnownReleases[] = {"2.6.20", "2.6.21", "2.6.22", "2.6.24", "2.6.25"};
/// Kernel names starting with this are test guests: images/<name>.elf (tests/fixtures/).
inline constexpr const char* kFixturePrefix = "fixture-";

/// The repository root: `flag` if set, else env PVMATRIX_ROOT, else PVMATRIX_SOURCE_DIR.
std::string resolve_root(const std::string& flag);
/// The image directory: `flag` if set, else env PVMATRIX_IMAGES, else PVMATRIX_IMAGE_DIR.
std::string resolve_images(const std::string& flag);

/// What a config may change about a cell (the matrix's config axis, or `pvmatrix cell` flags).
struct CellConfig {
  std::string name;                    ///< "" = "default" without a cmdline, else derived from it
  std::string cmdline;                 ///< kernel command line
  std::optional<uint32_t> memory_mib;  ///< overrides the version's platform memory
  std::optional<std::string> machine;  ///< overrides the version's platform machine type
  std::optional<double> timeout_s;     ///< overrides the default per-attempt timeout
  std::optional<std::string> dom0;     ///< xen columns: the dom0 mode, "pvh" | "pv" (Xen's dom0=)
};

/// Known releases and versions, with their images.
class World {
 public:
  /// Loads the versions under <root>/hypervisor-versions and lists the images in `images`.
  /// False with *err on an unreadable or invalid version.json.
  static std::optional<World> load(const std::string& root, const std::string& images, std::string* err);

  const std::string& root() const { return root_; }
  const std::string& images() const { return images_; }
  /// kKnownReleases plus any other kernel-<release>.elf in the image dir, then the real
  /// kernels of kernel/linux/, world order.
  const std::vector<std::string>& releases() const { return releases_; }
  /// The real kernels (kernel/linux/*.json), sorted by name.
  const std::vector<LinuxRelease>& linux_releases() const { return linux_; }
  /// The real kernel called `name`, or nullptr.
  const LinuxRelease* find_linux(const std::string& name) const;
  /// Test guests present (fixture-<name>.elf), usable as a kernel name.
  const std::vector<std::string>& fixtures() const { return fixtures_; }
  const std::vector<HypervisorVersion>& versions() const { return versions_; }
  /// The version called `name`, or nullptr.
  const HypervisorVersion* find_version(const std::string& name) const;
  /// Path of the kernel image for a release or fixture name (whether or not it exists).
  std::string kernel_image(const std::string& release) const;
  /// Path of the ROM image for a version (whether or not it exists).
  std::string rom_image(const std::string& version) const;

  /// A bootable spec: image paths and the version's platform, with `config` applied.
  /// nullopt with *err for an unknown release or version; the message lists the known ones.
  std::optional<CellSpec> make_spec(const std::string& kernel, const std::string& hv, const CellConfig& config,
                                    std::string* err) const;

 private:
  std::string root_, images_;
  std::vector<std::string> releases_, fixtures_;
  std::vector<HypervisorVersion> versions_;
  std::vector<LinuxRelease> linux_;
};

/// Xen's command line with its dom0 mode set: every `dom0=` word is replaced by `dom0=<mode>`
/// (appended when there is none).
std::string with_dom0_mode(const std::string& xen_cmdline, const std::string& mode);
/// The dom0 mode a Xen command line asks for: the last `dom0=` word's pvh or pv (Xen's default is pv).
std::string dom0_mode_of(const std::string& xen_cmdline);

/// A config name for a bare command line: characters outside [A-Za-z0-9._-] become '-'.
std::string config_name_for(const std::string& cmdline);

}  // namespace pvm
