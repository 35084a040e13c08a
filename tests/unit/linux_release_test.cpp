// Real kernels (issue 14): kernel/linux descriptors, the linux_guest platform of a version, the
// dom0 mode a config sets, the cells the world makes for them, and how a real kernel's death
// (Linux panic or oops, Xen's "Hardware Dom0 crashed") is classified and evidenced.
#include <gtest/gtest.h>

#include <cstdlib>

#include "classify.h"
#include "hypervisor_version.h"
#include "linux_release.h"
#include "qemu_launcher.h"
#include "workarounds.h"
#include "world.h"

namespace pvm {
namespace {

const char* kDescriptor = R"({
  // a comment
  "name": "linux-x",
  "family": "linux",
  "summary": "test",
  "package": {"name": "linux-image-6.1.0-57-amd64", "version": "6.1.192-3", "suite": "bookworm-security",
              "architecture": "amd64", "image": "boot/vmlinuz-6.1.0-57-amd64"},
  "switches": ["noxsave", "clocksource=tsc"]
})";

std::string replace(std::string s, const std::string& from, const std::string& to) {
  size_t p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  if (p != std::string::npos) s.replace(p, from.size(), to);
  return s;
}

TEST(LinuxRelease, ParsesADescriptor) {
  JsonError err;
  auto r = parse_linux_release(kDescriptor, "linux-x.json", "linux-x", &err);
  ASSERT_TRUE(r) << err.to_string();
  EXPECT_EQ(r->package.suite, "bookworm-security");
  EXPECT_EQ(r->agent_arch(), "x86_64");
  EXPECT_EQ(r->switches, (std::vector<std::string>{"noxsave", "clocksource=tsc"}));
  setenv("PVMATRIX_DOWNLOADS", "/d", 1);
  EXPECT_EQ(vmlinux_path(*r), "/d/linux/linux-image-6.1.0-57-amd64_6.1.192-3_amd64/vmlinux");
  unsetenv("PVMATRIX_DOWNLOADS");
}

TEST(LinuxRelease, BadDescriptorsAreLocatedErrors) {
  struct Case {
    std::string text, field, message;
  } cases[] = {
      {replace(kDescriptor, "\"switches\"", "\"switchez\""), "switchez", "unknown key \"switchez\""},
      {replace(kDescriptor, "\"suite\": \"bookworm-security\",", ""), "package.suite", "missing required key"},
      {replace(kDescriptor, "\"amd64\", \"image\"", "\"arm64\", \"image\""), "package.architecture", "expected \"amd64\""},
      {replace(kDescriptor, "\"family\": \"linux\"", "\"family\": \"rom\""), "family", "expected \"linux\""},
      {replace(kDescriptor, "boot/vmlinuz", "/boot/vmlinuz"), "package.image", "relative path"},
      {replace(kDescriptor, "\"noxsave\"", "\"a b\""), "switches[0]", "one command-line word"},
      {replace(kDescriptor, "\"6.1.192-3\"", "\"6.1 192\""), "package.version", "not a Debian version"},
  };
  for (const auto& c : cases) {
    JsonError err;
    EXPECT_FALSE(parse_linux_release(c.text, "linux-x.json", "linux-x", &err)) << c.field;
    EXPECT_EQ(err.file, "linux-x.json");
    EXPECT_GT(err.line, 0) << err.to_string();
    EXPECT_EQ(err.field, c.field) << err.to_string();
    EXPECT_NE(err.message.find(c.message), std::string::npos) << err.to_string();
  }
  JsonError err;
  EXPECT_FALSE(parse_linux_release(kDescriptor, "linux-y.json", "linux-y", &err));
  EXPECT_EQ(err.field, "name");
}

TEST(LinuxRelease, ShippedDescriptorsLoad) {
  JsonError err;
  auto all = load_linux_releases(std::string(PVMATRIX_TEST_DIR) + "/../kernel/linux", &err);
  ASSERT_TRUE(all) << err.to_string();
  std::vector<std::string> names;
  for (const auto& r : *all) names.push_back(r.name);
  EXPECT_EQ(names, (std::vector<std::string>{"linux-6.1", "linux-6.1-686-pae", "linux-6.12", "linux-7.2"}));
  EXPECT_EQ((*all)[1].agent_arch(), "i386");
}

