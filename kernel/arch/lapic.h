// The local APIC at pvrom::kLapicBase: enabled with LINT0 as ExtINT, so the 8259's
// interrupts keep flowing (virtual wire), and its timer as a native heartbeat.
#pragma once

#include <stdint.h>

namespace lapic {

inline constexpr uint8_t kSpuriousVector = 0xFF;
inline constexpr uint8_t kHeartbeatVector = 0xEE;

bool present();
/// Software-enables the APIC, LINT0 = ExtINT, LINT1 = NMI, timer masked. Idempotent.
void init();
/// Re-asserts the virtual-wire setup (a ROM's init may have touched the APIC).
void keep_virtual_wire();
void eoi();
/// Periodic LAPIC timer on `vector`, `count` bus ticks (divide by 1) apart.
void start_timer_periodic(uint8_t vector, uint32_t count);
void stop_timer();
/// One interrupt on `vector` after `count` bus ticks (divide by 1).
void start_timer_oneshot(uint8_t vector, uint32_t count);
/// Measures the timer's bus clock against the TSC (`tsc_hz` known): counts down from the top
/// for 10 ms of TSC, rounded to whole MHz. QEMU's APIC runs at 1 GHz, Xen's vLAPIC at 100 MHz:
/// a kernel that assumed either would run the other's timers 10x off. Returns the rate in Hz.
uint64_t calibrate(uint64_t tsc_hz);
/// The calibrated bus clock (1 GHz until calibrate()).
uint64_t bus_hz();
/// Vector of the LAPIC timer when it is the clock event device (Xen PVH: no PIT).
inline constexpr uint8_t kEventVector = 0xED;

}  // namespace lapic
