#include "abi_diff.h"

#include "markup.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "world.h"

namespace pvm {
using nlohmann::json;

const char* to_string(Severity s) {
  switch (s) {
    case Severity::Compatible: return "compatible";
    case Severity::NeedsReview: return "needs review";
    case Severity::Incompatible: return "incompatible";
  }
  return "?";
}

const char* to_string(AbiChangeKind k) {
  switch (k) {
    case AbiChangeKind::ApiMajor: return "api_major";
    case AbiChangeKind::ApiMinor: return "api_minor";
    case AbiChangeKind::CallingConvention: return "calling_convention";
    case AbiChangeKind::CallAdded: return "call_added";
    case AbiChangeKind::CallRemoved: return "call_removed";
    case AbiChangeKind::CallRebound: return "call_rebound";
    case AbiChangeKind::CallReused: return "call_reused";
    case AbiChangeKind::CallSemantics: return "call_semantics";
    case AbiChangeKind::FeatureAdded: return "feature_added";
    case AbiChangeKind::FeatureRemoved: return "feature_removed";
    case AbiChangeKind::QuirkAdded: return "quirk_added";
    case AbiChangeKind::QuirkRemoved: return "quirk_removed";
  }
  return "?";
}

bool AbiDiff::has_incompatible() const {
  return std::any_of(changes.begin(), changes.end(), [](const AbiChange& c) { return c.severity == Severity::Incompatible; });
}

int AbiDiff::exit_status() const {
  int rc = errors.empty() ? 0 : kAbiDiffError;
  if (!changes.empty()) rc |= kAbiDiffChange;
  if (has_incompatible()) rc |= kAbiDiffIncompatible;
  return rc;
}

bool load_abi_side(const World& world, const std::string& name, AbiSide* out, std::vector<std::string>* disagreements,
                   std::string* err) {
  const HypervisorVersion* v = world.find_version(name);
  if (!v) {
    std::string known;
    for (const auto& hv : world.versions()) known += " " + hv.name;
    *err = "unknown hypervisor version \"" + name + "\" (known:" + known + ")";
    return false;
  }
  if (v->family != "rom") {
    *err = name + " is family " + v->family + ": abi diff compares rom-family versions (version.json + ROM binary)";
    return false;
  }
  auto rom = load_rom_image(world.rom_image(name), err);
  if (!rom) return false;
  out->version = *v;
  out->rom = std::move(*rom);
  for (const std::string& d : check_rom_matches_version(out->rom, out->version))
    disagreements->push_back(name + ": version.json and " + world.rom_image(name) + " disagree: " + d);
  return true;
}

namespace {

/// Calls whose op has no result: a NOP can stand for them (kernel/README.md "Filling the table").
bool has_no_result(uint16_t number) {
  switch (number) {
    case pvrom::kCallSetCR3: case pvrom::kCallEnableInterrupts: case pvrom::kCallDisableInterrupts:
    case pvrom::kCallSetInterruptMask: case pvrom::kCallHalt: case pvrom::kCallSetPxE:
    case pvrom::kCallInvalPage: case pvrom::kCallFlushTLB: case pvrom::kCallSetLazyMode:
    case pvrom::kCallSafeHalt:
      return true;
    default:
      return false;
  }
}

/// Quirks the ROM build acts on (hypervisor-versions/README.md, "Quirks the ROM build acts on"):
/// behaviour no call table or feature bit shows. Other quirk ids only describe what the
/// calls, features and API already say (periodic_only = no oneshot_alarm, ...).
bool is_behavioural_quirk(std::string_view id) { return id == "counter_steps_back"; }

std::string reloc_text(uint8_t r) {
  const char* n = reloc_name(r);
  return n ? n : fmt::format("reloc {}", r);
}

/// The call's name on a side: its description's, else the canonical one for the ROM's major.
std::string name_on(const AbiSide& s, uint16_t number) {
  if (const HvCall* c = s.version.find_call(number)) return c->name;
  const char* n = call_name(number, s.rom.api_major());
  return n ? n : fmt::format("call{}", number);
}

std::string semantics_on(const AbiSide& s, uint16_t number) {
  const HvCall* c = s.version.find_call(number);
  return c ? c->semantics : "";
}

AbiChange rebound(uint16_t n, const std::string& name, uint8_t from, uint8_t to) {
  AbiChange c{AbiChangeKind::CallRebound, Severity::NeedsReview, n, name, reloc_text(from), reloc_text(to), ""};
  if (to == pvrom::kRelocNop && !has_no_result(n)) {
    c.severity = Severity::Incompatible;
    c.explanation = "a call with a result cannot be a NOP: kernels keep it native, and whatever relied on the ROM's answer is lost";
  } else if (from == pvrom::kRelocNop || to == pvrom::kRelocNop) {
    c.explanation = "the op turns between a ROM call and nothing at all: kernels honoring get_reloc adapt, but the op's effect changes";
  } else {
    // IRET JUMP_REL -> CALL_REL (rom-1.12): get_reloc answers the new type and abi.h requires
    // kernels to honor it, so a conforming kernel keeps working (every release does); a kernel
    // that hard-coded the old type would jump where it must call and crash on the first interrupt.
    c.explanation = fmt::format(
        "the entry is now {} instead of {}: kernels that honor get_reloc's type (as abi.h requires) adapt; one that "
        "hard-codes {} breaks on first use",
        c.to, c.from, c.from);
  }
  return c;
}

}  // namespace

AbiDiff diff_abi(const AbiSide& a, const AbiSide& b) {
  AbiDiff d;
  d.from = a.version.name;
  d.to = b.version.name;
  auto add = [&](AbiChange c) { d.changes.push_back(std::move(c)); };

  // API version and calling convention (from the ROM headers).
  if (a.rom.api_major() != b.rom.api_major()) {
    add({AbiChangeKind::ApiMajor, Severity::Incompatible, std::nullopt, "API", a.rom.api(), b.rom.api(),
         fmt::format("a kernel that speaks only API {} refuses an API {} ROM and boots native", a.rom.api_major(),
                     b.rom.api_major())});
  } else if (a.rom.api_minor() != b.rom.api_minor()) {
    bool up = b.rom.api_minor() > a.rom.api_minor();
    add({AbiChangeKind::ApiMinor, up ? Severity::Compatible : Severity::NeedsReview, std::nullopt, "API", a.rom.api(),
         b.rom.api(),
         up ? "same major: additions only, kernels for the old minor keep working"
            : "minor went down: calls or features newer kernels expect may be missing"});
  }
  if (a.rom.header.calling_convention != b.rom.header.calling_convention) {
    const char* from = convention_name(a.rom.header.calling_convention);
    const char* to = convention_name(b.rom.header.calling_convention);
    add({AbiChangeKind::CallingConvention, Severity::Incompatible, std::nullopt, "calling convention",
         from ? from : "?", to ? to : "?",
         "every ROM call passes its arguments differently: a kernel calling the old way passes garbage"});
  }

  // Calls (numbers and relocs from the call tables; names and semantics from the descriptions).
  std::set<uint16_t> numbers;
  for (const auto& e : a.rom.calls) numbers.insert(e.number);
  for (const auto& e : b.rom.calls) numbers.insert(e.number);
  for (uint16_t n : numbers) {
    const pvrom::CallEntry* ea = a.rom.find_call(n);
    const pvrom::CallEntry* eb = b.rom.find_call(n);
    if (ea && !eb) {
      add({AbiChangeKind::CallRemoved, Severity::Incompatible, n, name_on(a, n), reloc_text(ea->reloc), "NONE",
           "no longer offered: kernels that bound it lose the ROM op (native fallback, or a failed requirement)"});
      continue;
    }
    if (!ea && eb) {
      add({AbiChangeKind::CallAdded, Severity::Compatible, n, name_on(b, n), "NONE", reloc_text(eb->reloc),
           "newly offered: older kernels never ask for it (NONE keeps native); newer ones may bind it"});
      continue;
    }
    const std::string na = name_on(a, n), nb = name_on(b, n);
    if (na != nb) {
      add({AbiChangeKind::CallReused, Severity::Incompatible, n, na + " -> " + nb, na, nb,
           fmt::format("call {} is reused with a new meaning: a kernel binding it as {} gets {}'s answer{}", n, na, nb,
                       semantics_on(b, n).empty() ? "" : " (" + semantics_on(b, n) + ")")});
      continue;
    }
    if (ea->reloc != eb->reloc) {
      AbiChange c = rebound(n, na, ea->reloc, eb->reloc);
      if (semantics_on(a, n) != semantics_on(b, n) && !semantics_on(b, n).empty())
        c.explanation += "; now: " + semantics_on(b, n);
      add(std::move(c));
      continue;
    }
    if (semantics_on(a, n) != semantics_on(b, n)) {
      std::string sa = semantics_on(a, n), sb = semantics_on(b, n);
      add({AbiChangeKind::CallSemantics, Severity::NeedsReview, n, na, sa, sb,
           "same number, name and binding, but documented behaviour changed: check kernels that rely on the old one"});
    }
  }

  // Feature bits (from the ROM headers).
  for (const auto& fn : pvrom::kFeatureNames) {
    bool in_a = a.rom.features() & fn.bit, in_b = b.rom.features() & fn.bit;
    if (in_a && !in_b)
      add({AbiChangeKind::FeatureRemoved, Severity::Incompatible, std::nullopt, fn.name, "set", "clear",
           "a kernel that uses or requires it loses it"});
    else if (!in_a && in_b)
      add({AbiChangeKind::FeatureAdded, Severity::Compatible, std::nullopt, fn.name, "clear", "set",
           "new capability: kernels use it when offered, older ones ignore it"});
  }

  // Quirks (descriptions only: a binary does not list its bugs).
  for (const HvQuirk& q : a.version.quirks)
    if (!b.version.has_quirk(q.id))
      add({AbiChangeKind::QuirkRemoved, Severity::Compatible, std::nullopt, q.id, q.text, "",
           "a documented deviation is gone: workarounds become unnecessary"});
  for (const HvQuirk& q : b.version.quirks) {
    if (a.version.has_quirk(q.id)) continue;
    if (is_behavioural_quirk(q.id))
      add({AbiChangeKind::QuirkAdded, Severity::NeedsReview, std::nullopt, q.id, "", q.text,
           "a new deviation the ROM really exhibits: kernels may need a workaround"});
    else
      add({AbiChangeKind::QuirkAdded, Severity::Compatible, std::nullopt, q.id, "", q.text,
           "descriptive: its effect is already in the calls, features or API diffed above"});
  }
  return d;
}

void to_json(json& j, const AbiDiff& d) {
  json changes = json::array();
  int counts[3] = {0, 0, 0};
  for (const AbiChange& c : d.changes) {
    ++counts[static_cast<int>(c.severity)];
    json o = {{"kind", to_string(c.kind)}, {"severity", to_string(c.severity)}, {"subject", c.subject},
              {"from", c.from}, {"to", c.to}, {"explanation", c.explanation}};
    o["call"] = c.call ? json(*c.call) : json(nullptr);
    changes.push_back(std::move(o));
  }
  j = {{"from", d.from},
       {"to", d.to},
       {"errors", d.errors},
       {"changes", std::move(changes)},
       {"summary", {{"incompatible", counts[2]}, {"needs_review", counts[1]}, {"compatible", counts[0]}}},
       {"exit_status", d.exit_status()}};
}

namespace {

std::string change_head(const AbiChange& c) {
  std::string subject = c.call ? fmt::format("{} {}", *c.call, c.subject) : c.subject;
  switch (c.kind) {
    case AbiChangeKind::CallSemantics:
    case AbiChangeKind::QuirkAdded:
    case AbiChangeKind::QuirkRemoved:
      return subject;  // from/to are sentences: shown below
    case AbiChangeKind::CallReused:
      return fmt::format("call {}: {} -> {}", *c.call, c.from, c.to);
    default:
      return fmt::format("{}: {} -> {}", subject, c.from, c.to);
  }
}

}  // namespace

std::string render_abi_diff_text(const AbiDiff& d) {
  int incompatible = 0, review = 0;
  for (const AbiChange& c : d.changes) {
    incompatible += c.severity == Severity::Incompatible;
    review += c.severity == Severity::NeedsReview;
  }
  std::string out = fmt::format("ABI diff {} -> {}: {} change{} ({} incompatible, {} needs review, {} compatible)\n",
                                d.from, d.to, d.changes.size(), d.changes.size() == 1 ? "" : "s", incompatible, review,
                                d.changes.size() - incompatible - review);
  for (const std::string& e : d.errors) out += "error: " + e + "\n";
  for (const AbiChange& c : d.changes) {
    out += fmt::format("  {:<13} {:<18} {}\n", to_string(c.severity), to_string(c.kind), change_head(c));
    if (c.kind == AbiChangeKind::CallSemantics)
      out += fmt::format("  {:<32} was: {}\n  {:<32} now: {}\n", "", c.from.empty() ? "(none)" : c.from, "",
                         c.to.empty() ? "(none)" : c.to);
    else if (c.kind == AbiChangeKind::QuirkAdded || c.kind == AbiChangeKind::QuirkRemoved)
      out += fmt::format("  {:<32} {}\n", "", c.kind == AbiChangeKind::QuirkAdded ? c.to : c.from);
    out += fmt::format("  {:<32} -> {}\n", "", c.explanation);
  }
  return out;
}

namespace {

}  // namespace

std::string render_abi_diff_html(const AbiDiff& d) {
  auto e = [](const std::string& s) { return xml_escape(s); };
  int counts[3] = {0, 0, 0};
  for (const AbiChange& c : d.changes) ++counts[static_cast<int>(c.severity)];
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  h += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n";
  h += fmt::format("<title>ABI diff {} &rarr; {}</title>\n", e(d.from), e(d.to));
  h += R"(<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}
tr.incompatible td.sev{background:#f8d7da;font-weight:bold}
tr.needs-review td.sev{background:#fff3cd}
tr.compatible td.sev{background:#d4edda}
.errors{background:#f8d7da;padding:8px;border:1px solid #e0a0a0}
code{font-family:ui-monospace,monospace}
</style></head><body>
)";
  h += fmt::format("<h1>ABI diff <code>{}</code> &rarr; <code>{}</code></h1>\n", e(d.from), e(d.to));
  h += fmt::format("<p id=\"summary\">{} changes: {} incompatible, {} needs review, {} compatible. Exit status {}.</p>\n",
                   d.changes.size(), counts[2], counts[1], counts[0], d.exit_status());
  if (!d.errors.empty()) {
    h += "<div class=\"errors\"><strong>Description and binary disagree:</strong><ul>\n";
    for (const std::string& err : d.errors) h += "<li>" + e(err) + "</li>\n";
    h += "</ul></div>\n";
  }
  h += "<table id=\"changes\"><thead><tr><th>severity</th><th>change</th><th>call</th><th>subject</th><th>from</th>"
       "<th>to</th><th>why</th></tr></thead><tbody>\n";
  for (const AbiChange& c : d.changes) {
    std::string cls = c.severity == Severity::Incompatible ? "incompatible"
                      : c.severity == Severity::NeedsReview ? "needs-review"
                                                            : "compatible";
    h += fmt::format(
        "<tr class=\"{}\"><td class=\"sev\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        cls, e(to_string(c.severity)), e(to_string(c.kind)), c.call ? std::to_string(*c.call) : "", e(c.subject),
        e(c.from), e(c.to), e(c.explanation));
  }
  h += "</tbody></table>\n";
  if (d.changes.empty()) h += "<p>No change.</p>\n";
  h += "<p>Severities: <em>incompatible</em> a kernel relying on the old version breaks or must refuse the new one; "
       "<em>needs review</em> a conforming kernel keeps working but a contract detail changed; <em>compatible</em> "
       "additions only. Read from version.json and the ROM binaries (header and call table).</p>\n";
  h += "</body></html>\n";
  return h;
}

}  // namespace pvm
