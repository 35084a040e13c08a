#include "libvirt_xml.h"

#include <string>

#include <gtest/gtest.h>


namespace pvm {
namespace {

CellSpec sample_spec() {
  CellSpec s;
  s.kernel = "2.6.25";
  s.hv = "rom-1.12";
  s.cmdline = "pv.native=timer";
  s.kernel_image = "/imgs/kernel-2.6.25.elf";
  s.rom_image = "/imgs/rom-1.12.rom";
  s.machine = "microvm";
  s.cpu = "qemu32";
  s.memory_mib = 64;
  return s;
}

LibvirtDomainOptions sample_options() {
  LibvirtDomainOptions o;
  o.name = "pvm-42-1";
  o.serial_path = "/tmp/pvmatrix-libvirt/pvm-42-1.serial";
  return o;
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

TEST(XmlEscape, EscapesMarkupAndQuotes) {
  EXPECT_EQ(xml_escape("a&b<c>d'e\"f"), "a&amp;b&lt;c&gt;d&apos;e&quot;f");
  EXPECT_EQ(xml_escape("plain/path-1.2"), "plain/path-1.2");
}

TEST(XmlEscape, WhitespaceControlsBecomeReferencesOthersAreReplaced) {
  EXPECT_EQ(xml_escape("a\tb\nc\rd"), "a&#9;b&#10;c&#13;d");
  EXPECT_EQ(xml_escape(std::string("x\x01y", 3)), "x\xEF\xBF\xBDy");
}

TEST(DomainXml, PlatformKernelAndCmdlineFromTheSpec) {
  auto x = domain_xml(sample_spec(), sample_options());
  EXPECT_TRUE(contains(x, "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"));
  EXPECT_TRUE(contains(x, "<name>pvm-42-1</name>"));
  EXPECT_TRUE(contains(x, "<type arch='i686' machine='microvm'>hvm</type>"));
  EXPECT_TRUE(contains(x, "<model fallback='forbid'>qemu32</model>"));
  EXPECT_TRUE(contains(x, "<memory unit='MiB'>64</memory>"));
  EXPECT_TRUE(contains(x, "<kernel>/imgs/kernel-2.6.25.elf</kernel>"));
  EXPECT_TRUE(contains(x, "<cmdline>pv.native=timer</cmdline>"));
}

TEST(DomainXml, RomIsAFwCfgFile) {
  auto x = domain_xml(sample_spec(), sample_options());
  EXPECT_TRUE(contains(x, "<sysinfo type='fwcfg'>"));
  EXPECT_TRUE(contains(x, "<entry name='opt/pvmatrix/rom' file='/imgs/rom-1.12.rom'/>"));
}

TEST(DomainXml, NoRomNoSysinfoNoCmdlineNoCmdlineElement) {
  auto spec = sample_spec();
  spec.rom_image.clear();
  spec.cmdline.clear();
  auto x = domain_xml(spec, sample_options());
  EXPECT_FALSE(contains(x, "sysinfo"));
  EXPECT_FALSE(contains(x, "<cmdline>"));
}

TEST(DomainXml, MinimalMachineThatStopsOnEveryExit) {
  auto x = domain_xml(sample_spec(), sample_options());
  EXPECT_TRUE(contains(x, "<controller type='usb' model='none'/>"));
  EXPECT_TRUE(contains(x, "<memballoon model='none'/>"));
  EXPECT_TRUE(contains(x, "<on_poweroff>destroy</on_poweroff>"));
  EXPECT_TRUE(contains(x, "<on_reboot>destroy</on_reboot>"));
  EXPECT_TRUE(contains(x, "<on_crash>destroy</on_crash>"));
  EXPECT_TRUE(contains(x, "<panic model='isa'>"));
  EXPECT_FALSE(contains(x, "<disk"));
  EXPECT_FALSE(contains(x, "<interface"));
  EXPECT_FALSE(contains(x, "<graphics"));
}

TEST(DomainXml, SerialGoesToAFile) {
  auto x = domain_xml(sample_spec(), sample_options());
  EXPECT_TRUE(contains(x, "<serial type='file'>"));
  EXPECT_TRUE(contains(x, "<source path='/tmp/pvmatrix-libvirt/pvm-42-1.serial'/>"));
}

TEST(DomainXml, ExitDeviceAndClockThroughTheQemuNamespace) {
  auto x = domain_xml(sample_spec(), sample_options());
  EXPECT_TRUE(contains(x, "<qemu:arg value='isa-debug-exit,iobase=0xf4,iosize=4'/>"));
  EXPECT_TRUE(contains(x, "<qemu:arg value='-icount'/>"));
  EXPECT_TRUE(contains(x, "<qemu:arg value='shift=0,sleep=off'/>"));
}

TEST(DomainXml, SpecExtraArgsFollowTheDefaults) {
  auto spec = sample_spec();
  spec.extra_qemu_args = {"-device", "pvpanic"};
  auto x = domain_xml(spec, sample_options());
  auto icount = x.find("shift=0,sleep=off");
  auto extra = x.find("<qemu:arg value='pvpanic'/>");
  ASSERT_NE(extra, std::string::npos);
  EXPECT_LT(icount, extra);
}

TEST(DomainXml, EmulatorOnlyWhenChosen) {
  auto o = sample_options();
  EXPECT_FALSE(contains(domain_xml(sample_spec(), o), "<emulator>"));
  o.emulator = "/usr/libexec/qemu-system-i386";
  EXPECT_TRUE(contains(domain_xml(sample_spec(), o), "<emulator>/usr/libexec/qemu-system-i386</emulator>"));
}

TEST(DomainXml, EveryPathAndTheCmdlineAreEscaped) {
  auto spec = sample_spec();
  spec.kernel_image = "/x/<k>&'.elf";
  spec.rom_image = "/x/r'o\"m.rom";
  spec.cmdline = "pv.native=timer </cmdline><evil/>";
  spec.machine = "pc'";
  spec.cpu = "qemu32<";
  spec.extra_qemu_args = {"a'b"};
  auto o = sample_options();
  o.serial_path = "/s/'&.serial";
  o.emulator = "/e/<q>";
  auto x = domain_xml(spec, o);
  EXPECT_TRUE(contains(x, "<kernel>/x/&lt;k&gt;&amp;&apos;.elf</kernel>"));
  EXPECT_TRUE(contains(x, "file='/x/r&apos;o&quot;m.rom'"));
  EXPECT_TRUE(contains(x, "<cmdline>pv.native=timer &lt;/cmdline&gt;&lt;evil/&gt;</cmdline>"));
  EXPECT_TRUE(contains(x, "machine='pc&apos;'"));
  EXPECT_TRUE(contains(x, ">qemu32&lt;</model>"));
  EXPECT_TRUE(contains(x, "<qemu:arg value='a&apos;b'/>"));
  EXPECT_TRUE(contains(x, "<source path='/s/&apos;&amp;.serial'/>"));
  EXPECT_TRUE(contains(x, "<emulator>/e/&lt;q&gt;</emulator>"));
  EXPECT_FALSE(contains(x, "<evil/>"));
}

TEST(ConnectSpec, UriAlone) {
  LibvirtConnectSpec s;
  std::string err;
  ASSERT_TRUE(parse_connect_spec("qemu:///system", &s, &err)) << err;
  EXPECT_EQ(s.uri, "qemu:///system");
  EXPECT_EQ(s.jobs, 0u);
  EXPECT_EQ(s.work_dir, "");
}

TEST(ConnectSpec, JobsAndDirOptions) {
  LibvirtConnectSpec s;
  std::string err;
  ASSERT_TRUE(parse_connect_spec("qemu+unix:///system?socket=/run/pvm2/libvirt-sock,jobs=3,dir=/shared/pvm", &s, &err))
      << err;
  EXPECT_EQ(s.uri, "qemu+unix:///system?socket=/run/pvm2/libvirt-sock");
  EXPECT_EQ(s.jobs, 3u);
  EXPECT_EQ(s.work_dir, "/shared/pvm");
}

TEST(ConnectSpec, RejectsBadJobsAndNonUris) {
  LibvirtConnectSpec s;
  std::string err;
  EXPECT_FALSE(parse_connect_spec("qemu:///system,jobs=0", &s, &err));
  EXPECT_NE(err.find("jobs"), std::string::npos);
  EXPECT_FALSE(parse_connect_spec("qemu:///system,jobs=two", &s, &err));
  EXPECT_FALSE(parse_connect_spec("qemu:///system,dir=relative", &s, &err));
  EXPECT_FALSE(parse_connect_spec("jobs=2", &s, &err));
  EXPECT_FALSE(parse_connect_spec("", &s, &err));
}

// A xen cell is not booted wrongly through libvirt (its XML boots the kernel directly).
TEST(LibvirtXml, XenCellsAreNotBootedThroughLibvirt) {
  CellSpec s;
  EXPECT_EQ(libvirt_cannot_boot(s), "");
  s.family = "xen";
  EXPECT_NE(libvirt_cannot_boot(s).find("--backend qemu"), std::string::npos);
  // Nor a real kernel bare (its XML has no initramfs).
  CellSpec real;
  real.family = "none";
  real.kernel_family = "linux";
  EXPECT_NE(libvirt_cannot_boot(real).find("real kernels"), std::string::npos);
}

}  // namespace
}  // namespace pvm
