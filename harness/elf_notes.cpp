#include "elf_notes.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "mapped_file.h"

namespace pvm {
namespace {

constexpr uint32_t kPtNote = 4;
constexpr uint32_t kShtNote = 7;
constexpr uint16_t kEm386 = 3;
constexpr uint16_t kEmX86_64 = 62;
constexpr uint16_t kPnXnum = 0xffff;

/// Little-endian reads that never leave the bytes: `ok` turns false on the first one that would.
struct Reader {
  std::string_view b;
  bool in_bounds(uint64_t at, uint64_t n) const { return at <= b.size() && n <= b.size() - at; }
  uint64_t u(uint64_t at, int n) const {  // caller checked in_bounds(at, n)
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(b[at + i]);
    return v;
  }
};

std::string hex(uint64_t v) {
  char s[24];
  std::snprintf(s, sizeof s, "0x%" PRIx64, v);
  return s;
}

/// A string note's value: the bytes up to the first NUL.
std::string note_string(std::string_view desc) {
  size_t nul = desc.find('\0');
  return std::string(desc.substr(0, nul));
}

/// A manifest value: printable ASCII other than space and backslash kept, the rest as \xNN.
std::string escape_value(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c > 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char e[8];
      std::snprintf(e, sizeof e, "\\x%02x", c);
      out += e;
    }
  }
  return out;
}

struct Region {
  uint64_t offset, size, align;
};

void take_note(uint32_t type, std::string_view desc, ElfXenInfo* info) {
  ++info->xen_note_count;
  std::string name = xen_note_type_name(type);
  auto keep_raw = [&] { info->other.push_back({type, name, std::string(desc)}); };
  auto number = [&](std::optional<uint64_t>* slot) {
    if (desc.size() != 4 && desc.size() != 8) {
      info->warnings.push_back("note " + name + " (type " + std::to_string(type) + "): numeric value of " +
                               std::to_string(desc.size()) + " bytes (expected 4 or 8), kept raw");
      return keep_raw();
    }
    if (slot->has_value()) {
      info->warnings.push_back("note " + name + " (type " + std::to_string(type) + ") appears again; the first is used");
      return keep_raw();
    }
    Reader d{desc};
    *slot = d.u(0, static_cast<int>(desc.size()));
  };
  auto text = [&](std::optional<std::string>* slot) {
    if (slot->has_value()) {
      info->warnings.push_back("note " + name + " (type " + std::to_string(type) + ") appears again; the first is used");
      return keep_raw();
    }
    *slot = note_string(desc);
  };
  switch (type) {
    case kXenNoteEntry: return number(&info->pv_entry);
    case kXenNoteHypercallPage: return number(&info->hypercall_page);
    case kXenNoteVirtBase: return number(&info->virt_base);
    case kXenNotePaddrOffset: return number(&info->paddr_offset);
    case kXenNoteXenVersion: return text(&info->xen_version);
    case kXenNoteGuestOs: return text(&info->guest_os);
    case kXenNoteGuestVersion: return text(&info->guest_version);
    case kXenNoteLoader: return text(&info->loader);
    case kXenNotePaeMode: return text(&info->pae_mode);
    case kXenNoteFeatures: return text(&info->features);
    case kXenNoteBsdSymtab: return text(&info->bsd_symtab);
    case kXenNoteSupportedFeatures: return number(&info->supported_features);
    case kXenNotePhys32Entry: return number(&info->pvh_entry);
    default: return keep_raw();
  }
}

