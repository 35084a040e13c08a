#include "libvirt_module.h"

#include "module_loader.h"

namespace pvm {

const LibvirtModule* libvirt_module(std::string* err) {
  return module_table<LibvirtModule>(kLibvirtModuleFile, kLibvirtModuleSymbol, kLibvirtModuleAbi, err);
}

}  // namespace pvm
