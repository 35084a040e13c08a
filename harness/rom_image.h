// Host-side reading of ROM images (build/images/<version>.rom): the same validation the
// kernel performs (pvrom/abi.h, "Validation"), then the header and call table as data.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pvrom/abi.h"

namespace pvm {

struct HypervisorVersion;

/// API majors a ROM may carry (what some kernel release speaks): 3 and 4.
bool is_known_api_major(uint8_t major);

/// A validated ROM image.
struct RomImage {
  pvrom::RomHeader header{};            ///< as read from offset 0
  std::string version_name;             ///< header.version_name up to the first NUL
  std::vector<pvrom::CallEntry> calls;  ///< the static call table, in image order
  uint32_t size = 0;                    ///< image size in bytes

  uint8_t api_major() const { return header.api_major; }
  uint8_t api_minor() const { return header.api_minor; }
  /// "3.2".
  std::string api() const;
  uint32_t features() const { return header.features; }
  pvrom::CallingConvention calling_convention() const {
    return static_cast<pvrom::CallingConvention>(header.calling_convention);
  }
  /// The call table row for `number`, or nullptr (the call is NONE: not offered).
  const pvrom::CallEntry* find_call(uint16_t number) const;
};

/// Validates `bytes` as a ROM image, in abi.h's order, plus the call table's rows (reloc
/// known, reserved 0, entry points inside the image, numbers unique). On failure returns
/// nullopt and sets *err to one line saying what is wrong ("bad checksum (sum 0x3c)").
std::optional<RomImage> parse_rom_image(std::span<const uint8_t> bytes, std::string* err);
/// Reads a file and parses it; errors name the path.
std::optional<RomImage> load_rom_image(const std::string& path, std::string* err);

/// Where a built ROM image and its version.json disagree (name, API, convention, features,
/// call numbers and relocs); empty when they agree.
std::vector<std::string> check_rom_matches_version(const RomImage& rom, const HypervisorVersion& v);

}  // namespace pvm
