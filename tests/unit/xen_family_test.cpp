// Family "xen" (issue 10): version.json for a real Xen, the console prefixes Xen puts before a
// dom0's lines, and the SKIP of a cell whose Xen binary is not in the cache.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "cell.h"
#include "hypervisor_version.h"
#include "json_text.h"
#include "protocol.h"
#include "qemu_launcher.h"
#include "world.h"

namespace pvm {
namespace {

const char* kXen = R"({
  // a comment
  "name": "xen-x",
  "family": "xen",
  "summary": "test",
  "package": {"name": "xen-hypervisor-4.17-amd64", "version": "4.17.7+13-g2445b30a44-0+deb12u1", "binary": "boot/xen.gz"},
  "xen_cmdline": "console=com1 dom0=pvh",
  "quirks": [],
  "platform": {"machine": "q35", "cpu": "max", "memory_mib": 256, "devices": ["intel-iommu"], "qemu": "/usr/bin/qemu-system-x86_64"}
})";

TEST(XenFamily, ParsesAXenVersion) {
  JsonError err;
  auto v = parse_hypervisor_version(kXen, "v.json", "", &err);
  ASSERT_TRUE(v) << err.message;
  EXPECT_EQ(v->family, "xen");
  EXPECT_EQ(v->xen.package, "xen-hypervisor-4.17-amd64");
  EXPECT_EQ(v->xen.package_version, "4.17.7+13-g2445b30a44-0+deb12u1");
  EXPECT_EQ(v->xen.cmdline, "console=com1 dom0=pvh");
  EXPECT_EQ(v->platform.qemu, "/usr/bin/qemu-system-x86_64");
  EXPECT_EQ(v->platform.devices, std::vector<std::string>{"intel-iommu"});
  EXPECT_EQ(v->platform.icount_shift, kDefaultIcountShift);  // not given: the default
  EXPECT_EQ(v->platform.boot_allowance_s, 0);
}

TEST(XenFamily, PlatformTimeSettingsAreCheckedAndReachTheCell) {
  auto with = [](std::string_view extra) {
    std::string t = kXen;
    t.replace(t.find("\"qemu\""), 6, std::string(extra) + ", \"qemu\"");
    return t;
  };
  JsonError err;
  auto v = parse_hypervisor_version(with(R"("icount_shift": 0, "boot_allowance_s": 30)"), "v.json", "", &err);
  ASSERT_TRUE(v) << err.message;
  EXPECT_EQ(v->platform.icount_shift, 0);
  EXPECT_EQ(v->platform.boot_allowance_s, 30);
  EXPECT_FALSE(parse_hypervisor_version(with(R"("icount_shift": 11)"), "v.json", "", &err));
  EXPECT_EQ(err.field, "platform.icount_shift") << err.to_string();
  EXPECT_FALSE(parse_hypervisor_version(with(R"("icount_shift": "0")"), "v.json", "", &err));
  EXPECT_EQ(err.field, "platform.icount_shift") << err.to_string();
  EXPECT_FALSE(parse_hypervisor_version(with(R"("boot_allowance_s": -1)"), "v.json", "", &err));
  EXPECT_EQ(err.field, "platform.boot_allowance_s") << err.to_string();
  EXPECT_NE(err.line, 0) << err.to_string();

  std::string werr;
  auto w = World::load(std::string(PVMATRIX_TEST_DIR) + "/..", "/nonexistent-images", &werr);
  ASSERT_TRUE(w) << werr;
  CellConfig c;
  c.timeout_s = 10;
  auto xen = w->make_spec("2.6.25", "xen-4.17.7", c, &werr);
  auto rom = w->make_spec("2.6.25", "rom-1.13", c, &werr);
  ASSERT_TRUE(xen && rom) << werr;
  EXPECT_EQ(xen->icount_shift, 0);
  EXPECT_EQ(xen->timeout_s, 40);  // the matrix's 10 s plus Xen's own boot
  EXPECT_EQ(rom->icount_shift, kDefaultIcountShift);
  EXPECT_EQ(rom->timeout_s, 10);
  auto argv = QemuLauncher().argv(*xen);
  auto it = std::find(argv.begin(), argv.end(), "-icount");
  ASSERT_NE(it, argv.end());
  EXPECT_EQ(*(it + 1), "shift=0,sleep=off");
}

