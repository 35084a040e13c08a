#include "world.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace pvm {

namespace fs = std::filesystem;

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

std::string from_env(const std::string& flag, const char* env, const char* compiled) {
  if (!flag.empty()) return flag;
  if (const char* v = std::getenv(env); v && *v) return v;
  return compiled;
}

}  // namespace

std::string resolve_root(const std::string& flag) { return from_env(flag, "PVMATRIX_ROOT", PVMATRIX_SOURCE_DIR); }
std::string resolve_images(const std::string& flag) { return from_env(flag, "PVMATRIX_IMAGES", PVMATRIX_IMAGE_DIR); }

std::string config_name_for(const std::string& cmdline) {
  if (cmdline.empty()) return "default";
  std::string out = cmdline;
  for (char& c : out)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '-';
  return out;
}

std::optional<World> World::load(const std::string& root, const std::string& images, std::string* err) {
  World w;
  w.root_ = root;
  w.images_ = images;
  JsonError jerr;
  auto versions = load_hypervisor_versions((fs::path(root) / "hypervisor-versions").string(), &jerr);
  if (!versions) {
    *err = jerr.to_string();
    return std::nullopt;
  }
  w.versions_ = std::move(*versions);

  w.releases_.assign(std::begin(kKnownReleases), std::end(kKnownReleases));
  std::vector<std::string> extra;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(images, ec)) {
    std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".elf") continue;
    std::string stem = entry.path().stem().string();
    if (stem.rfind("kernel-", 0) == 0) {
      std::string release = stem.substr(7);
      if (std::find(w.releases_.begin(), w.releases_.end(), release) == w.releases_.end()) extra.push_back(release);
    } else if (stem.rfind(kFixturePrefix, 0) == 0) {
      w.fixtures_.push_back(stem);
    }
  }
  std::sort(extra.begin(), extra.end());
  std::sort(w.fixtures_.begin(), w.fixtures_.end());
  w.releases_.insert(w.releases_.end(), extra.begin(), extra.end());
  return w;
}

const HypervisorVersion* World::find_version(const std::string& name) const {
  for (const auto& v : versions_)
    if (v.name == name) return &v;
  return nullptr;
}

std::string World::kernel_image(const std::string& release) const {
  if (release.rfind(kFixturePrefix, 0) == 0) return (fs::path(images_) / (release + ".elf")).string();
  return (fs::path(images_) / ("kernel-" + release + ".elf")).string();
}

std::string World::rom_image(const std::string& version) const {
  return (fs::path(images_) / (version + ".rom")).string();
}

std::optional<CellSpec> World::make_spec(const std::string& kernel, const std::string& hv, const CellConfig& config,
                                         std::string* err) const {
  bool known_kernel = std::find(releases_.begin(), releases_.end(), kernel) != releases_.end() ||
                      std::find(fixtures_.begin(), fixtures_.end(), kernel) != fixtures_.end();
  if (!known_kernel) {
    *err = "unknown kernel release \"" + kernel + "\"; known releases: " + join(releases_);
    if (!fixtures_.empty()) *err += "; test guests: " + join(fixtures_);
    return std::nullopt;
  }
  const HypervisorVersion* v = find_version(hv);
  if (!v) {
    std::vector<std::string> names;
    for (const auto& x : versions_) names.push_back(x.name);
    *err = "unknown hypervisor version \"" + hv + "\"; known versions: " + join(names);
    return std::nullopt;
  }
  CellSpec s;
  s.kernel = kernel;
  s.hv = hv;
  s.cmdline = config.cmdline;
  s.config = config.name.empty() ? config_name_for(config.cmdline) : config.name;
  s.kernel_image = kernel_image(kernel);
  s.family = v->family;
  s.qemu = v->platform.qemu;
  if (v->family == "xen") {
    s.hypervisor_image = xen_binary_path(*v);
    s.hypervisor_cmdline = v->xen.cmdline;
    std::error_code ec;
    if (!fs::is_regular_file(s.hypervisor_image, ec))
      s.skip_reason = "Xen " + v->xen.package_version + " is not in the cache (" + s.hypervisor_image +
                      "): run scripts/xen-fetch.sh (needs network and the Debian package " + v->xen.package +
                      "=" + v->xen.package_version + ")";
    else if (!s.qemu.empty() && access(s.qemu.c_str(), X_OK) != 0)
      s.skip_reason = "QEMU binary " + s.qemu + " for " + hv + " is not executable";
  } else {
    s.rom_image = rom_image(hv);
  }
  s.machine = config.machine.value_or(v->platform.machine);
  s.cpu = v->platform.cpu;
  s.memory_mib = config.memory_mib.value_or(v->platform.memory_mib);
  for (const auto& d : v->platform.devices) s.extra_qemu_args.insert(s.extra_qemu_args.end(), {"-device", d});
  if (config.timeout_s) s.timeout_s = *config.timeout_s;
  s.timeout_s += v->platform.boot_allowance_s;
  s.icount_shift = v->platform.icount_shift;
  return s;
}

}  // namespace pvm
