// Op groups and binding targets on the host: the names of docs/contracts.md's binding keys and
// values, as enums. The groups themselves are pvrom/calls.h's (the kernel's and the ROMs' too).
#pragma once

#include <optional>
#include <string_view>

#include "pvrom/calls.h"

namespace pvm {

using pvrom::OpGroup;

/// Op group names in binding-key order: "cpu" "irq" "mmu" "timer" "lazy".
inline constexpr const auto& kOpGroups = pvrom::kOpGroupNames;

/// "cpu" ... "lazy"; nullptr for OpGroup::kNone.
inline const char* to_string(OpGroup g) { return pvrom::op_group_name(g); }
/// The group named `name`; nullopt for anything else ("all" included).
inline std::optional<OpGroup> op_group_from_name(std::string_view name) {
  for (int g = 0; g < pvrom::kOpGroupCount; ++g)
    if (name == kOpGroups[g]) return static_cast<OpGroup>(g);
  return std::nullopt;
}

/// Where an op group's calls go: the ROM, Xen's hypercalls, or the native instructions.
enum class BindingTarget { kRom, kXen, kNative };

/// "rom" | "xen" | "native", as binding values are written in records and reports.
inline const char* to_string(BindingTarget t) {
  switch (t) {
    case BindingTarget::kRom: return "rom";
    case BindingTarget::kXen: return "xen";
    case BindingTarget::kNative: return "native";
  }
  return "native";
}
/// The target named `name`; nullopt for anything else.
inline std::optional<BindingTarget> binding_target_from_name(std::string_view name) {
  for (BindingTarget t : {BindingTarget::kRom, BindingTarget::kXen, BindingTarget::kNative})
    if (name == to_string(t)) return t;
  return std::nullopt;
}

}  // namespace pvm
