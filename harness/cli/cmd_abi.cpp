// `pvmatrix abi diff V1 V2 [--json] [--html OUT]`: what changed between two hypervisor ABI
// versions, read from version.json and the ROM binaries, each change with a severity.
// Exit status, abidiff's bitmask: 1 error (a description disagrees with its binary), 2 usage,
// 4 change, 8 incompatible change.
// `pvmatrix abi show <release | image path> [--json]`: the requirements manifest an image carries.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "abi_diff.h"
#include "atomic_file.h"
#include "elf_notes.h"
#include "kernel_manifest.h"
#include "preamble.h"
#include "world.h"

namespace pvm::cli {
namespace {
using nlohmann::json;

struct AbiOptions {
  std::string from, to;   ///< diff
  std::string kernel;     ///< show
  std::string html;
  WorldFlags world;
  bool json = false;
};

int run_abi_diff(const AbiOptions& o) {
  auto fail = [](const std::string& message) { return command_error("abi diff", message, kAbiDiffUsage); };
  std::string err;
  auto world = o.world.load(&err);
  if (!world) return fail(err);
  AbiSide a, b;
  std::vector<std::string> disagreements;
  if (!load_abi_side(*world, o.from, &a, &disagreements, &err)) return fail(err);
  if (!load_abi_side(*world, o.to, &b, &disagreements, &err)) return fail(err);
  AbiDiff d = diff_abi(a, b);
  d.errors = disagreements;
  if (!o.html.empty()) {
    std::string werr;
    if (!write_file_atomically(o.html, render_abi_diff_html(d), &werr)) return fail(werr);
  }
  if (o.json) {
    std::printf("%s\n", json(d).dump(1).c_str());
  } else {
    std::fputs(render_abi_diff_text(d).c_str(), stdout);
    for (const std::string& e : d.errors) std::fprintf(stderr, "pvmatrix abi diff: error: %s\n", e.c_str());
  }
  return d.exit_status();
}

/// `abi show` of a real kernel: the Xen ELF notes its vmlinux carries (what Xen's domain
/// builder reads: PVH and PV entries, features), as the manifest of what it needs from Xen.
int show_xen_notes(const AbiOptions& o, const std::string& path, const ElfXenInfo& n) {
  if (o.json) {
    json xen = to_json(n);
    json j = {{"image", path}, {"release", o.kernel}, {"family", "linux"}, {"xen", xen},
              {"text", xen_manifest_line(n)}};
    std::printf("%s\n", j.dump(1).c_str());
    return kExitOk;
  }
  auto hex = [](const std::optional<uint64_t>& v) { return v ? fmt::format("{:#x}", *v) : std::string("-"); };
  std::printf("image:     %s\n", path.c_str());
  std::printf("release:   %s (a real kernel: its Xen ELF notes)\n", o.kernel.c_str());
  std::printf("elf:       ELF%d %s, entry %#llx\n", n.elf_class, n.machine.c_str(), static_cast<unsigned long long>(n.entry));
  std::printf("pvh entry: %s%s\n", hex(n.pvh_entry).c_str(), n.has_pvh_entry() ? "  (Xen can build a PVH dom0; QEMU can boot it bare)" : "  (no PVH dom0, no bare boot)");
  std::printf("pv entry:  %s%s\n", hex(n.pv_entry).c_str(),
              n.has_pv_entry() ? (n.elf_class == 32 ? "  (needs a Xen with 32-bit PV guests)" : "  (a PV dom0)") : "  (no PV dom0)");
  std::printf("hypercall page: %s\n", hex(n.hypercall_page).c_str());
  std::printf("features:  %s\n", n.features.value_or("-").c_str());
  std::printf("supported: %s\n", n.supported_features ? xen_feature_names(*n.supported_features).c_str() : "-");
  std::printf("manifest:  %s\n", xen_manifest_line(n).c_str());
  return kExitOk;
}

int run_abi_show(const AbiOptions& o) {
  auto fail = [](const std::string& message) { return command_error("abi show", message); };
  // A path to an image, else a release (or fixture) name in the image directory.
  std::string path = o.kernel;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    std::string err;
    auto world = o.world.load(&err);
    if (!world) return fail(err);
    path = world->kernel_image(o.kernel);
    if (!std::filesystem::is_regular_file(path, ec))
      return fail("\"" + o.kernel + "\" is neither an image file nor a built release (no " + path + ")");
  }
  std::string err;
  auto m = load_kernel_manifest(path, &err);
  if (!m) {
    // A real kernel carries no pvmatrix manifest: its ABI toward Xen is its Xen ELF notes.
    std::string notes_err;
    auto notes = read_elf_xen_notes_file(path, &notes_err);
    if (!notes || !notes->has_xen_notes()) return fail(err);
    return show_xen_notes(o, path, *notes);
  }

