// read_elf_xen_notes: synthetic ELF32/ELF64 images with Xen notes built here; truncated and
// corrupt headers give errors, never a crash; the real Debian kernels (when present) carry the
// entry points Xen needs.
#include "elf_notes.h"

#include <cstdio>
#include <filesystem>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "json_text.h"
#include "real_kernels.h"
#include "test_bytes.h"
#include "vmlinux.h"

namespace pvm {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

using test::le;
using test::put_le;

struct Note {
  std::string name;
  uint32_t type;
  std::string desc;
};

std::string note_blob(const std::vector<Note>& notes, size_t align) {
  std::string b;
  auto pad = [&] { b.resize((b.size() + align - 1) / align * align, '\0'); };
  for (const Note& n : notes) {
    std::string name = n.name + '\0';
    b += le(name.size(), 4) + le(n.desc.size(), 4) + le(n.type, 4);
    b += name;
    pad();
    b += n.desc;
    pad();
  }
  return b;
}

struct ElfSpec {
  bool is64 = true;
  uint16_t machine = 62;
  uint64_t entry = 0x1000000;
  std::vector<Note> notes;
  bool in_segment = true;   ///< PT_NOTE (else only a SHT_NOTE section)
  bool in_section = true;   ///< also a SHT_NOTE section header
  size_t align = 4;
};

/// ehdr | phdrs (PT_LOAD, PT_NOTE?) | notes | shdrs (null, .notes?)
std::string build_elf(const ElfSpec& s) {
  const size_t eh = s.is64 ? 64 : 52, ph = s.is64 ? 56 : 32, sh = s.is64 ? 64 : 40;
  const size_t phnum = s.in_segment ? 2 : 1, shnum = s.in_section ? 2 : 1;
  std::string blob = note_blob(s.notes, s.align);
  size_t notes_at = (eh + phnum * ph + 7) / 8 * 8;
  size_t sh_at = (notes_at + blob.size() + 7) / 8 * 8;
  std::string e(sh_at + shnum * sh, '\0');
  e.replace(0, 4, "\x7f" "ELF");
  e[4] = s.is64 ? 2 : 1, e[5] = 1, e[6] = 1;
  put_le(e, 16, 2, 2);
  put_le(e, 18, s.machine, 2);
  put_le(e, 20, 1, 4);
  if (s.is64) {
    put_le(e, 24, s.entry, 8), put_le(e, 32, eh, 8), put_le(e, 40, sh_at, 8);
    put_le(e, 52, eh, 2), put_le(e, 54, ph, 2), put_le(e, 56, phnum, 2), put_le(e, 58, sh, 2), put_le(e, 60, shnum, 2);
  } else {
    put_le(e, 24, s.entry, 4), put_le(e, 28, eh, 4), put_le(e, 32, sh_at, 4);
    put_le(e, 40, eh, 2), put_le(e, 42, ph, 2), put_le(e, 44, phnum, 2), put_le(e, 46, sh, 2), put_le(e, 48, shnum, 2);
  }
  // PT_LOAD covering the file, then PT_NOTE.
  auto phdr = [&](size_t i, uint32_t type, uint64_t off, uint64_t size, uint64_t align) {
    size_t p = eh + i * ph;
    put_le(e, p, type, 4);
    if (s.is64) {
      put_le(e, p + 8, off, 8), put_le(e, p + 32, size, 8), put_le(e, p + 40, size, 8), put_le(e, p + 48, align, 8);
    } else {
      put_le(e, p + 4, off, 4), put_le(e, p + 16, size, 4), put_le(e, p + 20, size, 4), put_le(e, p + 28, align, 4);
    }
  };
  phdr(0, 1, 0, e.size(), 0x1000);
  if (s.in_segment) phdr(1, 4, notes_at, blob.size(), s.align);
  if (s.in_section) {
    size_t p = sh_at + sh;
    put_le(e, p + 4, 7, 4);  // SHT_NOTE
    if (s.is64) {
      put_le(e, p + 24, notes_at, 8), put_le(e, p + 32, blob.size(), 8), put_le(e, p + 48, s.align, 8);
    } else {
      put_le(e, p + 16, notes_at, 4), put_le(e, p + 20, blob.size(), 4), put_le(e, p + 32, s.align, 4);
    }
  }
  e.replace(notes_at, blob.size(), blob);
  return e;
}

std::vector<Note> linux64_notes() {
  return {{"GNU", 3, std::string(20, '\x11')},  // a build id: not Xen, ignored
          {"Xen", 6, std::string("linux\0", 6)},
          {"Xen", 1, le(0xffffffff81e5b1c0, 8)},
          {"Xen", 2, le(0xffffffff81001000, 8)},
          {"Xen", 3, le(0xffffffff80000000, 8)},
          {"Xen", 10, std::string("!writable_page_tables|pae_pgdir_above_4gb\0", 42)},
          {"Xen", 9, std::string("yes\0", 4)},
          {"Xen", 17, le(0x8801, 4)},
          {"Xen", 13, le(1, 8) + le(1, 8)},
          {"Xen", 18, le(0x1000370, 4)},
          {"Linux", 0x101, le(0, 4)}};
}

TEST(ElfNotes, Elf64WithPvAndPvh) {
  ElfSpec s;
  s.notes = linux64_notes();
  std::string err;
  auto info = read_elf_xen_notes(build_elf(s), &err);
  ASSERT_TRUE(info) << err;
  EXPECT_EQ(info->elf_class, 64);
  EXPECT_EQ(info->machine, "x86_64");
  EXPECT_EQ(info->entry, 0x1000000u);
  EXPECT_EQ(info->notes_from, "PT_NOTE");
  EXPECT_EQ(info->xen_note_count, 9u);
  EXPECT_EQ(info->pv_entry, 0xffffffff81e5b1c0u);
  EXPECT_EQ(info->hypercall_page, 0xffffffff81001000u);
  EXPECT_EQ(info->virt_base, 0xffffffff80000000u);
  EXPECT_EQ(info->features, "!writable_page_tables|pae_pgdir_above_4gb");
  EXPECT_EQ(info->pae_mode, "yes");
  EXPECT_EQ(info->guest_os, "linux");
  EXPECT_EQ(info->supported_features, 0x8801u);
  EXPECT_EQ(xen_feature_names(*info->supported_features), "writable_page_tables|dom0|linux_rsdp_unrestricted");
  EXPECT_EQ(info->pvh_entry, 0x1000370u);
  ASSERT_EQ(info->other.size(), 1u);
  EXPECT_EQ(info->other[0].type, 13u);
  EXPECT_EQ(info->other[0].name, "L1_MFN_VALID");
  EXPECT_EQ(info->other[0].hex(), "01000000000000000100000000000000");
  EXPECT_TRUE(info->has_pv_entry());
  EXPECT_TRUE(info->has_pvh_entry());
  EXPECT_TRUE(info->warnings.empty());
  EXPECT_EQ(xen_manifest_line(*info),
            "elf=64 machine=x86_64 entry=0x1000000 xen.pvh=0x1000370 xen.pv=0xffffffff81e5b1c0 "
            "xen.hypercall_page=0xffffffff81001000 xen.virt_base=0xffffffff80000000 "
            "xen.features=!writable_page_tables|pae_pgdir_above_4gb xen.supported_features=0x8801 "
            "xen.pae_mode=yes xen.guest_os=linux");
  nlohmann::json j = to_json(*info);
  EXPECT_EQ(j["xen"]["ENTRY"], "0xffffffff81e5b1c0");
  EXPECT_EQ(j["xen"]["PHYS32_ENTRY"], "0x1000370");
  EXPECT_EQ(j["has_pv_entry"], true);
  EXPECT_EQ(j["other"][0]["name"], "L1_MFN_VALID");
}

TEST(ElfNotes, Elf32PvhOnly) {
  ElfSpec s;
  s.is64 = false;
  s.machine = 3;
  s.notes = {{"Xen", 18, le(0x10002e0, 4)}, {"Xen", 3, le(0xc0000000, 4)}, {"Xen", 10, "!writable_page_tables"}};
  std::string err;
  auto info = read_elf_xen_notes(build_elf(s), &err);
  ASSERT_TRUE(info) << err;
  EXPECT_EQ(info->elf_class, 32);
  EXPECT_EQ(info->machine, "i386");
  EXPECT_TRUE(info->has_pvh_entry());
  EXPECT_FALSE(info->has_pv_entry());
  EXPECT_EQ(info->features, "!writable_page_tables");  // no NUL terminator: the whole desc
  EXPECT_EQ(xen_manifest_line(*info),
            "elf=32 machine=i386 entry=0x1000000 xen.pvh=0x10002e0 xen.virt_base=0xc0000000 "
            "xen.features=!writable_page_tables");
}

TEST(ElfNotes, PvEntryWithoutHypercallPage) {
  // Linux without the hypercall page (XSA-466): ENTRY alone still is the PV entry point.
  ElfSpec s;
  s.notes = {{"Xen", 1, le(0xffffffff830791c0, 8)}};
  std::string err;
  auto info = read_elf_xen_notes(build_elf(s), &err);
  ASSERT_TRUE(info) << err;
  EXPECT_TRUE(info->has_pv_entry());
  EXPECT_FALSE(info->hypercall_page);
  EXPECT_FALSE(info->has_pvh_entry());
}

TEST(ElfNotes, SectionFallbackAndAlignment) {
  ElfSpec s;
  s.notes = linux64_notes();
  s.in_segment = false;
  std::string err;
  auto info = read_elf_xen_notes(build_elf(s), &err);
  ASSERT_TRUE(info) << err;
  EXPECT_EQ(info->notes_from, "SHT_NOTE");
  EXPECT_TRUE(info->has_pv_entry() && info->has_pvh_entry());

  s.in_segment = true;
  s.align = 8;
  info = read_elf_xen_notes(build_elf(s), &err);
  ASSERT_TRUE(info) << err;
  EXPECT_EQ(info->pvh_entry, 0x1000370u);
  EXPECT_EQ(info->features, "!writable_page_tables|pae_pgdir_above_4gb");
}

TEST(ElfNotes, NoNotes) {
  ElfSpec s;
  s.in_segment = s.in_section = false;
  std::string err;
  auto info = read_elf_xen_notes(build_elf(s), &err);
  ASSERT_TRUE(info) << err;
  EXPECT_EQ(info->notes_from, "");
  EXPECT_FALSE(info->has_xen_notes());
  EXPECT_EQ(xen_manifest_line(*info), "elf=64 machine=x86_64 entry=0x1000000 xen=none");
  s.in_segment = true;
  s.notes = {{"GNU", 3, "abcd"}};
  info = read_elf_xen_notes(build_elf(s), &err);
  ASSERT_TRUE(info) << err;
  EXPECT_EQ(info->notes_from, "PT_NOTE");
  EXPECT_FALSE(info->has_xen_notes());
}

TEST(ElfNotes, OddNotesAreKeptWithWarnings) {
  ElfSpec s;
  s.notes = {{"Xen", 1, "abc"},                 // numeric note of 3 bytes
             {"Xen", 18, le(0x1000, 4)},
             {"Xen", 18, le(0x2000, 4)},         // duplicate
             {"Xen", 0x1234, "\x01\x02"},        // unknown type
             {"Xen", 6, std::string("li nux\x01", 7)}};
  std::string err;
  auto info = read_elf_xen_notes(build_elf(s), &err);
  ASSERT_TRUE(info) << err;
  EXPECT_FALSE(info->pv_entry);
  EXPECT_EQ(info->pvh_entry, 0x1000u);
  ASSERT_EQ(info->warnings.size(), 2u);
  EXPECT_THAT(info->warnings[0], HasSubstr("note ENTRY (type 1): numeric value of 3 bytes"));
  EXPECT_THAT(info->warnings[1], HasSubstr("PHYS32_ENTRY (type 18) appears again"));
  ASSERT_EQ(info->other.size(), 3u);
  EXPECT_EQ(info->other[2].type, 0x1234u);
  EXPECT_EQ(info->other[2].name, "");
  EXPECT_EQ(info->other[2].hex(), "0102");
  // Guest strings cannot break the manifest line's key=value form.
  EXPECT_THAT(xen_manifest_line(*info), HasSubstr("xen.guest_os=li\\x20nux\\x01"));
}

TEST(ElfNotes, BadHeaders) {
  ElfSpec s;
  s.notes = linux64_notes();
  const std::string good = build_elf(s);
  std::string err;
  EXPECT_FALSE(read_elf_xen_notes("", &err));
  EXPECT_EQ(err, "not an ELF: only 0 bytes");
  EXPECT_FALSE(read_elf_xen_notes(std::string(100, 'x'), &err));
  EXPECT_EQ(err, "not an ELF: no \\x7fELF magic");

  std::string b = good;
  b[4] = 3;
  EXPECT_FALSE(read_elf_xen_notes(b, &err));
  EXPECT_THAT(err, HasSubstr("unknown ELF class 3"));
  b = good;
  b[5] = 2;
  EXPECT_FALSE(read_elf_xen_notes(b, &err));
  EXPECT_THAT(err, HasSubstr("only little endian"));

  EXPECT_FALSE(read_elf_xen_notes(good.substr(0, 40), &err));
  EXPECT_THAT(err, HasSubstr("truncated: 40 bytes, shorter than the ELF64 header (64)"));

  b = good;
  put_le(b, 56, 60000, 2);  // phnum
  EXPECT_FALSE(read_elf_xen_notes(b, &err));
  EXPECT_THAT(err, HasSubstr("truncated: program header table"));
  b = good;
  put_le(b, 54, 8, 2);  // phentsize
  EXPECT_FALSE(read_elf_xen_notes(b, &err));
  EXPECT_THAT(err, HasSubstr("corrupt: program header entry size 8"));
  b = good;
  put_le(b, 32, 0xfffffffffffffff0ull, 8);  // phoff: no wrap-around
  EXPECT_FALSE(read_elf_xen_notes(b, &err));
  EXPECT_THAT(err, HasSubstr("truncated: program header table"));

  // The PT_NOTE segment's size past the end; a note's descsz past its segment.
  b = good;
  put_le(b, 64 + 56 + 32, 1u << 30, 8);
  EXPECT_FALSE(read_elf_xen_notes(b, &err));
  EXPECT_THAT(err, HasSubstr("truncated: PT_NOTE segment 1"));
  b = good;
  size_t notes_at = (64 + 2 * 56 + 7) / 8 * 8;
  put_le(b, notes_at + 4, 0xffffffff, 4);
  EXPECT_FALSE(read_elf_xen_notes(b, &err));
  EXPECT_THAT(err, HasSubstr("corrupt: PT_NOTE segment 1: note at offset"));
}

TEST(ElfNotes, EveryTruncationAndRandomDamageIsSafe) {
  for (bool is64 : {true, false}) {
    ElfSpec s;
    s.is64 = is64;
    s.notes = linux64_notes();
    const std::string good = build_elf(s);
    std::string err;
    for (size_t n = 0; n < good.size(); ++n) {
      auto info = read_elf_xen_notes(std::string_view(good).substr(0, n), &err);
      if (!info) EXPECT_FALSE(err.empty());
    }
    std::mt19937 rng(7);
    for (int i = 0; i < 3000; ++i) {
      std::string b = good;
      for (int f = 0; f < 1 + static_cast<int>(rng() % 3); ++f) b[rng() % b.size()] = static_cast<char>(rng());
      auto info = read_elf_xen_notes(b, &err);
      if (info) (void)xen_manifest_line(*info), (void)to_json(*info).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
}

TEST(ElfNotes, FileErrorsNameThePath) {
  std::string err;
  EXPECT_FALSE(read_elf_xen_notes_file("/nonexistent/vmlinux", &err));
  EXPECT_THAT(err, HasSubstr("/nonexistent/vmlinux"));
}

// The real kernels fetched into the download cache (skipped when absent): vmlinux extracted in
// memory from the bzImage.
TEST(ElfNotes, RealKernels) {
  auto kernels = test::cached_real_kernels();
  for (const auto& k : kernels) {
    const bool i386 = k.release.package.architecture == "i386";
    std::string bytes, err;
    ASSERT_TRUE(read_text_file(k.bzimage, &bytes, &err)) << err;
    VmlinuxResult v = extract_vmlinux(bytes);
    ASSERT_TRUE(v.ok()) << v.error;
    auto info = read_elf_xen_notes(v.elf, &err);
    ASSERT_TRUE(info) << k.bzimage << ": " << err;
    EXPECT_EQ(info->elf_class, i386 ? 32 : 64);
    EXPECT_EQ(info->machine, i386 ? "i386" : "x86_64");
    EXPECT_TRUE(info->has_pvh_entry()) << k.bzimage;
    // Linux dropped 32-bit PV guests in 5.9: only the 64-bit kernels have a PV entry.
    EXPECT_EQ(info->has_pv_entry(), !i386) << k.bzimage;
    EXPECT_TRUE(info->warnings.empty()) << k.bzimage;
    std::printf("  %s: %s\n", k.release.name.c_str(), xen_manifest_line(*info).c_str());
  }
  if (kernels.empty()) GTEST_SKIP() << "no real kernel in the download cache (scripts/fetch.sh)";
}

}  // namespace
}  // namespace pvm
