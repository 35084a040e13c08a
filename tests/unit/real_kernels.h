// The real kernels' bzImages that scripts/fetch.sh put in the download cache (kernel/linux/
// descriptors, linux_cache_dir()/vmlinuz), for the unit tests that read real images; a test
// skips the ones not fetched on this machine.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "linux_release.h"

namespace pvm::test {

struct CachedKernel {
  LinuxRelease release;
  std::string bzimage;  ///< its vmlinuz in the download cache
};

inline std::vector<CachedKernel> cached_real_kernels() {
  std::vector<CachedKernel> out;
  JsonError err;
  auto all = load_linux_releases(std::string(PVMATRIX_TEST_DIR) + "/../kernel/linux", &err);
  if (!all) return out;
  for (const LinuxRelease& r : *all) {
    std::string path = linux_cache_dir(r) + "/vmlinuz";
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) out.push_back({r, path});
  }
  return out;
}

}  // namespace pvm::test
