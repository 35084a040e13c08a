#include "libvirt_module.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "module_loader.h"

namespace pvm {

const LibvirtModule* libvirt_module(std::string* err) {
  return module_table<LibvirtModule>(kLibvirtModuleFile, kLibvirtModuleSymbol, kLibvirtModuleAbi, err);
}

std::string libvirt_version_from_file_name(const std::string& name) {
  static constexpr std::string_view kPrefix = "libvirt.so.0.";
  if (name.compare(0, kPrefix.size(), kPrefix) != 0) return "";
  unsigned long age = 0, micro = 0;
  char tail = 0;
  const std::string rest = name.substr(kPrefix.size());
  if (rest.empty() || rest[0] < '0' || rest[0] > '9') return "";
  if (std::sscanf(rest.c_str(), "%lu.%lu%c", &age, &micro, &tail) != 2) return "";
  if (rest.find_first_not_of("0123456789.") != std::string::npos || age < 1000) return "";
  return fmt::format("{}.{}.{}", age / 1000, age % 1000, micro);
}

std::string libvirt_client_version(const std::string& libdir) {
  struct stat st {};
  if (stat(module_path(kLibvirtModuleFile).c_str(), &st) != 0) return "";
  const bool loader_may_choose = std::getenv("LD_LIBRARY_PATH") || std::getenv("LD_PRELOAD");
  if (!libdir.empty() && !loader_may_choose && !module_loaded(kLibvirtModuleFile)) {
    std::error_code ec;
    const auto file = std::filesystem::canonical(std::filesystem::path(libdir) / "libvirt.so.0", ec);
    if (!ec)
      if (std::string v = libvirt_version_from_file_name(file.filename().string()); !v.empty()) return v;
  }
  std::string err;
  const LibvirtModule* module = libvirt_module(&err);
  return module ? module->version() : "";
}

}  // namespace pvm