TEST(LinuxRelease, Dom0Mode) {
  EXPECT_EQ(with_dom0_mode("console=com1 dom0=pvh dom0_mem=256M", "pv"), "console=com1 dom0=pv dom0_mem=256M");
  EXPECT_EQ(with_dom0_mode("console=com1", "pvh"), "console=com1 dom0=pvh");
  EXPECT_EQ(with_dom0_mode("dom0=pvh a dom0=pv", "pvh"), "dom0=pvh a");
  EXPECT_EQ(dom0_mode_of("console=com1 dom0=pvh dom0_mem=1G"), "pvh");
  EXPECT_EQ(dom0_mode_of("console=com1 dom0_mem=1G"), "pv");
  EXPECT_EQ(dom0_mode_of("dom0=pvh,verbose"), "pvh");
  EXPECT_EQ(dom0_mode_of("xdom0=pvh"), "pv");
}

TEST(LinuxRelease, WorldMakesRealCells) {
  setenv("PVMATRIX_DOWNLOADS", "/nonexistent/pvmatrix-downloads", 1);
  setenv("PVMATRIX_XEN_CACHE", "/nonexistent/pvmatrix-xen", 1);
  std::string err;
  auto w = World::load(std::string(PVMATRIX_TEST_DIR) + "/..", "/nonexistent-images", &err);
  ASSERT_TRUE(w) << err;
  // Missing from the cache: SKIP naming the package and the fetch script.
  auto bare = w->make_spec("linux-6.1", "qemu", CellConfig{}, &err);
  ASSERT_TRUE(bare) << err;
  EXPECT_EQ(bare->kernel_family, "linux");
  EXPECT_EQ(bare->memory_mib, 512u);
  EXPECT_NE(bare->skip_reason.find("linux-image-6.1.0-57-amd64=6.1.192-3"), std::string::npos) << bare->skip_reason;
  EXPECT_NE(bare->skip_reason.find("fetch.sh"), std::string::npos);
  EXPECT_EQ(bare->initrd, "/nonexistent-images/linux-agent-x86_64.cpio");
  auto pae = w->make_spec("linux-6.1-686-pae", "qemu", CellConfig{}, &err);
  ASSERT_TRUE(pae);
  EXPECT_EQ(pae->initrd, "/nonexistent-images/linux-agent-i386.cpio");
  // The config's dom0 mode rewrites Xen's command line; the real-guest platform applies.
  CellConfig pv;
  pv.name = "pv";
  pv.dom0 = "pv";
  auto x = w->make_spec("linux-6.1", "xen-4.17.7", pv, &err);
  ASSERT_TRUE(x) << err;
  EXPECT_EQ(x->dom0_mode, "pv");
  EXPECT_NE(x->hypervisor_cmdline.find(" dom0=pv "), std::string::npos) << x->hypervisor_cmdline;
  EXPECT_NE(x->hypervisor_cmdline.find("dom0_mem=256M"), std::string::npos) << x->hypervisor_cmdline;
  EXPECT_EQ(x->cpu, "max,-rdtscp,-avx,-avx2,-smap");
  // The reference kernel on the same version keeps its own platform.
  auto ref = w->make_spec("2.6.25", "xen-4.17.7", CellConfig{}, &err);
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->cpu, "max");
  EXPECT_EQ(ref->dom0_mode, "pvh");
  // A real kernel has no ROM to speak to, and a dom0 mode needs a Xen column.
  auto rom = w->make_spec("linux-6.1", "rom-1.13", CellConfig{}, &err);
  ASSERT_TRUE(rom);
  EXPECT_NE(rom->skip_reason.find("VMI"), std::string::npos) << rom->skip_reason;
  auto bare_pv = w->make_spec("linux-6.1", "qemu", pv, &err);
  ASSERT_TRUE(bare_pv);
  EXPECT_NE(bare_pv->skip_reason.find("Xen column"), std::string::npos) << bare_pv->skip_reason;
  unsetenv("PVMATRIX_DOWNLOADS");
  unsetenv("PVMATRIX_XEN_CACHE");
}

TEST(LinuxRelease, ArgvBootsXenWithTheKernelAndTheAgentAsModules) {
  CellSpec s;
  s.kernel_family = "linux";
  s.family = "xen";
  s.kernel_image = "/c/vmlinux";
  s.initrd = "/i/agent.cpio";
  s.cmdline = "clocksource=tsc";
  s.hypervisor_image = "/c/xen";
  s.hypervisor_cmdline = "console=com1 com1=115200,8n1 dom0=pv";
  auto a = QemuLauncher("/q").argv(s);
  auto at = [&](const std::string& opt) {
    auto it = std::find(a.begin(), a.end(), opt);
    return it == a.end() || it + 1 == a.end() ? std::string("<missing>") : *(it + 1);
  };
  EXPECT_EQ(at("-kernel"), "/c/xen");
  EXPECT_EQ(at("-append"), "console=com1 com1=115200,8n1 dom0=pv");
  EXPECT_EQ(at("-initrd"), "/c/vmlinux console=hvc0 earlyprintk=xen nokaslr panic=-1 clocksource=tsc,/i/agent.cpio");
  s.family = "none";
  a = QemuLauncher("/q").argv(s);
  EXPECT_EQ(at("-kernel"), "/c/vmlinux");
  EXPECT_EQ(at("-initrd"), "/i/agent.cpio");
  EXPECT_EQ(at("-append"), "console=ttyS0 nokaslr panic=-1 clocksource=tsc");
  EXPECT_EQ(std::find(a.begin(), a.end(), "isa-debug-exit,iobase=0xf4,iosize=4"), a.end());
}

