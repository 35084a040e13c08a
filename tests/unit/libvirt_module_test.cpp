// libvirt's version in a run's metadata, read from its library's file name instead of loading
// libvirt and its ~55 libraries (libvirt_module.h).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>

#include "libvirt_module.h"
#include "module_loader.h"

namespace pvm {
namespace {

TEST(LibvirtModule, TheVersionIsReadFromTheLibraryFileName) {
  EXPECT_EQ(libvirt_version_from_file_name("libvirt.so.0.9000.0"), "9.0.0");
  EXPECT_EQ(libvirt_version_from_file_name("libvirt.so.0.10010.0"), "10.10.0");
  EXPECT_EQ(libvirt_version_from_file_name("libvirt.so.0.8002.3"), "8.2.3");
  for (const char* other : {"libvirt.so.0", "libvirt.so.0.9000", "libvirt.so.0.9000.0.1", "libvirt-qemu.so.0.9000.0",
                            "libvirt.so.0.900.0", "libvirt.so.0.+9000.0", "libvirt.so.0.9000.0x", ""})
    EXPECT_EQ(libvirt_version_from_file_name(other), "") << other;
}

// On this host the file name and libvirt itself (virGetVersion, through the module) agree.
TEST(LibvirtModule, TheFileNameSaysWhatLibvirtSays) {
  struct stat st {};
  if (stat(module_path(kLibvirtModuleFile).c_str(), &st) != 0)
    GTEST_SKIP() << "no libvirt module beside the test binary";
  std::error_code ec;
  const auto file = std::filesystem::canonical(std::filesystem::path(PVMATRIX_LIBVIRT_LIBDIR) / "libvirt.so.0", ec);
  ASSERT_FALSE(ec) << PVMATRIX_LIBVIRT_LIBDIR << "/libvirt.so.0: " << ec.message();
  const std::string from_name = libvirt_version_from_file_name(file.filename().string());
  std::string err;
  const LibvirtModule* module = libvirt_module(&err);
  ASSERT_NE(module, nullptr) << err;
  EXPECT_TRUE(module_loaded(kLibvirtModuleFile));
  EXPECT_FALSE(from_name.empty());
  EXPECT_EQ(from_name, module->version());
  // Once libvirt is loaded, libvirt itself is asked; with no directory to look in, too.
  EXPECT_EQ(libvirt_client_version(PVMATRIX_LIBVIRT_LIBDIR), module->version());
  EXPECT_EQ(libvirt_client_version(""), module->version());
}

}  // namespace
}  // namespace pvm
