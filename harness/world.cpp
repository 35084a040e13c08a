#include "world.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "text_util.h"

namespace pvm {

namespace fs = std::filesystem;

namespace {

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
  auto real_kernels = load_linux_releases((fs::path(root) / "kernel" / "linux").string(), &jerr);
  if (!real_kernels) {
    *err = jerr.to_string();
    return std::nullopt;
  }
  w.linux_ = std::move(*real_kernels);

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
  for (const auto& l : w.linux_) w.releases_.push_back(l.name);
  return w;
}

const LinuxRelease* World::find_linux(const std::string& name) const {
  for (const auto& l : linux_)
    if (l.name == name) return &l;
  return nullptr;
}

std::string with_dom0_mode(const std::string& xen_cmdline, const std::string& mode) {
  std::string out;
  bool set = false;
  size_t i = 0;
  while (i < xen_cmdline.size()) {
    size_t b = xen_cmdline.find_first_not_of(' ', i);
    if (b == std::string::npos) break;
    size_t e = xen_cmdline.find(' ', b);
    if (e == std::string::npos) e = xen_cmdline.size();
    std::string word = xen_cmdline.substr(b, e - b);
    if (word.rfind("dom0=", 0) == 0) {
      if (set) word.clear();
      else word = "dom0=" + mode, set = true;
    }
    if (!word.empty()) out += (out.empty() ? "" : " ") + word;
    i = e;
  }
  if (!set) out += (out.empty() ? "" : " ") + ("dom0=" + mode);
  return out;
}

std::string dom0_mode_of(const std::string& xen_cmdline) {
  std::string mode = "pv";  // Xen's default
  size_t pos = 0;
  while ((pos = xen_cmdline.find("dom0=", pos)) != std::string::npos) {
    if (pos == 0 || xen_cmdline[pos - 1] == ' ') {
      size_t e = xen_cmdline.find(' ', pos);
      std::string v = xen_cmdline.substr(pos + 5, e == std::string::npos ? std::string::npos : e - pos - 5);
      // dom0= takes a list (pvh,verbose,...): the mode is pvh when the list names it.
      mode = (v == "pvh" || v.rfind("pvh,", 0) == 0 || v.find(",pvh") != std::string::npos) ? "pvh" : "pv";
    }
    pos += 5;
  }
  return mode;
}

const HypervisorVersion* World::find_version(const std::string& name) const {
  for (const auto& v : versions_)
    if (v.name == name) return &v;
  return nullptr;
}

std::string World::kernel_image(const std::string& release) const {
  if (const LinuxRelease* real = find_linux(release)) return vmlinux_path(*real);
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
    *err = "unknown kernel release \"" + kernel + "\"; known releases: " + join(releases_, " ");
    if (!fixtures_.empty()) *err += "; test guests: " + join(fixtures_, " ");
    return std::nullopt;
  }
  const HypervisorVersion* v = find_version(hv);
  if (!v) {
    std::vector<std::string> names;
    for (const auto& x : versions_) names.push_back(x.name);
    *err = "unknown hypervisor version \"" + hv + "\"; known versions: " + join(names, " ");
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
  const LinuxRelease* real = find_linux(kernel);
  std::error_code ec;
  if (v->family == "xen") {
    s.hypervisor_image = xen_binary_path(*v);
    s.hypervisor_cmdline = real && !v->linux_guest.xen_cmdline.empty() ? v->linux_guest.xen_cmdline : v->xen.cmdline;
    if (config.dom0) s.hypervisor_cmdline = with_dom0_mode(s.hypervisor_cmdline, *config.dom0);
    s.dom0_mode = dom0_mode_of(s.hypervisor_cmdline);
    if (!fs::is_regular_file(s.hypervisor_image, ec))
      s.skip_reason = "Xen " + v->xen.package_version + " is not in the cache (" + s.hypervisor_image +
                      "): run scripts/fetch.sh (needs network and the Debian package " + v->xen.package +
                      "=" + v->xen.package_version + " from " + v->xen.suite + ")";
    else if (!s.qemu.empty() && access(s.qemu.c_str(), X_OK) != 0)
      s.skip_reason = "QEMU binary " + s.qemu + " for " + hv + " is not executable";
  } else if (v->family == "rom") {
    s.rom_image = rom_image(hv);
    if (real)
      s.skip_reason = "Linux has no VMI-style ROM support (VMI was removed in 2.6.37): " + hv +
                      " is a column for the reference kernel only";
  } else if (config.dom0) {
    s.skip_reason = "config " + s.config + " sets a dom0 mode, which applies on a Xen column only";
  }
  if (real) {
    s.kernel_family = "linux";  // kernel_image() already names its vmlinux in the download cache
    s.initrd = (fs::path(images_) / ("linux-agent-" + real->agent_arch() + ".cpio")).string();
    if (s.skip_reason.empty() && !fs::is_regular_file(s.kernel_image, ec))
      s.skip_reason = kernel + " is not in the cache (" + s.kernel_image + "): run scripts/fetch.sh (needs network and " +
                      "the Debian package " + real->package.name + "=" + real->package.version + " from " +
                      real->package.suite + ")";
  }
  s.machine = config.machine.value_or(v->platform.machine);
  s.cpu = real && !v->linux_guest.cpu.empty() ? v->linux_guest.cpu : v->platform.cpu;
  uint32_t memory = real && v->linux_guest.memory_mib ? v->linux_guest.memory_mib : v->platform.memory_mib;
  s.memory_mib = config.memory_mib.value_or(memory);
  for (const auto& d : v->platform.devices) s.extra_qemu_args.insert(s.extra_qemu_args.end(), {"-device", d});
  if (config.timeout_s) s.timeout_s = *config.timeout_s;
  s.timeout_s += real && v->linux_guest.boot_allowance_s >= 0 ? v->linux_guest.boot_allowance_s
                                                               : v->platform.boot_allowance_s;
  s.icount_shift = v->platform.icount_shift;
  return s;
}

}  // namespace pvm
