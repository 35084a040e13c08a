// The requirements manifest a kernel image carries (kernel/README.md "Requirements manifest"):
// an ELF note "PVMATRIX", type 1, whose descriptor is text such as
//   release=2.6.25;api=3,4;groups=cpu,irq,...;calls=!75@4,0,17,...;features=!oneshot_alarm|-timer,...;counter=clamped
// Read from the image itself (a tiny ELF32 reader: PT_NOTE segments, else SHT_NOTE sections;
// no libelf), so `abi show` and `predict` see what was built, not what the sources say.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pvm {

/// ELF note name and type of the manifest.
inline constexpr std::string_view kManifestNoteName = "PVMATRIX";
inline constexpr uint32_t kManifestNoteType = 1;

/// One alternative of a manifest item: a call number or a feature name with its prefix.
struct ManifestAlternative {
  enum class Need {
    Used,      ///< unprefixed: used when offered
    Required,  ///< `!`: the ROM must have it
    Forbidden, ///< `-`: the ROM must not have it
  };
  Need need = Need::Used;
  std::string name;                  ///< feature name, or the call number as written
  uint16_t call = 0;                 ///< the call number (calls only)
  std::optional<uint8_t> api_major;  ///< `@N`: only for ROMs of API major N
  /// True when this alternative applies to a ROM of API major `major`.
  bool applies_to(uint8_t major) const { return !api_major || *api_major == major; }
};

/// One `,`-separated item: alternatives separated by `|`.
struct ManifestItem {
  std::vector<ManifestAlternative> alternatives;
  std::string text;  ///< as written, e.g. "!oneshot_alarm|-timer"
  /// An item with any prefixed alternative is a requirement (any one alternative satisfies it).
  bool is_requirement() const;
  /// True when any alternative applies to API major `major`.
  bool applies_to(uint8_t major) const;
};

/// A parsed manifest.
struct KernelManifest {
  enum class Counter { Raw, Clamped };
  std::string release;               ///< "2.6.25"
  std::vector<uint8_t> api_majors;   ///< majors spoken, as listed
  std::vector<std::string> groups;   ///< op groups the release may bind
  std::vector<ManifestItem> calls;   ///< calls it asks get_reloc about (and requirements on them)
  std::vector<ManifestItem> features;///< features it uses or requires
  Counter counter = Counter::Raw;    ///< whether the clocksource clamps a counter that steps back
  std::optional<bool> xen_pvh;       ///< `xen=pvh|none`: Xen ELF notes + backend; unset when not recorded
  std::string text;                  ///< the descriptor text, verbatim

  bool speaks(uint8_t major) const;
  bool may_bind(std::string_view group) const;
  /// Call numbers asked about on a ROM of API major `major` (requirements included), in order.
  std::vector<uint16_t> calls_for(uint8_t major) const;
};

/// "raw" | "clamped".
const char* to_string(KernelManifest::Counter c);

/// Parses the descriptor text (grammar: kernel/README.md). Errors name the key and item.
std::optional<KernelManifest> parse_kernel_manifest(std::string_view text, std::string* err);

/// The descriptor of the PVMATRIX note in an ELF32 little-endian image (PT_NOTE segments
/// first, then SHT_NOTE sections), without its trailing NUL. nullopt with *err when the
/// image is not such an ELF, is damaged, or carries no manifest.
std::optional<std::string> find_manifest_note(std::span<const uint8_t> elf, std::string* err);

/// Reads a kernel image file, finds and parses its manifest; errors name the path.
std::optional<KernelManifest> load_kernel_manifest(const std::string& path, std::string* err);

}  // namespace pvm