TEST(LinuxRelease, WorkaroundsOfARealKernelAreTheOtherModeThenItsSwitches) {
  setenv("PVMATRIX_DOWNLOADS", "/nonexistent/pvmatrix-downloads", 1);
  std::string err;
  auto w = World::load(std::string(PVMATRIX_TEST_DIR) + "/..", "/nonexistent-images", &err);
  ASSERT_TRUE(w) << err;
  CellConfig cfg;
  cfg.cmdline = "noxsave";
  auto s = w->make_spec("linux-6.1", "xen-4.17.7", cfg, &err);
  ASSERT_TRUE(s) << err;
  auto tries = workaround_tries(*w, *s);
  std::vector<std::string> labels;
  for (const auto& t : tries) labels.push_back(t.label);
  // noxsave is already on the command line: not tried again.
  EXPECT_EQ(labels, (std::vector<std::string>{"dom0=pv", "clocksource=tsc", "xen_nopvspin", "nopv"}));
  EXPECT_EQ(tries[0].spec.dom0_mode, "pv");
  EXPECT_NE(tries[0].spec.hypervisor_cmdline.find("dom0=pv "), std::string::npos);
  EXPECT_EQ(tries[1].spec.cmdline, "noxsave clocksource=tsc");
  EXPECT_EQ(tries[1].spec.dom0_mode, "pvh");
  // Bare: no dom0 mode to switch; a reference kernel: the pv.native masks.
  auto bare = w->make_spec("linux-6.1", "qemu", CellConfig{}, &err);
  EXPECT_EQ(workaround_tries(*w, *bare).front().label, "noxsave");
  auto ref = w->make_spec("2.6.25", "rom-1.12", CellConfig{}, &err);
  auto masks = workaround_tries(*w, *ref);
  ASSERT_FALSE(masks.empty());
  EXPECT_EQ(masks.front().spec.cmdline, "pv.native=cpu");
  EXPECT_EQ(with_mask("console=x pv.native=mmu", "pv.native=timer"), "console=x pv.native=mmu,timer");
  unsetenv("PVMATRIX_DOWNLOADS");
}

CellSpec real_spec(const std::string& family) {
  CellSpec s;
  s.kernel = "linux-6.1";
  s.hv = family == "xen" ? "xen-4.17.7" : "qemu";
  s.family = family;
  s.kernel_family = "linux";
  return s;
}

BootOutcome ended(std::string serial) {
  BootOutcome b;
  b.started = true;
  b.exit_status_known = false;
  b.serial = std::move(serial);
  return b;
}

TEST(LinuxRelease, APanicIsCrashWithTheKernelsOwnLines) {
  std::string log;
  for (int i = 0; i < 50; ++i) log += "(XEN) banner line " + std::to_string(i) + "\n";
  log +=
      "[    1.000000] Run /init as init process\n"
      "@pvm {\"v\":1,\"ev\":\"hello\",\"kernel\":\"6.1.0-57-amd64\",\"build\":\"agent\"}\n"
      "@pvm {\"ev\":\"stage\",\"name\":\"boot\",\"status\":\"ok\"}\n"
      "[    2.000000] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
      "[    2.000001] #PF: supervisor read access in kernel mode\n"
      "[    2.000002] Oops: 0000 [#1] PREEMPT SMP NOPTI\n"
      "[    2.000003] CPU: 0 PID: 1 Comm: init Not tainted 6.1.0-57-amd64 #1\n"
      "[    2.000004] RIP: 0010:xen_foo+0x12/0x40\n"
      "[    2.000005] RSP: 0018:ffffc900 EFLAGS: 00010246\n"
      "[    2.000006] Call Trace:\n"
      "[    2.000007]  <TASK>\n"
      "[    2.000008]  do_bar+0x1/0x2\n"
      "[    2.000009] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009\n"
      "[    2.000010] ---[ end Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009 ]---\n";
  CellResult r = classify(real_spec("xen"), ended(log));
  EXPECT_EQ(r.status, Status::Crash);
  EXPECT_EQ(r.reason,
            "Linux panic: Attempted to kill init! exitcode=0x00000009 (BUG: kernel NULL pointer dereference, address: "
            "0000000000000008), RIP: 0010:xen_foo+0x12/0x40, last stage boot");
  EXPECT_NE(r.evidence.find("Comm: init"), std::string::npos) << r.evidence;
  EXPECT_NE(r.evidence.find("do_bar+0x1/0x2"), std::string::npos) << r.evidence;
  EXPECT_EQ(r.evidence.find("banner line 1"), std::string::npos) << r.evidence;
  EXPECT_EQ(r.evidence.find("RSP:"), std::string::npos) << r.evidence;
}

