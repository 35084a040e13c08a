#include "libvirt_module.h"

#include <mutex>

#include <fmt/format.h>

#include "module_loader.h"

namespace pvm {

const LibvirtModule* libvirt_module(std::string* err) {
  static std::mutex mu;
  static const LibvirtModule* module = nullptr;
  std::lock_guard lock(mu);
  if (module) return module;
  void* entry = module_symbol(kLibvirtModuleFile, kLibvirtModuleSymbol, err);
  if (!entry) return nullptr;
  auto* m = reinterpret_cast<const LibvirtModule* (*)()>(entry)();
  if (!m || m->abi != kLibvirtModuleAbi || m->size != sizeof(LibvirtModule)) {
    *err = fmt::format("module {} is from another build of pvmatrix (interface {}, expected {}): rebuild",
                       kLibvirtModuleFile, m ? m->abi : 0, kLibvirtModuleAbi);
    return nullptr;
  }
  module = m;
  return module;
}

}  // namespace pvm