bool walk_notes(const Reader& r, const Region& reg, const char* what, ElfXenInfo* info, std::string* err) {
  if (!r.in_bounds(reg.offset, reg.size)) {
    *err = std::string("truncated: ") + what + " at offset " + std::to_string(reg.offset) + " size " +
           std::to_string(reg.size) + " runs past the end of the file (" + std::to_string(r.b.size()) + " bytes)";
    return false;
  }
  const uint64_t align = reg.align == 8 ? 8 : 4;  // notes are 4-aligned unless the segment says 8
  auto pad = [align](uint64_t n) { return (n + align - 1) & ~(align - 1); };
  uint64_t at = reg.offset;
  const uint64_t end = reg.offset + reg.size;
  while (end - at >= 12) {
    uint64_t namesz = r.u(at, 4), descsz = r.u(at + 4, 4);
    uint32_t type = static_cast<uint32_t>(r.u(at + 8, 4));
    // Name and desc each start aligned, counted from the start of the notes (an 8-aligned note
    // has 4 padding bytes after a 4-byte name). namesz/descsz are below 2^32: no sum overflows.
    uint64_t name_at = at + 12;
    uint64_t desc_at = reg.offset + pad(name_at + namesz - reg.offset);
    uint64_t next = reg.offset + pad(desc_at + descsz - reg.offset);
    if (desc_at + descsz > end) {
      *err = std::string("corrupt: ") + what + ": note at offset " + std::to_string(at) + " (name " +
             std::to_string(namesz) + " bytes, desc " + std::to_string(descsz) + " bytes) runs past its end (" +
             std::to_string(end) + ")";
      return false;
    }
    std::string_view name = r.b.substr(name_at, namesz);
    while (!name.empty() && name.back() == '\0') name.remove_suffix(1);
    if (name == "Xen") take_note(type, r.b.substr(desc_at, descsz), info);
    at = std::min(next, end);
  }
  return true;
}

}  // namespace

std::string xen_note_type_name(uint32_t type) {
  static const std::array<const char*, 20> names = {
      "INFO",         "ENTRY",          "HYPERCALL_PAGE", "VIRT_BASE",      "PADDR_OFFSET",
      "XEN_VERSION",  "GUEST_OS",       "GUEST_VERSION",  "LOADER",         "PAE_MODE",
      "FEATURES",     "BSD_SYMTAB",     "HV_START_LOW",   "L1_MFN_VALID",   "SUSPEND_CANCEL",
      "INIT_P2M",     "MOD_START_PFN",  "SUPPORTED_FEATURES", "PHYS32_ENTRY", "PHYS32_RELOC"};
  return type < names.size() ? names[type] : "";
}

std::string xen_feature_names(uint64_t bitmap) {
  static const std::array<const char*, 18> names = {
      "writable_page_tables", "writable_descriptor_tables", "auto_translated_physmap",
      "supervisor_mode_kernel", "pae_pgdir_above_4gb", "mmu_pt_update_preserve_ad", "highmem_assist",
      "gnttab_map_avail_bits", "hvm_callback_vector", "hvm_safe_pvclock", "hvm_pirqs", "dom0",
      "grant_map_identity", "memory_op_vnode_supported", "ARM_SMCCC_supported", "linux_rsdp_unrestricted",
      "not_direct_mapped", "direct_mapped"};
  std::string out;
  for (unsigned bit = 0; bit < 64; ++bit) {
    if (!(bitmap >> bit & 1)) continue;
    if (!out.empty()) out += '|';
    out += bit < names.size() ? std::string(names[bit]) : "bit" + std::to_string(bit);
  }
  return out;
}