TEST(XenFamily, UnknownKeysAndBadVersionsAreErrors) {
  JsonError err;
  std::string extra = kXen;
  extra.replace(extra.find("\"quirks\""), 8, "\"calls\": [], \"quirks\"");
  EXPECT_FALSE(parse_hypervisor_version(extra, "v.json", "", &err));
  EXPECT_NE(err.message.find("calls"), std::string::npos) << err.message;
  std::string bad = kXen;
  bad.replace(bad.find("4.17.7+13"), 9, "4.17;rm -rf");
  EXPECT_FALSE(parse_hypervisor_version(bad, "v.json", "", &err));
}

TEST(XenFamily, ShippedXenVersionsLoad) {
  JsonError err;
  auto all = load_hypervisor_versions(std::string(PVMATRIX_TEST_DIR) + "/../hypervisor-versions", &err);
  ASSERT_TRUE(all) << err.message;
  int xen = 0;
  for (const auto& v : *all)
    if (v.family == "xen") {
      ++xen;
      EXPECT_NE(v.xen.cmdline.find("dom0=pvh"), std::string::npos) << v.name;
      EXPECT_FALSE(v.xen.package_version.empty()) << v.name;
    }
  EXPECT_EQ(xen, 3);  // 4.17.5, 4.17.7, 4.20.4
}

TEST(XenFamily, ConsolePrefixesAreStrippedBeforeRecordDetection) {
  EXPECT_EQ(strip_console_prefixes("(XEN) (d0) @pvm {}"), "@pvm {}");
  EXPECT_EQ(strip_console_prefixes("(d0) @pvm {}"), "@pvm {}");
  EXPECT_EQ(strip_console_prefixes("(XEN) Panic on CPU 0:"), "Panic on CPU 0:");
  EXPECT_EQ(strip_console_prefixes("(d1) @pvm {}"), "(d1) @pvm {}");
  EXPECT_EQ(strip_console_prefixes(" (XEN) @pvm {}"), " (XEN) @pvm {}");
  ParsedSerial p = parse_serial(
      "(XEN) Xen version 4.17.7\n"
      "(XEN) (d0) @pvm {\"ev\":\"stage\",\"name\":\"boot\",\"status\":\"ok\"}\n"
      "(d1) @pvm {\"ev\":\"stage\",\"name\":\"rom\",\"status\":\"ok\"}\n"
      "@pvm {\"ev\":\"done\",\"pass\":0,\"fail\":0,\"skip\":0}\n");
  ASSERT_EQ(p.stages.size(), 1u);
  EXPECT_EQ(p.stages[0].name, "boot");
  EXPECT_TRUE(p.done);
  ASSERT_EQ(p.lines.size(), 4u);
  EXPECT_EQ(p.lines[1].text, "(XEN) (d0) @pvm {\"ev\":\"stage\",\"name\":\"boot\",\"status\":\"ok\"}");  // log keeps it
}

TEST(XenFamily, XenArgvLoadsTheKernelAsAModule) {
  CellSpec s;
  s.family = "xen";
  s.qemu = "/usr/bin/qemu-system-x86_64";
  s.machine = "q35";
  s.cpu = "max";
  s.kernel_image = "/img/kernel-2.6.25.elf";
  s.cmdline = "pv.native=timer";
  s.hypervisor_image = "/cache/xen";
  s.hypervisor_cmdline = "console=com1 dom0=pvh";
  auto a = QemuLauncher().argv(s);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a[0], "/usr/bin/qemu-system-x86_64");
  auto after = [&](const std::string& flag) {
    for (size_t i = 0; i + 1 < a.size(); ++i)
      if (a[i] == flag) return a[i + 1];
    return std::string("<missing>");
  };
  EXPECT_EQ(after("-kernel"), "/cache/xen");
  EXPECT_EQ(after("-append"), "console=com1 dom0=pvh");
  EXPECT_EQ(after("-initrd"), "/img/kernel-2.6.25.elf pv.native=timer");
}

TEST(XenFamily, MissingXenMakesTheCellSkip) {
  setenv("PVMATRIX_XEN_CACHE", "/nonexistent/pvmatrix-xen-cache", 1);
  std::string err;
  auto w = World::load(std::string(PVMATRIX_TEST_DIR) + "/..", "/nonexistent-images", &err);
  ASSERT_TRUE(w) << err;
  auto s = w->make_spec("2.6.25", "xen-4.17.7", CellConfig{}, &err);
  ASSERT_TRUE(s) << err;
  EXPECT_EQ(s->family, "xen");
  EXPECT_NE(s->skip_reason.find("fetch.sh"), std::string::npos) << s->skip_reason;
  EXPECT_TRUE(s->rom_image.empty());
  unsetenv("PVMATRIX_XEN_CACHE");
}

}  // namespace
}  // namespace pvm
