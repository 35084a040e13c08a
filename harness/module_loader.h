// Optional parts of pvmatrix loaded at run time: a shared module beside the executable, so a
// command loads a heavy library only when it uses it (the libvirt backend: libvirt_module.h).
#pragma once

#include <cstddef>
#include <mutex>
#include <string>

namespace pvm {

/// Where modules are loaded from: $PVMATRIX_MODULE_DIR, else the running executable's directory.
std::string module_dir();

/// Loads `file` from module_dir() (once per process; a module is never unloaded) and returns
/// the address of its `symbol`; nullptr with `err` naming the path and the loader's reason.
void* module_symbol(const std::string& file, const char* symbol, std::string* err);

/// Where module `file` is loaded from: module_dir()/file.
std::string module_path(const std::string& file);

/// Whether this process has loaded `file` (module_symbol) already.
bool module_loaded(const std::string& file);

/// The error for a module whose interface table is not the one this build expects.
std::string module_mismatch(const std::string& file, int found, int expected);

/// A module's interface table, loaded on first use and kept: `symbol` is an extern "C" function
/// of the module returning `const T*`; T starts with `int abi; size_t size;`, which must equal
/// `abi` and sizeof(T) (a module of another build is refused, never called). nullptr with `err`.
template <class T>
const T* module_table(const char* file, const char* symbol, int abi, std::string* err) {
  static std::mutex mu;
  static const T* table = nullptr;
  std::lock_guard lock(mu);
  if (table) return table;
  void* entry = module_symbol(file, symbol, err);
  if (!entry) return nullptr;
  const T* t = reinterpret_cast<const T* (*)()>(entry)();
  if (!t || t->abi != abi || t->size != sizeof(T)) {
    *err = module_mismatch(file, t ? t->abi : 0, abi);
    return nullptr;
  }
  return table = t;
}

}  // namespace pvm
