// Finding, validating and bootstrapping the hypervisor ROM (DESIGN §3, pvrom/abi.h).
#pragma once

#include <pvrom/abi.h>
#include <stddef.h>
#include <stdint.h>

namespace pv {

enum class RomState : uint8_t {
  kNone,      ///< no fw_cfg file opt/pvmatrix/rom (or no fw_cfg at all)
  kRefused,   ///< found but unusable: refusal says why; every group stays native
  kAccepted,  ///< header valid, API major spoken, init succeeded
};

struct Rom {
  RomState state = RomState::kNone;
  char refusal[160] = {};   ///< why it was refused (the "hv" record's "refused")
  char absence[96] = {};    ///< why there is no ROM (detail for hv.negotiate)
  char name[32] = {};       ///< header version_name, once the signatures checked out
  bool header_readable = false;  ///< signatures ok: name/api below mean something
  uint8_t api_major = 0, api_minor = 0;
  uint32_t convention = 0;  ///< pvrom::CallingConvention
  uint32_t header_features = 0;
  uint32_t features = 0;        ///< effective: GetFeatures' answer when asked, else the header's
  bool features_asked = false;  ///< GetFeatures (75) was called
  uint32_t image_size = 0;
  int32_t init_result = 0;
  const pvrom::RomHeader* header = nullptr;
};

/// Reads opt/pvmatrix/rom over fw_cfg to pvrom::kLoadAddress and validates it in abi.h's
/// order; on success calls init(major) (and GetFeatures where needed). Never crashes on a bad
/// image: the result says what happened.
void discover_rom(Rom& rom);

/// get_reloc(call) through the bootstrap convention (cdecl): low 32 bits reloc, high 32 address.
uint64_t rom_get_reloc(uint32_t call);

/// Renders "3.2".
void format_api(const Rom& rom, char* buf, size_t cap);

}  // namespace pv