TEST(LinuxRelease, TheWarningBeforeTheDeathIsNamedAndHvcCarriageReturnsAreDropped) {
  // Linux 7.2 as PVH dom0 of Xen 4.20.4 (hvc0 lines end "\r\r\n"): Xen's XSAVE size disagrees
  // with the kernel's, the kernel warns, disables XSAVE, then dies on a NULL fpstate.
  std::string log =
      "[    0.549058] XSAVE consistency problem: size 2696 != kernel_size 576\r\r\n"
      "[    0.549142] WARNING: arch/x86/kernel/fpu/xstate.c:639 at fpu__init_system_xstate+0x8b0/0xbf0, CPU#0: swapper/0/0\r\r\n"
      "[    0.549143] Modules linked in:\r\r\n"
      "[    0.549579] RIP: 0010:fpu__init_system_xstate+0x8b5/0xbf0\r\r\n"
      "[    0.551453] ---[ end trace 0000000000000000 ]---\r\r\n"
      "[    0.551453] BUG: kernel NULL pointer dereference, address: 0000000000000010\r\r\n"
      "[    0.551453] RIP: 0010:fpstate_reset+0x1a/0x90\r\r\n"
      "[    0.551453] Kernel panic - not syncing: Attempted to kill the idle task!\r\r\n";
  CellResult r = classify(real_spec("xen"), ended(log));
  EXPECT_EQ(r.status, Status::Crash);
  EXPECT_EQ(r.reason,
            "Linux panic: Attempted to kill the idle task! (BUG: kernel NULL pointer dereference, address: "
            "0000000000000010), RIP: 0010:fpstate_reset+0x1a/0x90; after WARNING: arch/x86/kernel/fpu/xstate.c:639 "
            "at fpu__init_system_xstate+0x8b0/0xbf0; before the guest agent ran");
  EXPECT_NE(r.evidence.find("XSAVE consistency problem"), std::string::npos) << r.evidence;
  EXPECT_NE(r.evidence.find("RIP: 0010:fpu__init_system_xstate"), std::string::npos) << r.evidence;
}

TEST(LinuxRelease, AnOopsThatDidNotPanicIsStillACrash) {
  std::string log =
      "@pvm {\"v\":1,\"ev\":\"hello\",\"kernel\":\"6.1.0-57-amd64\",\"build\":\"agent\"}\n"
      "[    2.0] general protection fault, probably for non-canonical address 0xdead: 0000 [#1] SMP\n"
      "[    2.1] RIP: 0010:foo+0x1/0x2\n"
      "@pvm {\"ev\":\"done\",\"pass\":0,\"fail\":0,\"skip\":0}\n";
  CellResult r = classify(real_spec("none"), ended(log));
  EXPECT_EQ(r.status, Status::Crash);
  EXPECT_EQ(r.reason.rfind("Linux oops: general protection fault", 0), 0u) << r.reason;
  // The reference kernel's log is not read for Linux's words.
  CellSpec ref = real_spec("none");
  ref.kernel_family = "reference";
  EXPECT_NE(classify(ref, ended(log)).reason.rfind("Linux", 0), 0u);
}

TEST(LinuxRelease, Dom0CrashedIsCrashNamingXensReason) {
  std::string log =
      "(XEN) Xen version 4.17.7\n"
      "(XEN) d0v0 Unhandled invalid opcode fault/trap [#6, ec=ffffffff]\n"
      "(XEN) domain_crash_sync called from entry.S: fault at ffff82d040321f5c\n"
      "(XEN) ----[ Xen-4.17.7  x86_64  debug=n  Not tainted ]----\n"
      "(XEN) Hardware Dom0 crashed: 'noreboot' set - not rebooting.\n";
  CellResult r = classify(real_spec("xen"), ended(log));
  EXPECT_EQ(r.status, Status::Crash);
  EXPECT_NE(r.reason.find("Xen: dom0 crashed (d0v0 Unhandled invalid opcode fault/trap"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("the kernel never reached its init"), std::string::npos) << r.reason;
}

}  // namespace
}  // namespace pvm
