#include "module_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

#include <fmt/format.h>

namespace pvm {

std::string module_dir() {
  if (const char* dir = std::getenv("PVMATRIX_MODULE_DIR"); dir && *dir) return dir;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

namespace {

std::mutex loaded_mu;
std::map<std::string, void*> loaded;  // path -> dlopen handle (never closed)

}  // namespace

std::string module_path(const std::string& file) { return (std::filesystem::path(module_dir()) / file).string(); }

bool module_loaded(const std::string& file) {
  std::lock_guard lock(loaded_mu);
  return loaded.count(module_path(file)) > 0;
}

void* module_symbol(const std::string& file, const char* symbol, std::string* err) {
  std::lock_guard lock(loaded_mu);
  const std::string path = module_path(file);
  void*& handle = loaded[path];
  if (!handle) handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    *err = fmt::format("cannot load module {}: {}", path, why ? why : "unknown reason");
    loaded.erase(path);
    return nullptr;
  }
  void* address = ::dlsym(handle, symbol);
  if (!address) *err = fmt::format("module {} has no symbol {}", path, symbol);
  return address;
}

std::string module_mismatch(const std::string& file, int found, int expected) {
  return fmt::format("module {} is from another build of pvmatrix (interface {}, expected {}): rebuild", file, found,
                     expected);
}

}  // namespace pvm
