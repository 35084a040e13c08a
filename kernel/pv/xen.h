// The Xen backend: the kernel booted as a PVH guest (dom0) of real Xen. Discovery through
// CPUID's hypervisor leaves, the hypercall page, version negotiation (XENVER_version,
// XENVER_get_features), console output through console_io, shutdown through SCHEDOP_shutdown,
// and behind the pv-ops groups: the event-channel upcall mask and SCHEDOP_block as the irq ops,
// Xen's system time (vcpu_time_info) and VCPUOP single-shot / periodic timers delivered as
// VIRQ_TIMER on an event channel as the timer ops.
//
// A 32-bit HVM guest speaks the compat ABI: xen_ulong_t and xen_pfn_t are 32 bits and the
// shared info page has the 32-bit layout (Xen latches it from the mode of the guest that maps it).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "pv/bind.h"
#include "pv/cmdline.h"

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

/// What the backend set up for the irq and timer groups (bind()).
struct Events {
  bool shared_info = false;  ///< XENMEM_add_to_physmap(shared_info) mapped it
  bool callback = false;     ///< HVM_PARAM_CALLBACK_IRQ = vector pvrom::kAlarmVector
  int timer_port = -1;       ///< EVTCHNOP_bind_virq(VIRQ_TIMER) answer
  char problem[160] = {};    ///< the first step Xen refused, with its error ("" if none)
};

/// Fills the pv-ops table from Xen for every group the release binds (and pv.native= leaves):
/// cpu (shutdown), irq and timer when the event channel set-up worked. `events` says how far
/// that got; `out` gets the binding like pv::bind().
void bind(const pv::CommandLine& cmdline, pv::Binding& out, Events& events);

/// The alarm features the Xen timer ops offer (pvrom::kFeature* bits, for events::setup).
uint32_t alarm_features();

/// In the callback vector's handler: clears the upcall and the pending timer port; true when
/// VIRQ_TIMER was among the events.
bool take_timer_event();

}  // namespace xen
