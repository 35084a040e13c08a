#include "pv/rom.h"

#include "arch/cpu.h"
#include "arch/fwcfg.h"
#include "lib/format.h"
#include "lib/string.h"
#include "pv/rom_calls.h"
#include "pvrom/header_check.h"
#include "release.h"

namespace pv {
namespace {

using InitFn = int32_t (*)(uint32_t kernel_api_major);  // bootstrap convention: cdecl
using GetRelocFn = uint64_t (*)(uint32_t call);

constinit GetRelocFn get_reloc_fn = nullptr;

uint8_t* load_area() { return reinterpret_cast<uint8_t*>(pvrom::kLoadAddress); }

void speaks(char* buf, size_t cap) {
  Text<32> t;
  for (uint32_t m = 0; m < 32; ++m)
    if (kRelease.api_majors & api_major_bit(m)) t.add(t.len ? ",%u" : "%u", static_cast<unsigned>(m));
  str_copy(buf, cap, t.c_str());
}

/// The checks of pvrom/abi.h, in its order (pvrom/header_check.h), then the calling convention
/// this release expects of the major. Returns false with rom.refusal filled.
bool validate(Rom& rom, uint32_t size) {
  const uint8_t* image = load_area();
  const pvrom::HeaderCheck c = pvrom::check_header(image, size, kRelease.api_majors);
  const auto* h = reinterpret_cast<const pvrom::RomHeader*>(image);
  if (c.header_readable()) {
    static_assert(sizeof rom.name > sizeof h->version_name);
    for (size_t i = 0; i < sizeof h->version_name; ++i) rom.name[i] = h->version_name[i];
    rom.header_readable = true;
    rom.api_major = h->api_major;
    rom.api_minor = h->api_minor;
  }
  char* out = rom.refusal;
  const size_t cap = sizeof rom.refusal;
  switch (c.error) {
    case pvrom::HeaderError::kNone:
      break;
    case pvrom::HeaderError::kTooSmall:
    case pvrom::HeaderError::kTooLarge:
      format(out, cap, "image size %u outside [%u, %u]", static_cast<unsigned>(size),
             static_cast<unsigned>(sizeof(pvrom::RomHeader)), static_cast<unsigned>(pvrom::kMaxImageSize));
      return false;
    case pvrom::HeaderError::kBadSignature:
      format(out, cap, "bad signature (rom 0x%04x, pvm 0x%08x)", static_cast<unsigned>(h->rom_signature),
             static_cast<unsigned>(h->pvm_signature));
      return false;
    case pvrom::HeaderError::kLengthMismatch:
      format(out, cap, "length %u blocks (%u bytes) != image size %u", static_cast<unsigned>(h->rom_length),
             static_cast<unsigned>(h->rom_length * 512u), static_cast<unsigned>(size));
      return false;
    case pvrom::HeaderError::kBadChecksum:
      format(out, cap, "bad checksum (sum 0x%02x)", static_cast<unsigned>(c.value));
      return false;
    case pvrom::HeaderError::kBadHeaderSize:
      format(out, cap, "header_size %u != %u", static_cast<unsigned>(h->header_size),
             static_cast<unsigned>(sizeof(pvrom::RomHeader)));
      return false;
    case pvrom::HeaderError::kBadLoadAddress:
      format(out, cap, "load_address 0x%08x != 0x%08x", static_cast<unsigned>(h->load_address),
             static_cast<unsigned>(pvrom::kLoadAddress));
      return false;
    case pvrom::HeaderError::kBadInitOffset:
      format(out, cap, "init_offset 0x%x outside the image", static_cast<unsigned>(h->init_offset));
      return false;
    case pvrom::HeaderError::kBadGetRelocOffset:
      format(out, cap, "get_reloc_offset 0x%x outside the image", static_cast<unsigned>(h->get_reloc_offset));
      return false;
    case pvrom::HeaderError::kBadCallTable:
      format(out, cap, "call table 0x%x + %u entries outside the image", static_cast<unsigned>(h->call_table_offset),
             static_cast<unsigned>(h->call_count));
      return false;
    case pvrom::HeaderError::kApiMajorNotSpoken: {
      char spoken[16];
      speaks(spoken, sizeof spoken);
      format(out, cap, "API major %u not spoken by %s (speaks %s)", static_cast<unsigned>(h->api_major),
             kRelease.name, spoken);
      return false;
    }
  }
  // The calling convention is part of the versioned ABI: it must be the one the major defines.
  uint32_t expected = pvrom::convention_of_major(h->api_major);
  if (h->calling_convention != expected) {
    format(out, cap, "calling convention %u is not API %u's (%u)", static_cast<unsigned>(h->calling_convention),
           static_cast<unsigned>(h->api_major), static_cast<unsigned>(expected));
    return false;
  }
  rom.header = h;
  rom.convention = h->calling_convention;
  rom.header_features = h->features;
  rom.features = h->features;
  rom.image_size = size;
  return true;
}

}  // namespace

uint64_t rom_get_reloc(uint32_t call) { return get_reloc_fn ? get_reloc_fn(call) : 0; }

void format_api(const Rom& rom, char* buf, size_t cap) {
  format(buf, cap, "%u.%u", static_cast<unsigned>(rom.api_major), static_cast<unsigned>(rom.api_minor));
}

void discover_rom(Rom& rom) {
  if (!fwcfg::present()) {
    str_copy(rom.absence, sizeof rom.absence, "no fw_cfg device (signature \"QEMU\" missing)");
    return;
  }
  fwcfg::File file;
  if (!fwcfg::find(pvrom::kFwCfgName, &file)) {
    format(rom.absence, sizeof rom.absence, "no fw_cfg file %s", pvrom::kFwCfgName);
    return;
  }
  rom.state = RomState::kRefused;
  rom.image_size = file.size;
  if (file.size < sizeof(pvrom::RomHeader) || file.size > pvrom::kMaxImageSize) {
    // Check 1 before copying: the load area is only kMaxImageSize long.
    validate(rom, file.size);
    return;
  }
  if (fwcfg::has_dma()) {
    if (!fwcfg::read_dma(file.select, load_area(), file.size)) {
      str_copy(rom.refusal, sizeof rom.refusal, "fw_cfg DMA transfer of the ROM failed");
      return;
    }
  } else {
    fwcfg::read_pio(file.select, load_area(), file.size);  // old QEMU: the slow path still works
  }
  if (!validate(rom, file.size)) return;

  const auto* h = rom.header;
  cpu::set_rom_range(pvrom::kLoadAddress, pvrom::kLoadAddress + file.size, rom.name);
  auto init = reinterpret_cast<InitFn>(pvrom::kLoadAddress + h->init_offset);
  get_reloc_fn = reinterpret_cast<GetRelocFn>(pvrom::kLoadAddress + h->get_reloc_offset);
  rom.init_result = init(h->api_major);
  if (rom.init_result < 0) {
    format(rom.refusal, sizeof rom.refusal, "init(%u) refused (%d)", static_cast<unsigned>(h->api_major),
           static_cast<int>(rom.init_result));
    get_reloc_fn = nullptr;
    return;
  }
  rom_calls_setup(rom.convention);

  // GetFeatures: mandatory and first on API 4 (any other call before it is ud2 on rom-2.0);
  // asked on API 3 by releases that know it, when the ROM offers it.
  bool api4 = h->api_major >= 4;
  if (api4 || kRelease.asks_features) {
    uint64_t r = rom_get_reloc(pvrom::kCallGetFeatures);
    if (static_cast<uint32_t>(r) == pvrom::kRelocCallRel) {
      rom_calls_set(pvrom::kCallGetFeatures, static_cast<uint32_t>(r >> 32));
      rom.features = rom_get_features();
      rom.features_asked = true;
    } else if (api4) {
      format(rom.refusal, sizeof rom.refusal, "API %u ROM does not offer the mandatory call GetFeatures (75)",
             static_cast<unsigned>(h->api_major));
      get_reloc_fn = nullptr;
      return;
    }
  }
  rom.state = RomState::kAccepted;
}

}  // namespace pv