  auto items = [](const std::vector<ManifestItem>& list) {
    json out = json::array();
    for (const ManifestItem& i : list) out.push_back(i.text);
    return out;
  };
  if (o.json) {
    json requirements = json::array(), optional = json::array();
    for (const auto* list : {&m->calls, &m->features})
      for (const ManifestItem& i : *list) (i.is_requirement() ? requirements : optional).push_back(i.text);
    json j = {{"image", path},   {"release", m->release}, {"api", m->api_majors},
              {"groups", m->groups}, {"calls", items(m->calls)}, {"features", items(m->features)},
              {"counter", to_string(m->counter)}, {"requirements", requirements}, {"text", m->text}};
    std::printf("%s\n", j.dump(1).c_str());
    return kExitOk;
  }
  auto join = [](const std::vector<ManifestItem>& list, bool requirements) {
    std::string s;
    for (const ManifestItem& i : list)
      if (i.is_requirement() == requirements) s += (s.empty() ? "" : " ") + i.text;
    return s.empty() ? std::string("-") : s;
  };
  std::string api, groups;
  for (uint8_t a : m->api_majors) api += (api.empty() ? "" : ",") + std::to_string(a);
  for (const auto& g : m->groups) groups += (groups.empty() ? "" : ",") + g;
  std::printf("image:     %s\n", path.c_str());
  std::printf("release:   %s\n", m->release.c_str());
  std::printf("api:       %s\n", api.c_str());
  std::printf("groups:    %s\n", groups.c_str());
  std::printf("calls:     required: %s\n           used when offered: %s\n", join(m->calls, true).c_str(),
              join(m->calls, false).c_str());
  std::printf("features:  required: %s\n           used when offered: %s\n", join(m->features, true).c_str(),
              join(m->features, false).c_str());
  std::printf("counter:   %s\n", to_string(m->counter));
  std::printf("note:      %s\n", m->text.c_str());
  return kExitOk;
}

void setup_abi(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<AbiOptions>();
  CLI::App* abi = app.add_subcommand("abi", "Static ABI: diff two hypervisor versions, show a kernel's manifest");
  abi->require_subcommand(1);

  CLI::App* diff = abi->add_subcommand("diff", "What changed between two hypervisor ABI versions, with severities");
  diff->footer(
      "Reads both version.json files and both ROM binaries (header and call table); a description that\n"
      "disagrees with its binary is an error.\n"
      "Exit status (a bitmask, as abidiff): 0 no change, 1 error, 2 usage, 4 change, 8 incompatible change.\n"
      "Example: pvmatrix abi diff rom-1.12 rom-1.13 --html out/abi-1.12-1.13.html");
  diff->add_option("from", o->from, "Old version, e.g. rom-1.12")->required();
  diff->add_option("to", o->to, "New version, e.g. rom-1.13")->required();
  diff->add_flag("--json", o->json, "Print {from, to, errors, changes: [{kind, severity, call, ...}], summary}");
  diff->add_option("--html", o->html, "Also write the change table as a self-contained HTML page");
  o->world.add_to(diff);
  diff->callback([o, &exit_code] { exit_code = run_abi_diff(*o); });

  CLI::App* show = abi->add_subcommand("show", "Print the requirements manifest read from a kernel image");
  show->footer("Example: pvmatrix abi show 2.6.25   (or a path: build/images/kernel-2.6.25.elf)");
  show->add_option("kernel", o->kernel, "Kernel release or image path")->required();
  show->add_flag("--json", o->json, "Print the manifest as JSON");
  o->world.add_to(show);
  show->callback([o, &exit_code] { exit_code = run_abi_show(*o); });
}

const Registrar registrar("abi", setup_abi);

}  // namespace
}  // namespace pvm::cli
