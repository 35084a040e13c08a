// The Xen backend: the kernel booted as a PVH guest (dom0) of real Xen. Discovery through
// CPUID's hypervisor leaves, the hypercall page, version negotiation (XENVER_version,
// XENVER_get_features), console output through console_io, shutdown through SCHEDOP_shutdown.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace xen {

/// ebx magic at the PVH entry (arch/pvh.cpp passes it to kernel_main).
inline constexpr uint32_t kPvhMagic = 0x336ec578;

/// hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h), the fields we read.
struct StartInfo {
  uint32_t magic, version, flags, nr_modules;
  uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
};

/// True once init() found Xen and installed the hypercall page.
bool active();
/// Finds Xen's CPUID leaves and installs the hypercall page. False (and nothing changed) when
/// the CPU does not say "XenVMMXenVMM"; `why` names what was missing.
bool init(const char** why);
/// CPUID base of Xen's leaves (0x40000000 or 0x40000100).
uint32_t cpuid_base();
/// XENVER_version: major << 16 | minor.
uint32_t version();
/// XENVER_get_features, submap 0.
uint32_t features();
/// Guest TSC frequency in kHz from Xen's CPUID time leaf (0 if Xen does not say).
uint32_t tsc_khz();
/// console_io(CONSOLEIO_write): Xen writes dom0's bytes to its console as they are.
void console_write(const char* s, size_t n);
/// SCHEDOP_shutdown(poweroff, or crash when `code` is not 0): does not return on success.
void shutdown(uint32_t code);

}  // namespace xen
