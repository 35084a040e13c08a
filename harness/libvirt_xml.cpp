#include "libvirt_xml.h"

#include <cstdlib>

#include <fmt/format.h>

#include "launcher.h"

namespace pvm {

std::vector<std::string> default_libvirt_qemu_args() {
  // isa-debug-exit as the direct backend has it; the status it sets is lost through
  // libvirt (the domain reads as crashed), so the serial records decide the result.
  // -icount keeps guest time deterministic and independent of host load.
  return {"-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-icount", "shift=0,sleep=off"};
}

std::string libvirt_cannot_boot(const CellSpec& spec) {
  if (spec.family == "xen")
    return "the libvirt backend does not boot the xen family (Xen with the kernel as its dom0 module): "
           "run this cell with --backend qemu";
  if (spec.kernel_family == "linux")
    return "the libvirt backend does not boot real kernels (a vmlinux with the guest agent's initramfs): "
           "run this cell with --backend qemu";
  return {};
}

std::string domain_xml(const CellSpec& spec, const LibvirtDomainOptions& o) {
  const auto e = [](std::string_view s) { return xml_escape(s); };
  std::string x;
  x += "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n";
  x += fmt::format("  <name>{}</name>\n", e(o.name));
  x += fmt::format("  <description>pvmatrix cell {}</description>\n", e(spec.id()));
  x += fmt::format("  <memory unit='MiB'>{}</memory>\n", spec.memory_mib);
  x += "  <vcpu>1</vcpu>\n";
  if (!spec.rom_image.empty()) {
    x += "  <sysinfo type='fwcfg'>\n";
    x += fmt::format("    <entry name='{}' file='{}'/>\n", e(kRomFwCfgName), e(spec.rom_image));
    x += "  </sysinfo>\n";
  }
  x += "  <os>\n";
  x += fmt::format("    <type arch='i686' machine='{}'>hvm</type>\n", e(spec.machine));
  x += fmt::format("    <kernel>{}</kernel>\n", e(spec.kernel_image));
  if (!spec.cmdline.empty()) x += fmt::format("    <cmdline>{}</cmdline>\n", e(spec.cmdline));
  x += "  </os>\n";
  x += "  <cpu mode='custom' match='exact' check='none'>\n";
  x += fmt::format("    <model fallback='forbid'>{}</model>\n", e(spec.cpu));
  x += "  </cpu>\n";
  // The same fixed guest wall clock as the direct backend, following virtual time (clock=vm).
  x += fmt::format("  <clock offset='absolute' start='{}'>\n", kGuestRtcEpoch);
  x += "    <timer name='rtc' track='guest'/>\n";
  x += "  </clock>\n";
  x += "  <on_poweroff>destroy</on_poweroff>\n";
  x += "  <on_reboot>destroy</on_reboot>\n";
  x += "  <on_crash>destroy</on_crash>\n";
  x += "  <devices>\n";
  if (!o.emulator.empty()) x += fmt::format("    <emulator>{}</emulator>\n", e(o.emulator));
  x += "    <controller type='usb' model='none'/>\n";
  // A file, not a pty console: nothing is lost however fast the guest writes.
  x += "    <serial type='file'>\n";
  x += fmt::format("      <source path='{}'/>\n", e(o.serial_path));
  x += "      <target port='0'/>\n";
  x += "    </serial>\n";
  x += "    <memballoon model='none'/>\n";
  x += "    <panic model='isa'>\n";
  x += "      <address type='isa' iobase='0x505'/>\n";
  x += "    </panic>\n";
  x += "  </devices>\n";
  // Images are read in place: never chown a user's build outputs (they must be readable by
  // the QEMU user of the libvirt host; build outputs are world-readable).
  x += "  <seclabel type='none' model='dac'/>\n";
  if (!o.qemu_args.empty() || !spec.extra_qemu_args.empty()) {
    x += "  <qemu:commandline>\n";
    for (const auto& a : o.qemu_args) x += fmt::format("    <qemu:arg value='{}'/>\n", e(a));
    for (const auto& a : spec.extra_qemu_args) x += fmt::format("    <qemu:arg value='{}'/>\n", e(a));
    x += "  </qemu:commandline>\n";
  }
  x += "</domain>\n";
  return x;
}

bool parse_connect_spec(const std::string& text, LibvirtConnectSpec* out, std::string* err) {
  LibvirtConnectSpec spec;
  std::string rest = text;
  // Options are trailing ",key=value" parts; the URI itself keeps any other commas.
  for (;;) {
    auto comma = rest.rfind(',');
    if (comma == std::string::npos) break;
    std::string opt = rest.substr(comma + 1);
    if (opt.starts_with("jobs=")) {
      const std::string v = opt.substr(5);
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1 || n > 1024) {
        *err = fmt::format("--connect {}: jobs must be a number from 1 to 1024, not '{}'", text, v);
        return false;
      }
      spec.jobs = static_cast<unsigned>(n);
    } else if (opt.starts_with("dir=")) {
      spec.work_dir = opt.substr(4);
      if (spec.work_dir.empty() || spec.work_dir[0] != '/') {
        *err = fmt::format("--connect {}: dir must be an absolute path", text);
        return false;
      }
    } else {
      break;
    }
    rest.resize(comma);
  }
  if (rest.empty() || rest.find(':') == std::string::npos) {
    *err = fmt::format("--connect {}: expected a libvirt URI such as qemu:///system", text);
    return false;
  }
  spec.uri = rest;
  *out = std::move(spec);
  return true;
}

}  // namespace pvm
