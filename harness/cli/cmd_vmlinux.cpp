// `pvmatrix vmlinux BZIMAGE -o OUT`: the uncompressed ELF kernel taken out of a Linux x86 bzImage
// (xz, zstd or gzip payload), written atomically.
// `pvmatrix vmlinux --notes FILE [--json]`: the Xen ELF notes of a kernel (an ELF, or a bzImage,
// extracted in memory first): PV and PVH entry points, features, and the manifest line.
// Exit status: 0 done, 2 bad input (the message names the file and what is wrong).
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "elf_notes.h"
#include "json_text.h"
#include "preamble.h"
#include "vmlinux.h"

namespace pvm::cli {
namespace {

struct VmlinuxOptions {
  std::string bzimage, out, notes;
  bool json = false;
};

int fail(const std::string& message) { return command_error("vmlinux", message); }

std::string hex(uint64_t v) {
  char s[24];
  std::snprintf(s, sizeof s, "0x%" PRIx64, v);
  return s;
}

int run_extract(const VmlinuxOptions& o) {
  if (o.out.empty()) return fail("missing -o OUT (where to write the vmlinux)");
  VmlinuxResult r = extract_vmlinux_file(o.bzimage, o.out);
  if (!r.ok()) return fail(r.error);
  std::printf("%s: %s payload -> %s (%zu bytes, %s)\n", o.bzimage.c_str(), r.compression.c_str(), o.out.c_str(),
              r.elf.size(), r.elf_class().c_str());
  return kExitOk;
}

int run_notes(const VmlinuxOptions& o) {
  std::string bytes, err;
  if (!read_text_file(o.notes, &bytes, &err)) return fail(err);
  std::string from = "ELF";
  if (is_bzimage(bytes)) {
    VmlinuxResult r = extract_vmlinux(bytes);
    if (!r.ok()) return fail(o.notes + ": " + r.error);
    bytes = std::move(r.elf);
    from = "bzImage, " + r.compression + " payload";
  }
  auto info = read_elf_xen_notes(bytes, &err);
  if (!info) return fail(o.notes + ": " + err);
  if (o.json) {
    nlohmann::json j = to_json(*info);
    j["file"] = o.notes;
    std::printf("%s\n", j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return kExitOk;
  }
  std::printf("%s: ELF%d %s (%s), entry %s, %zu Xen note%s%s\n", o.notes.c_str(), info->elf_class,
              info->machine.c_str(), from.c_str(), hex(info->entry).c_str(), info->xen_note_count,
              info->xen_note_count == 1 ? "" : "s",
              info->notes_from.empty() ? "" : (" (" + info->notes_from + ")").c_str());
  std::string pv = info->has_pv_entry() ? "yes, " + hex(*info->pv_entry) +
                                               (info->hypercall_page ? "" : " (no HYPERCALL_PAGE note)")
                                         : "no";
  std::printf("  PV entry:  %s\n", pv.c_str());
  std::printf("  PVH entry: %s\n", info->has_pvh_entry() ? ("yes, " + hex(*info->pvh_entry)).c_str() : "no");
  auto num = [](const char* k, const std::optional<uint64_t>& v, const std::string& extra = "") {
    if (v) std::printf("  %-19s %s%s\n", k, hex(*v).c_str(), extra.c_str());
  };
  auto str = [](const char* k, const std::optional<std::string>& v) {
    if (v) std::printf("  %-19s \"%s\"\n", k, v->c_str());
  };
  num("ENTRY", info->pv_entry);
  num("HYPERCALL_PAGE", info->hypercall_page);
  num("VIRT_BASE", info->virt_base);
  num("PADDR_OFFSET", info->paddr_offset);
  str("XEN_VERSION", info->xen_version);
  str("GUEST_OS", info->guest_os);
  str("GUEST_VERSION", info->guest_version);
  str("LOADER", info->loader);
  str("PAE_MODE", info->pae_mode);
  str("FEATURES", info->features);
  str("BSD_SYMTAB", info->bsd_symtab);
  if (info->supported_features)
    num("SUPPORTED_FEATURES", info->supported_features, " (" + xen_feature_names(*info->supported_features) + ")");
  num("PHYS32_ENTRY", info->pvh_entry);
  for (const XenElfNote& n : info->other) {
    std::string label = (n.name.empty() ? "type" : n.name) + " (" + std::to_string(n.type) + ")";
    std::printf("  %-19s %s\n", label.c_str(), n.desc.empty() ? "(empty)" : n.hex().c_str());
  }
  for (const std::string& w : info->warnings) std::printf("  warning: %s\n", w.c_str());
  std::printf("manifest: %s\n", xen_manifest_line(*info).c_str());
  return kExitOk;
}

void setup_vmlinux(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<VmlinuxOptions>();
  CLI::App* sub = app.add_subcommand("vmlinux", "Extract the ELF vmlinux from a bzImage, or print a kernel's Xen ELF notes");
  sub->footer(
      "Payloads: xz, zstd, gzip (lzma, bzip2, lz4, lzo are refused by name). The output is written\n"
      "atomically and bounded (512 MiB). --notes reads an ELF or a bzImage (extracted in memory).\n"
      "Exit status: 0 done, 2 bad input.\n"
      "Examples: pvmatrix vmlinux /boot/vmlinuz-6.1.0-57-amd64 -o vmlinux\n"
      "          pvmatrix vmlinux --notes vmlinux --json");
  CLI::Option* in = sub->add_option("bzimage", o->bzimage, "The bzImage (vmlinuz) to extract");
  CLI::Option* out = sub->add_option("-o,--output", o->out, "Where to write the vmlinux ELF");
  CLI::Option* notes = sub->add_option("--notes", o->notes, "Print the Xen ELF notes of FILE (ELF or bzImage)");
  sub->add_flag("--json", o->json, "With --notes: print {elf_class, machine, entry, xen: {...}, manifest, ...}");
  notes->excludes(in)->excludes(out);
  sub->callback([o, &exit_code] {
    if (!o->notes.empty()) {
      exit_code = run_notes(*o);
    } else if (o->bzimage.empty()) {
      exit_code = fail("give BZIMAGE -o OUT, or --notes FILE");
    } else {
      exit_code = run_extract(*o);
    }
  });
}

const Registrar registrar("vmlinux", setup_vmlinux);

}  // namespace
}  // namespace pvm::cli