std::string XenElfNote::hex() const {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(desc.size() * 2);
  for (unsigned char c : desc) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

std::optional<ElfXenInfo> read_elf_xen_notes(std::string_view bytes, std::string* err) {
  Reader r{bytes};
  if (bytes.size() < 16 || bytes.substr(0, 4) != "\x7f" "ELF") {
    *err = bytes.size() < 4 ? "not an ELF: only " + std::to_string(bytes.size()) + " bytes"
                            : "not an ELF: no \\x7fELF magic";
    return std::nullopt;
  }
  ElfXenInfo info;
  const uint8_t cls = static_cast<uint8_t>(bytes[4]), data = static_cast<uint8_t>(bytes[5]);
  if (cls != 1 && cls != 2) {
    *err = "corrupt: unknown ELF class " + std::to_string(cls) + " (1 = ELF32, 2 = ELF64)";
    return std::nullopt;
  }
  if (data != 1) {
    *err = "unsupported: ELF data encoding " + std::to_string(data) + " (only little endian, 1, is read)";
    return std::nullopt;
  }
  const bool is64 = cls == 2;
  info.elf_class = is64 ? 64 : 32;
  const uint64_t ehsize = is64 ? 64 : 52;
  if (!r.in_bounds(0, ehsize)) {
    *err = "truncated: " + std::to_string(bytes.size()) + " bytes, shorter than the ELF" +
           std::to_string(info.elf_class) + " header (" + std::to_string(ehsize) + ")";
    return std::nullopt;
  }
  info.machine_code = static_cast<uint16_t>(r.u(18, 2));
  info.machine = info.machine_code == kEm386      ? "i386"
                 : info.machine_code == kEmX86_64 ? "x86_64"
                                                  : "EM_" + std::to_string(info.machine_code);
  info.entry = is64 ? r.u(24, 8) : r.u(24, 4);
  const uint64_t phoff = is64 ? r.u(32, 8) : r.u(28, 4);
  const uint64_t shoff = is64 ? r.u(40, 8) : r.u(32, 4);
  const uint64_t phentsize = r.u(is64 ? 54 : 42, 2);
  uint64_t phnum = r.u(is64 ? 56 : 44, 2);
  const uint64_t shentsize = r.u(is64 ? 58 : 46, 2);
  uint64_t shnum = r.u(is64 ? 60 : 48, 2);
  const uint64_t min_ph = is64 ? 56 : 32, min_sh = is64 ? 64 : 40;

  // Section 0 carries the real counts when they do not fit the header (PN_XNUM, shnum 0).
  if (shoff != 0 && (phnum == kPnXnum || shnum == 0)) {
    if (shentsize < min_sh || !r.in_bounds(shoff, min_sh)) {
      *err = "corrupt: section header 0 (needed for the header counts) is outside the file or too small";
      return std::nullopt;
    }
    if (shnum == 0) shnum = is64 ? r.u(shoff + 32, 8) : r.u(shoff + 20, 4);
    if (phnum == kPnXnum) phnum = r.u(shoff + (is64 ? 44 : 28), 4);
  }

  auto table_ok = [&](const char* what, uint64_t off, uint64_t entsize, uint64_t num, uint64_t min) {
    if (num == 0) return true;
    if (entsize < min) {
      *err = std::string("corrupt: ") + what + " entry size " + std::to_string(entsize) + " (at least " +
             std::to_string(min) + " expected)";
      return false;
    }
    if (num > bytes.size() / entsize || !r.in_bounds(off, num * entsize)) {
      *err = std::string("truncated: ") + what + " table (offset " + std::to_string(off) + ", " +
             std::to_string(num) + " x " + std::to_string(entsize) + " bytes) runs past the end of the file (" +
             std::to_string(bytes.size()) + " bytes)";
      return false;
    }
    return true;
  };

  if (!table_ok("program header", phoff, phentsize, phnum, min_ph)) return std::nullopt;
  bool any_pt_note = false;
  for (uint64_t i = 0; i < phnum; ++i) {
    uint64_t p = phoff + i * phentsize;
    if (r.u(p, 4) != kPtNote) continue;
    any_pt_note = true;
    Region reg = is64 ? Region{r.u(p + 8, 8), r.u(p + 32, 8), r.u(p + 48, 8)}
                      : Region{r.u(p + 4, 4), r.u(p + 16, 4), r.u(p + 28, 4)};
    std::string what = "PT_NOTE segment " + std::to_string(i);
    if (!walk_notes(r, reg, what.c_str(), &info, err)) return std::nullopt;
  }
  if (any_pt_note) {
    info.notes_from = "PT_NOTE";
    return info;
  }

  if (shoff == 0 || shnum == 0) return info;
  if (!table_ok("section header", shoff, shentsize, shnum, min_sh)) return std::nullopt;
  bool any_sht_note = false;
  for (uint64_t i = 0; i < shnum; ++i) {
    uint64_t s = shoff + i * shentsize;
    if (r.u(s + 4, 4) != kShtNote) continue;
    any_sht_note = true;
    Region reg = is64 ? Region{r.u(s + 24, 8), r.u(s + 32, 8), r.u(s + 48, 8)}
                      : Region{r.u(s + 16, 4), r.u(s + 20, 4), r.u(s + 32, 4)};
    std::string what = "SHT_NOTE section " + std::to_string(i);
    if (!walk_notes(r, reg, what.c_str(), &info, err)) return std::nullopt;
  }
  if (any_sht_note) info.notes_from = "SHT_NOTE";
  return info;
}

std::optional<ElfXenInfo> read_elf_xen_notes_file(const std::string& path, std::string* err) {
  // Mapped: the headers and the notes are a few pages of a vmlinux of tens of MiB (reading it
  // whole cost a run that predicts four real kernels ~350 ms and 130 MiB).
  auto file = MappedFile::open(path, err);
  if (!file) return std::nullopt;
  auto info = read_elf_xen_notes(file->bytes(), err);
  if (!info) *err = path + ": " + *err;
  return info;
}

std::string xen_manifest_line(const ElfXenInfo& i) {
  std::string s = "elf=" + std::to_string(i.elf_class) + " machine=" + escape_value(i.machine) + " entry=" + hex(i.entry);
  if (!i.has_xen_notes()) return s + " xen=none";
  if (i.pvh_entry) s += " xen.pvh=" + hex(*i.pvh_entry);
  if (i.pv_entry) s += " xen.pv=" + hex(*i.pv_entry);
  if (i.hypercall_page) s += " xen.hypercall_page=" + hex(*i.hypercall_page);
  if (i.virt_base) s += " xen.virt_base=" + hex(*i.virt_base);
  if (i.paddr_offset) s += " xen.paddr_offset=" + hex(*i.paddr_offset);
  if (i.features) s += " xen.features=" + escape_value(*i.features);
  if (i.supported_features) s += " xen.supported_features=" + hex(*i.supported_features);
  if (i.pae_mode) s += " xen.pae_mode=" + escape_value(*i.pae_mode);
  if (i.loader) s += " xen.loader=" + escape_value(*i.loader);
  if (i.guest_os) s += " xen.guest_os=" + escape_value(*i.guest_os);
  if (i.guest_version) s += " xen.guest_version=" + escape_value(*i.guest_version);
  if (i.xen_version) s += " xen.xen_version=" + escape_value(*i.xen_version);
  if (i.bsd_symtab) s += " xen.bsd_symtab=" + escape_value(*i.bsd_symtab);
  return s;
}

nlohmann::json to_json(const ElfXenInfo& i) {
  using nlohmann::json;
  json xen = json::object();
  auto num = [&](const char* k, const std::optional<uint64_t>& v) {
    if (v) xen[k] = hex(*v);
  };
  auto str = [&](const char* k, const std::optional<std::string>& v) {
    if (v) xen[k] = *v;
  };
  num("ENTRY", i.pv_entry);
  num("HYPERCALL_PAGE", i.hypercall_page);
  num("VIRT_BASE", i.virt_base);
  num("PADDR_OFFSET", i.paddr_offset);
  str("XEN_VERSION", i.xen_version);
  str("GUEST_OS", i.guest_os);
  str("GUEST_VERSION", i.guest_version);
  str("LOADER", i.loader);
  str("PAE_MODE", i.pae_mode);
  str("FEATURES", i.features);
  str("BSD_SYMTAB", i.bsd_symtab);
  num("SUPPORTED_FEATURES", i.supported_features);
  if (i.supported_features) xen["SUPPORTED_FEATURES_NAMES"] = xen_feature_names(*i.supported_features);
  num("PHYS32_ENTRY", i.pvh_entry);
  json other = json::array();
  for (const XenElfNote& n : i.other) other.push_back({{"type", n.type}, {"name", n.name}, {"hex", n.hex()}});
  // Guest strings may hold any bytes: dump with replacement so invalid UTF-8 never throws.
  return {{"elf_class", i.elf_class},
          {"machine", i.machine},
          {"entry", hex(i.entry)},
          {"notes_from", i.notes_from},
          {"xen_note_count", i.xen_note_count},
          {"has_pv_entry", i.has_pv_entry()},
          {"has_pvh_entry", i.has_pvh_entry()},
          {"xen", xen},
          {"other", other},
          {"warnings", i.warnings},
          {"manifest", xen_manifest_line(i)}};
}

}  // namespace pvm
