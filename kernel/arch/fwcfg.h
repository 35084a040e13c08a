// QEMU's fw_cfg over I/O ports: selector 0x510, data 0x511, DMA address 0x514/0x518.
// This is how the emulated hypervisor hands the ROM to the guest (DESIGN §3).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace fwcfg {

struct File {
  uint16_t select;
  uint32_t size;
};

/// The "QEMU" signature at selector 0.
bool present();
/// The DMA interface bit of the feature bitmap (selector 1).
bool has_dma();
/// Looks a file up in the directory (selector 0x19).
bool find(const char* name, File* out);
/// Reads `size` bytes of an item to physical memory `dst`, by DMA; false if the device said error.
bool read_dma(uint16_t select, void* dst, uint32_t size);
/// The same through the data port, byte by byte (fw_cfg without DMA).
void read_pio(uint16_t select, void* dst, uint32_t size);

}  // namespace fwcfg
