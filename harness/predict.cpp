#include "predict.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pvrom/calls.h"
#include "cell_record.h"
#include "text_util.h"
#include "world.h"

namespace pvm {
using nlohmann::json;

namespace {

/// What the kernel does with a ROM call it may ask about (pvrom/calls.h: its group, whether a
/// NOP answer can stand for it, the probe that exercises it); nullptr for calls outside every
/// op group (GetFeatures) and unknown numbers.
const pvrom::CallInfo* call_use(uint16_t number) {
  const pvrom::CallInfo* c = pvrom::find_call_any_api(number);
  return c && c->group != pvrom::OpGroup::kNone ? c : nullptr;
}

/// Features: their group, and the probe (and call) that fails when a requirement on them is not met.
struct FeatureUse {
  const char* name;
  const char* group;
  const char* probe;
  int call;
};
constexpr FeatureUse kFeatureUses[] = {
    {"timer", "timer", "time.counter_monotonic", pvrom::kCallGetCycleCounter},
    {"periodic_alarm", "timer", "time.periodic", pvrom::kCallSetAlarm},
    {"oneshot_alarm", "timer", "time.oneshot", pvrom::kCallSetAlarm},
    {"wallclock", "timer", "time.wallclock", pvrom::kCallGetWallclockTime},
    {"mmu", "mmu", "mmu.tlb_flush", pvrom::kCallSetPxE},
    {"lazy_mmu", "lazy", "mmu.lazy_batch", pvrom::kCallSetLazyMode},
    {"lazy_defers", "lazy", "mmu.lazy_batch", pvrom::kCallSetLazyMode},
    {"get_features", nullptr, "hv.negotiate", pvrom::kCallGetFeatures},
};

const FeatureUse* feature_use(std::string_view name) {
  for (const FeatureUse& f : kFeatureUses)
    if (name == f.name) return &f;
  return nullptr;
}

/// Quirks a kernel must cope with, and what the manifest says about coping (README "Quirks
/// the ROM build acts on"). The other quirk ids are descriptive: their effect is already in
/// the feature bits or the call table (periodic_only = no oneshot_alarm, ...).
struct QuirkRule {
  const char* id;
  const char* group;        ///< only matters when this group is bound to the ROM
  bool (*copes)(const KernelManifest&);
  const char* probe;
  const char* why;
};
constexpr QuirkRule kQuirkRules[] = {
    {"counter_steps_back", "timer",
     [](const KernelManifest& m) { return m.counter == KernelManifest::Counter::Clamped; }, "time.counter_monotonic",
     "the ROM's cycle counter steps back and this kernel's clocksource does not clamp (counter=raw)"},
};

/// Probe ids in the order a boot reports them: the first predicted failure is the one a boot shows first.
constexpr std::string_view kProbeOrder[] = {
    "hv.negotiate",   "cpu.cpuid", "cpu.cr3_switch", "irq.save_restore", "irq.enable_disable",
    "irq.iret",       "irq.halt",  "irq.safe_halt",  "mmu.tlb_flush",    "mmu.lazy_batch",
    "time.periodic",  "time.oneshot", "time.counter_monotonic", "time.wallclock", "time.sched_clock"};

size_t probe_rank(std::string_view probe) {
  auto it = std::find(std::begin(kProbeOrder), std::end(kProbeOrder), probe);
  return static_cast<size_t>(it - std::begin(kProbeOrder));
}

std::map<std::string, std::string> all_native() {
  std::map<std::string, std::string> b;
  for (const char* g : kOpGroups) b[g] = "native";
  return b;
}

/// Whether the kernel binds `number` to the ROM given its reloc (bind.cpp's rules).
bool binds(const RomImage& rom, uint16_t number) {
  const pvrom::CallEntry* e = rom.find_call(number);
  const pvrom::CallInfo* use = call_use(number);
  if (!e || !use) return false;
  switch (e->reloc) {
    case pvrom::kRelocCallRel: return true;
    case pvrom::kRelocJumpRel: return number == pvrom::kCallIret;  // JUMP_REL only for IRET
    case pvrom::kRelocNop: return use->nop_ok;                     // a value-returning op stays native
    default: return false;
  }
}

/// Whether an alternative holds on this ROM (its subject present, or absent for `-`).
bool holds(const ManifestAlternative& a, bool is_call, const RomImage& rom) {
  bool present;
  if (is_call) {
    present = rom.find_call(a.call) != nullptr;
  } else {
    auto bit = feature_from_name(a.name);
    present = bit && (rom.features() & *bit);
  }
  return a.need == ManifestAlternative::Need::Forbidden ? !present : present;
}

/// The group an item is about (the first applicable alternative's), nullptr for a global one.
const char* group_of_item(const ManifestItem& item, bool is_call, uint8_t major) {
  for (const ManifestAlternative& a : item.alternatives) {
    if (!a.applies_to(major)) continue;
    const char* g = is_call ? group_of_call(a.call) : group_of_feature(a.name);
    if (g) return g;
  }
  return nullptr;
}

/// Is a requirement item met on this ROM? Only alternatives for the ROM's major count.
bool item_met(const ManifestItem& item, bool is_call, const RomImage& rom) {
  for (const ManifestAlternative& a : item.alternatives)
    if (a.applies_to(rom.api_major()) && holds(a, is_call, rom)) return true;
  return false;
}

/// The probe and call a failed requirement shows up as.
std::pair<std::string, std::optional<int>> symptom_of(const ManifestItem& item, bool is_call, uint8_t major) {
  for (const ManifestAlternative& a : item.alternatives) {
    if (!a.applies_to(major) || a.need != ManifestAlternative::Need::Required) continue;
    if (is_call) {
      const pvrom::CallInfo* u = call_use(a.call);
      return {u && *u->probe ? u->probe : "hv.negotiate", a.call};
    }
    if (const FeatureUse* f = feature_use(a.name)) return {f->probe, f->call};
  }
  return {"hv.negotiate", std::nullopt};
}

}  // namespace

const char* group_of_call(uint16_t number) { return pvrom::op_group_name(pvrom::call_group(number)); }

const char* group_of_feature(std::string_view feature) {
  const FeatureUse* f = feature_use(feature);
  return f ? f->group : nullptr;
}

std::vector<std::string> native_groups_of(std::string_view cmdline) {
  constexpr std::string_view kKey = "pv.native=";
  std::vector<std::string> out;
  auto add = [&](std::string_view g) {
    if (std::find(out.begin(), out.end(), g) == out.end()) out.emplace_back(g);
  };
  size_t at = 0;
  while (at < cmdline.size()) {
    while (at < cmdline.size() && (cmdline[at] == ' ' || cmdline[at] == '\t' || cmdline[at] == '\n')) ++at;
    size_t end = at;
    while (end < cmdline.size() && cmdline[end] != ' ' && cmdline[end] != '\t' && cmdline[end] != '\n') ++end;
    std::string_view token = cmdline.substr(at, end - at);
    if (token.starts_with(kKey)) {
      std::string_view list = token.substr(kKey.size());
      size_t s = 0;
      while (s <= list.size()) {
        size_t comma = std::min(list.find(',', s), list.size());
        std::string_view name = list.substr(s, comma - s);
        if (name == "all")
          for (const char* g : kOpGroups) add(g);
        else if (std::find(std::begin(kOpGroups), std::end(kOpGroups), name) != std::end(kOpGroups))
          add(name);
        s = comma + 1;
      }
    }
    at = end;
  }
  // Keep binding-key order.
  std::vector<std::string> ordered;
  for (const char* g : kOpGroups)
    if (std::find(out.begin(), out.end(), g) != out.end()) ordered.emplace_back(g);
  return ordered;
}

Prediction predict(const KernelManifest& m, const RomImage* rom, std::string_view rom_error,
                   const HypervisorVersion* version, std::string_view cmdline) {
  Prediction p;
  p.status = Status::Pass;
  p.binding = all_native();
  const std::vector<std::string> native = native_groups_of(cmdline);
  auto refuse = [&](std::string why) {
    p.refused = std::move(why);
    p.reason = fmt::format("{} refuses the ROM ({}) and boots native", m.release, p.refused);
    return p;
  };
  if (!rom) {
    if (rom_error.empty()) {
      p.reason = "no ROM: every group native";
      return p;
    }
    return refuse(std::string(rom_error));
  }
  const uint8_t major = rom->api_major();
  if (!m.speaks(major)) {
    std::vector<std::string> majors;
    for (uint8_t a : m.api_majors) majors.push_back(std::to_string(a));
    return refuse(fmt::format("API major {} not spoken: speaks {}", major, join(majors, ",")));
  }
  auto conv = convention_for_api_major(major);
  if (!conv || rom->header.calling_convention != *conv) {
    const char* have = convention_name(rom->header.calling_convention);
    return refuse(fmt::format("calling convention {} is not API {}'s", have ? have : "?", major));
  }
  // Global requirements (about no op group, e.g. GetFeatures on API 4): unmet -> refusal.
  auto global_unmet = [&](const std::vector<ManifestItem>& items, bool is_call) -> const ManifestItem* {
    for (const ManifestItem& item : items)
      if (item.is_requirement() && item.applies_to(major) && !group_of_item(item, is_call, major) &&
          !item_met(item, is_call, *rom))
        return &item;
    return nullptr;
  };
  if (const ManifestItem* item = global_unmet(m.calls, true))
    return refuse(fmt::format("mandatory call requirement \"{}\" not met", item->text));
  if (const ManifestItem* item = global_unmet(m.features, false))
    return refuse(fmt::format("mandatory feature requirement \"{}\" not met", item->text));

  // Binding: a group is rom when the release may bind it, the command line leaves it alone,
  // and at least one of the calls it asks about is bound.
  const std::vector<uint16_t> asked = m.calls_for(major);
  auto is_asked = [&](uint16_t c) { return std::find(asked.begin(), asked.end(), c) != asked.end(); };
  std::vector<uint16_t> bound;
  for (uint16_t c : asked)
    if (binds(*rom, c)) bound.push_back(c);
  // A counter without its frequency (or the reverse) is unusable: both stay native.
  const uint16_t counter_call = major >= 4 ? pvrom::kCallGetCycleCounter4 : pvrom::kCallGetCycleCounter;
  auto is_bound = [&](uint16_t c) { return std::find(bound.begin(), bound.end(), c) != bound.end(); };
  if (is_asked(counter_call) && is_asked(pvrom::kCallGetCycleFrequency) &&
      is_bound(counter_call) != is_bound(pvrom::kCallGetCycleFrequency))
    std::erase_if(bound, [&](uint16_t c) { return c == counter_call || c == pvrom::kCallGetCycleFrequency; });
  std::vector<std::string> rom_groups;
  for (const char* g : kOpGroups) {
    bool overridden = std::find(native.begin(), native.end(), g) != native.end();
    bool any = std::any_of(bound.begin(), bound.end(), [&](uint16_t c) { return std::string_view(group_of_call(c)) == g; });
    if (m.may_bind(g) && !overridden && any) {
      p.binding[g] = "rom";
      rom_groups.emplace_back(g);
    }
  }
  auto on_rom = [&](const char* g) { return g && p.binding[g] == "rom"; };

  // Failures: requirements of groups bound to the ROM, then quirks the kernel does not cope with.
  struct Failure {
    std::string probe;
    std::optional<int> call;
    std::string why;
  };
  std::vector<Failure> failures;
  for (bool is_call : {true, false})
    for (const ManifestItem& item : is_call ? m.calls : m.features) {
      const char* g = group_of_item(item, is_call, major);
      if (!item.is_requirement() || !item.applies_to(major) || !on_rom(g) || item_met(item, is_call, *rom)) continue;
      auto [probe, call] = symptom_of(item, is_call, major);
      failures.push_back({probe, call,
                          fmt::format("requirement \"{}\" not met while {} is bound to the ROM", item.text, g)});
    }
  if (version)
    for (const QuirkRule& q : kQuirkRules)
      if (version->has_quirk(q.id) && on_rom(q.group) && is_bound(counter_call) && !q.copes(m))
        failures.push_back({q.probe, counter_call, fmt::format("quirk {}: {}", q.id, q.why)});
  std::stable_sort(failures.begin(), failures.end(),
                   [](const Failure& a, const Failure& b) { return probe_rank(a.probe) < probe_rank(b.probe); });

  std::string where = fmt::format("{} on {} (API {})", m.release, rom->version_name, rom->api());
  if (!failures.empty()) {
    const Failure& f = failures.front();
    p.status = Status::Fail;
    p.probe = f.probe;
    p.call = f.call;
    p.reason = fmt::format("{}: {} -> probe {} fails{}", where, f.why, f.probe,
                           f.call ? fmt::format(" (call {})", *f.call) : "");
    return p;
  }
  p.reason = fmt::format("{}: binds {}; every requirement met", where,
                         rom_groups.empty() ? std::string("nothing") : join(rom_groups, ","));
  if (!native.empty()) p.reason += fmt::format(" (pv.native={})", join(native, ","));
  return p;
}

void to_json(json& j, const Prediction& p) {
  j = json::object();
  j["status"] = p.status ? json(to_string(*p.status)) : json(nullptr);
  j["binding"] = p.status ? json(p.binding) : json(nullptr);
  if (!p.probe.empty()) j["probe"] = p.probe;
  if (p.call) j["call"] = *p.call;
  if (!p.refused.empty()) j["refused"] = p.refused;
  j["reason"] = p.reason;
}

void from_json(const json& j, Prediction& p) {
  p = Prediction{};
  if (!j.is_object()) return;
  p.status = status_from_string(string_field(j, "status"));
  p.binding = string_map_field(j, "binding");
  p.probe = string_field(j, "probe");
  if (auto it = j.find("call"); it != j.end() && it->is_number_integer()) p.call = it->get<int>();
  p.refused = string_field(j, "refused");
  p.reason = string_field(j, "reason");
}

Prediction predict_xen(const KernelManifest& m, std::string_view cmdline) {
  Prediction p;
  if (!m.xen_pvh) {
    p.reason = "no prediction: the image's manifest does not say whether it carries the Xen backend (no xen= key)";
    return p;
  }
  if (!*m.xen_pvh) {  // the kernel never runs: no binding at all
    p.status = Status::Crash;
    p.reason = m.release + " has no Xen backend (no Xen ELF notes): Xen refuses to build a dom0 from it";
    return p;
  }
  p.status = Status::Pass;
  p.binding = all_native();
  const std::vector<std::string> native = native_groups_of(cmdline);
  std::vector<std::string> bound;
  for (const char* g : {"cpu", "irq", "timer"}) {
    bool wanted = std::find(native.begin(), native.end(), g) == native.end();
    if (wanted && m.may_bind(g)) {
      p.binding[g] = "xen";
      bound.emplace_back(g);
    }
  }
  p.reason = fmt::format("{} boots as Xen's PVH dom0; {} through Xen, mmu and lazy native (PVH)", m.release,
                         bound.empty() ? std::string("nothing") : join(bound, ", "));
  if (!native.empty()) p.reason += fmt::format(" (pv.native={})", join(native, ","));
  return p;
}

Prediction predict_real(const ElfXenInfo& notes, const HypervisorVersion& version, std::string_view dom0_mode) {
  Prediction p;
  auto hex = [](uint64_t v) { return fmt::format("{:#x}", v); };
  if (version.family != "xen") {
    if (!notes.has_pvh_entry()) {
      p.status = Status::Crash;
      p.reason = "no PVH entry (no Xen PHYS32_ENTRY note): QEMU cannot boot the vmlinux directly";
      return p;
    }
    p.status = Status::Pass;
    p.binding = all_native();
    p.reason = "boots bare through its PVH entry (PHYS32_ENTRY " + hex(*notes.pvh_entry) + "), no hypervisor: all native";
    return p;
  }
  auto can = [&](const char* kind) {
    const auto& k = version.xen.guest_kinds;
    return std::find(k.begin(), k.end(), kind) != k.end();
  };
  if (dom0_mode == "pvh") {
    if (!notes.has_pvh_entry()) {
      p.status = Status::Crash;
      p.reason = "no PVH entry (no PHYS32_ENTRY note): " + version.name + " cannot construct a PVH dom0 from it";
    } else if (!can("pvh")) {
      p.status = Status::Crash;
      p.reason = version.name + " is built without PVH guests (guest_kinds): no PVH dom0";
    } else {
      p.status = Status::Pass;
      p.binding = all_native();
      p.binding["irq"] = "xen";
      p.binding["timer"] = "xen";
      p.reason = "PVH dom0 through PHYS32_ENTRY " + hex(*notes.pvh_entry) +
                 ": irq through event channels and timer on Xen's clockevent; cpu, mmu and lazy native (HAP)";
    }
    return p;
  }
  const char* kind = notes.elf_class == 32 ? "pv32" : "pv64";
  if (!notes.has_pv_entry()) {
    p.status = Status::Crash;
    p.reason = std::string("no Xen PV entry (no ENTRY note") +
               (notes.elf_class == 32 ? "; Linux dropped 32-bit PV guests in 5.9" : "") + "): " + version.name +
               " cannot construct a PV dom0 from it";
  } else if (!can(kind)) {
    p.status = Status::Crash;
    p.reason = version.name + " is built without " + kind + " guests (guest_kinds; CONFIG_" +
               (notes.elf_class == 32 ? "PV32" : "PV") + "): no PV dom0 from an ELF" + std::to_string(notes.elf_class);
  } else {
    p.status = Status::Pass;
    p.binding = all_native();
    for (const char* g : kOpGroups) p.binding[g] = "xen";
    p.reason = "PV dom0 through ENTRY " + hex(*notes.pv_entry) + ": every op group through Xen (PV)";
  }
  return p;
}

namespace {

/// `cache[path]`, loaded by `load(path, &err)` the first time (its error kept in `errors[path]`).
template <class T, class Load>
const std::optional<T>& load_once(std::map<std::string, std::optional<T>>& cache,
                                  std::map<std::string, std::string>& errors, const std::string& path, Load load) {
  auto it = cache.find(path);
  if (it == cache.end()) {
    std::string err;
    it = cache.emplace(path, load(path, &err)).first;
    errors[path] = err;
  }
  return it->second;
}

}  // namespace

Prediction Predictor::predict_cell(const CellSpec& spec) {
  const HypervisorVersion* version = world_.find_version(spec.hv);
  if (spec.kernel_family == "linux") {
    Prediction p;
    if (!version || version->family == "rom") {
      p.reason = "no prediction: a real kernel has no ROM to use";
      return p;
    }
    const auto& notes = load_once(notes_, errors_, spec.kernel_image, read_elf_xen_notes_file);
    if (!notes) {
      p.reason = "no prediction: " + errors_[spec.kernel_image];
      return p;
    }
    return predict_real(*notes, *version, spec.dom0_mode);
  }
  if (version && version->family != "rom" && version->family != "xen" && version->family != "none") {
    Prediction p;
    p.reason = "no prediction: family " + version->family + " is not modelled";
    return p;
  }
  const auto& manifest = load_once(manifests_, errors_, spec.kernel_image, load_kernel_manifest);
  if (!manifest) {
    Prediction p;
    p.reason = "no prediction: " + errors_[spec.kernel_image];
    return p;
  }
  if (version && version->family == "xen") return predict_xen(*manifest, spec.cmdline);
  const RomImage* rom = nullptr;
  std::string rom_error;
  if (!spec.rom_image.empty()) {
    auto rit = roms_.find(spec.rom_image);
    if (rit == roms_.end()) {
      Rom r;
      std::string err;
      r.image = load_rom_image(spec.rom_image, &err);
      if (!r.image) {
        // The kernel's refusal says what is wrong, not where the file was.
        r.error = err.starts_with(spec.rom_image + ": ") ? err.substr(spec.rom_image.size() + 2) : err;
      }
      rit = roms_.emplace(spec.rom_image, std::move(r)).first;
    }
    rom = rit->second.image ? &*rit->second.image : nullptr;
    rom_error = rit->second.error;
  }
  return predict(*manifest, rom, rom_error, version, spec.cmdline);
}

void add_predictions(const World& world, const std::vector<CellSpec>& specs, std::vector<CellRecord>* cells) {
  Predictor predictor(world);
  std::map<std::string, const CellSpec*> by_id;
  for (const CellSpec& s : specs) by_id[s.id()] = &s;
  for (CellRecord& c : *cells) {
    auto it = by_id.find(c.result.spec.id());
    if (it != by_id.end()) c.predicted = predictor.predict_cell(*it->second);
  }
}

}  // namespace pvm
