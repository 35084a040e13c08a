// Static ABI diff of two hypervisor versions, in abidiff's spirit: what changed between two
// ROM ABIs (calls added/removed/rebound/reused, calling convention, API version, feature
// bits, quirks), each change with a severity and a one-line explanation. Both sides are
// read from version.json AND the ROM binary (header + call table, rom_image.h); where a
// description and its binary disagree, that is an error, not a change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hypervisor_version.h"
#include "rom_image.h"

namespace pvm {

class World;

/// How much a change matters to a kernel built against the old version.
enum class Severity {
  Compatible,   ///< a kernel built for the old version runs unchanged
  NeedsReview,  ///< a conforming kernel keeps working, but behaviour or a contract detail changed
  Incompatible, ///< a kernel relying on the old version breaks, or must refuse the new one
};
/// "compatible" | "needs review" | "incompatible".
const char* to_string(Severity s);

enum class AbiChangeKind {
  ApiMajor,            ///< API major changed
  ApiMinor,            ///< API minor changed (same major)
  CallingConvention,   ///< ROM call convention changed
  CallAdded,           ///< a call number became offered
  CallRemoved,         ///< a call number is no longer offered (NONE)
  CallRebound,         ///< same call, other reloc type (CALL_REL/JUMP_REL/NOP)
  CallReused,          ///< same number, another call (name differs): a new meaning
  CallSemantics,       ///< same call, its documented semantics changed
  FeatureAdded,
  FeatureRemoved,
  QuirkAdded,
  QuirkRemoved,
};
/// "api_major", "call_added", ... (the JSON and HTML spelling).
const char* to_string(AbiChangeKind k);

/// One change between two versions.
struct AbiChange {
  AbiChangeKind kind;
  Severity severity;
  std::optional<uint16_t> call;  ///< the call number, for call changes
  std::string subject;           ///< "Iret", "oneshot_alarm", "counter_steps_back", "API"
  std::string from, to;          ///< old and new value ("" when absent)
  std::string explanation;       ///< one line: why this severity
};

/// One side of a diff: a version's description and its ROM binary.
struct AbiSide {
  HypervisorVersion version;
  RomImage rom;
};

/// The diff of two versions.
struct AbiDiff {
  std::string from, to;              ///< version names
  std::vector<AbiChange> changes;    ///< in a fixed order: API, convention, calls by number, features, quirks
  std::vector<std::string> errors;   ///< description-vs-binary disagreements ("rom-1.12: features: ...")

  bool has_incompatible() const;
  /// abidiff's bitmask: 1 error, 4 change, 8 incompatible change (2, usage, is the CLI's).
  int exit_status() const;
};

inline constexpr int kAbiDiffError = 1;
inline constexpr int kAbiDiffUsage = 2;
inline constexpr int kAbiDiffChange = 4;
inline constexpr int kAbiDiffIncompatible = 8;

/// Loads `name`'s version.json and ROM image from `world`. False with *err when either cannot
/// be read or parsed (a usage/infrastructure error). Disagreements between the two are not
/// failures here: they go to *disagreements ("calls: ..."), one line each.
bool load_abi_side(const World& world, const std::string& name, AbiSide* out,
                   std::vector<std::string>* disagreements, std::string* err);

/// Diffs two sides. Calls, relocs, features, API and convention are taken from the ROM
/// binaries (what a kernel sees); names, semantics and quirks from the descriptions.
AbiDiff diff_abi(const AbiSide& from, const AbiSide& to);

/// {"from", "to", "errors": [...], "changes": [{kind, severity, call?, subject, from, to,
/// explanation}], "summary": {"incompatible", "needs_review", "compatible"}, "exit_status"}.
void to_json(nlohmann::json& j, const AbiDiff& d);
/// A plain-text table for a terminal.
std::string render_abi_diff_text(const AbiDiff& d);
/// A self-contained HTML page (no network, every string escaped).
std::string render_abi_diff_html(const AbiDiff& d);

}  // namespace pvm
