// The Xen ELF notes of a kernel image (Xen's public/elfnote.h): what a Xen domain builder reads to
// decide whether and how it can boot the image — the PV entry point and hypercall page, the PVH
// (PHYS32_ENTRY) entry, the feature strings. Read from an ELF32 or ELF64 little-endian file,
// robustly: every offset is bounds-checked, a corrupt or truncated file gives an error, never a
// crash or a read outside the bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace pvm {

/// Xen note types (public/elfnote.h).
enum XenElfNoteType : uint32_t {
  kXenNoteInfo = 0,
  kXenNoteEntry = 1,             ///< PV entry point (virtual address)
  kXenNoteHypercallPage = 2,     ///< virtual address of the hypercall page
  kXenNoteVirtBase = 3,
  kXenNotePaddrOffset = 4,
  kXenNoteXenVersion = 5,        ///< string
  kXenNoteGuestOs = 6,           ///< string
  kXenNoteGuestVersion = 7,      ///< string
  kXenNoteLoader = 8,            ///< string
  kXenNotePaeMode = 9,           ///< string
  kXenNoteFeatures = 10,         ///< string, "feat|!required_feat|..."
  kXenNoteBsdSymtab = 11,        ///< string
  kXenNoteHvStartLow = 12,
  kXenNoteL1MfnValid = 13,
  kXenNoteSuspendCancel = 14,
  kXenNoteInitP2m = 15,
  kXenNoteModStartPfn = 16,
  kXenNoteSupportedFeatures = 17,  ///< numeric bitmap of XENFEAT_* bits
  kXenNotePhys32Entry = 18,        ///< PVH entry point (32-bit physical address)
  kXenNotePhys32Reloc = 19,
};

/// "ENTRY", "PHYS32_ENTRY", ... for a type in elfnote.h; "" otherwise.
std::string xen_note_type_name(uint32_t type);
/// XENFEAT_* names of the set bits of a SUPPORTED_FEATURES bitmap ("bit<N>" when unnamed),
/// '|'-separated like the FEATURES string: "writable_page_tables|hvm_callback_vector".
std::string xen_feature_names(uint64_t bitmap);

/// One Xen note kept as it is (type, raw descriptor bytes).
struct XenElfNote {
  uint32_t type = 0;
  std::string name;  ///< xen_note_type_name(type)
  std::string desc;  ///< the descriptor bytes
  std::string hex() const;  ///< desc as lowercase hex, no separators
};

struct ElfXenInfo {
  int elf_class = 0;          ///< 32 | 64
  uint16_t machine_code = 0;  ///< e_machine
  std::string machine;        ///< "i386" (EM_386) | "x86_64" (EM_X86_64) | "EM_<n>"
  uint64_t entry = 0;         ///< e_entry
  std::string notes_from;     ///< "PT_NOTE" | "SHT_NOTE" | "" (no note segment or section)
  size_t xen_note_count = 0;  ///< notes named "Xen" seen

  // Xen notes by type; absent when the image does not carry the note. Numeric notes are 4 or 8
  // bytes; one of another size is kept in `other` with a warning.
  std::optional<uint64_t> pv_entry;            ///< ENTRY (1)
  std::optional<uint64_t> hypercall_page;      ///< HYPERCALL_PAGE (2)
  std::optional<uint64_t> virt_base;           ///< VIRT_BASE (3)
  std::optional<uint64_t> paddr_offset;        ///< PADDR_OFFSET (4)
  std::optional<std::string> xen_version;      ///< XEN_VERSION (5)
  std::optional<std::string> guest_os;         ///< GUEST_OS (6)
  std::optional<std::string> guest_version;    ///< GUEST_VERSION (7)
  std::optional<std::string> loader;           ///< LOADER (8)
  std::optional<std::string> pae_mode;         ///< PAE_MODE (9)
  std::optional<std::string> features;         ///< FEATURES (10)
  std::optional<std::string> bsd_symtab;       ///< BSD_SYMTAB (11)
  std::optional<uint64_t> supported_features;  ///< SUPPORTED_FEATURES (17), XENFEAT_* bitmap
  std::optional<uint64_t> pvh_entry;           ///< PHYS32_ENTRY (18)
  std::vector<XenElfNote> other;               ///< every other Xen note, in file order
  std::vector<std::string> warnings;           ///< odd but readable: wrong numeric size, duplicate note

  bool has_xen_notes() const { return xen_note_count > 0; }
  bool has_pvh_entry() const { return pvh_entry.has_value(); }
  /// A Xen PV entry point: the ENTRY note. HYPERCALL_PAGE is not required: it is optional for
  /// Xen, and Linux dropped it (XSA-466, "x86/xen: remove hypercall page", backported to the
  /// stable series), so current PV-capable kernels (Debian's 6.1.192, 6.12.117) carry ENTRY alone.
  bool has_pv_entry() const { return pv_entry.has_value(); }
};

/// Reads the ELF header and the Xen notes of PT_NOTE segments (SHT_NOTE sections when the file
/// has no PT_NOTE). nullopt with `*err` ("not an ELF: ...", "truncated: ...", "corrupt: ...")
/// when the file cannot be read as a little-endian ELF32/ELF64.
std::optional<ElfXenInfo> read_elf_xen_notes(std::string_view elf, std::string* err);
/// The same for a file; errors start with the path.
std::optional<ElfXenInfo> read_elf_xen_notes_file(const std::string& path, std::string* err);

/// One line, space-separated key=value (values escaped: no spaces or control bytes), e.g.
/// `elf=64 machine=x86_64 entry=0x1000000 xen.pvh=0x1000370 xen.pv=0xffffffff81e5b1c0
/// xen.hypercall_page=0xffffffff81001000 xen.features=!writable_page_tables|pae_pgdir_above_4gb
/// xen.supported_features=0x801`; `xen=none` when the image carries no Xen note.
std::string xen_manifest_line(const ElfXenInfo& info);

/// {"elf_class", "machine", "entry", "notes_from", "has_pv_entry", "has_pvh_entry",
///  "xen": {"ENTRY": "0x...", "FEATURES": "...", ...}, "other": [{"type", "name", "hex"}],
///  "warnings": [...], "manifest": "<xen_manifest_line>"}; addresses as "0x..." strings.
nlohmann::json to_json(const ElfXenInfo& info);

}  // namespace pvm
