// Optional parts of pvmatrix loaded at run time: a shared module beside the executable, so a
// command loads a heavy library only when it uses it (the libvirt backend: libvirt_module.h).
#pragma once

#include <string>

namespace pvm {

/// Where modules are loaded from: $PVMATRIX_MODULE_DIR, else the running executable's directory.
std::string module_dir();

/// Loads `file` from module_dir() (once per process; a module is never unloaded) and returns
/// the address of its `symbol`; nullptr with `err` naming the path and the loader's reason.
void* module_symbol(const std::string& file, const char* symbol, std::string* err);

}  // namespace pvm
