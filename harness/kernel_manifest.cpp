#include "kernel_manifest.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "hypervisor_version.h"
#include "json_text.h"
#include "op_group.h"

namespace pvm {

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

std::optional<unsigned> parse_uint(std::string_view s, unsigned max) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

enum class ItemKind { Call, Feature };

/// One item of `calls` or `features`; false with *err naming the item.
bool parse_item(std::string_view text, ItemKind kind, ManifestItem* item, std::string* err) {
  item->text = std::string(text);
  for (std::string_view alt : split(text, '|')) {
    ManifestAlternative a;
    if (!alt.empty() && (alt[0] == '!' || alt[0] == '-')) {
      a.need = alt[0] == '!' ? ManifestAlternative::Need::Required : ManifestAlternative::Need::Forbidden;
      alt.remove_prefix(1);
    }
    if (size_t at = alt.find('@'); at != std::string_view::npos) {
      auto major = parse_uint(alt.substr(at + 1), 255);
      if (!major) return *err = "bad API major suffix in \"" + std::string(text) + "\"", false;
      a.api_major = static_cast<uint8_t>(*major);
      alt = alt.substr(0, at);
    }
    a.name = std::string(alt);
    if (kind == ItemKind::Call) {
      auto n = parse_uint(alt, 0xffff);
      if (!n) return *err = "bad call number in \"" + std::string(text) + "\"", false;
      a.call = static_cast<uint16_t>(*n);
    } else if (!feature_from_name(alt)) {
      return *err = "unknown feature \"" + std::string(alt) + "\" in \"" + std::string(text) + "\"", false;
    }
    item->alternatives.push_back(std::move(a));
  }
  return true;
}

}  // namespace

bool ManifestItem::is_requirement() const {
  return std::any_of(alternatives.begin(), alternatives.end(),
                     [](const ManifestAlternative& a) { return a.need != ManifestAlternative::Need::Used; });
}

bool ManifestItem::applies_to(uint8_t major) const {
  return std::any_of(alternatives.begin(), alternatives.end(),
                     [&](const ManifestAlternative& a) { return a.applies_to(major); });
}

bool KernelManifest::speaks(uint8_t major) const {
  return std::find(api_majors.begin(), api_majors.end(), major) != api_majors.end();
}

bool KernelManifest::may_bind(std::string_view group) const {
  return std::find(groups.begin(), groups.end(), group) != groups.end();
}

std::vector<uint16_t> KernelManifest::calls_for(uint8_t major) const {
  std::vector<uint16_t> out;
  for (const ManifestItem& item : calls)
    for (const ManifestAlternative& a : item.alternatives)
      if (a.applies_to(major) && a.need != ManifestAlternative::Need::Forbidden &&
          std::find(out.begin(), out.end(), a.call) == out.end())
        out.push_back(a.call);
  return out;
}

const char* to_string(KernelManifest::Counter c) { return c == KernelManifest::Counter::Clamped ? "clamped" : "raw"; }

std::optional<KernelManifest> parse_kernel_manifest(std::string_view text, std::string* err) {
  KernelManifest m;
  m.text = std::string(text);
  std::vector<std::string> seen;
  for (std::string_view field : split(text, ';')) {
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) {
      *err = "field \"" + std::string(field) + "\" is not key=value";
      return std::nullopt;
    }
    std::string key(field.substr(0, eq));
    std::string_view value = field.substr(eq + 1);
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      *err = "key \"" + key + "\" given twice";
      return std::nullopt;
    }
    seen.push_back(key);
    auto fail = [&](const std::string& message) {
      *err = key + ": " + message;
      return std::nullopt;
    };
    if (key == "release") {
      if (value.empty()) return fail("empty");
      m.release = std::string(value);
    } else if (key == "api") {
      for (std::string_view v : split(value, ',')) {
        auto major = parse_uint(v, 255);
        if (!major) return fail("bad API major \"" + std::string(v) + "\"");
        m.api_majors.push_back(static_cast<uint8_t>(*major));
      }
    } else if (key == "groups") {
      if (value.empty()) continue;
      for (std::string_view g : split(value, ',')) {
        if (!op_group_from_name(g))
          return fail("unknown op group \"" + std::string(g) + "\" (known: cpu irq mmu timer lazy)");
        m.groups.emplace_back(g);
      }
    } else if (key == "calls" || key == "features") {
      if (value.empty()) continue;
      const ItemKind kind = key == "calls" ? ItemKind::Call : ItemKind::Feature;
      for (std::string_view text_item : split(value, ',')) {
        ManifestItem item;
        std::string item_err;
        if (!parse_item(text_item, kind, &item, &item_err)) return fail(item_err);
        (kind == ItemKind::Call ? m.calls : m.features).push_back(std::move(item));
      }
    } else if (key == "counter") {
      if (value == "raw") m.counter = KernelManifest::Counter::Raw;
      else if (value == "clamped") m.counter = KernelManifest::Counter::Clamped;
      else return fail("unknown value \"" + std::string(value) + "\" (raw | clamped)");
    } else if (key == "xen") {
      if (value == "pvh") m.xen_pvh = true;
      else if (value == "none") m.xen_pvh = false;
      else return fail("unknown value \"" + std::string(value) + "\" (pvh | none)");
    } else {
      *err = "unknown key \"" + key + "\"";
      return std::nullopt;
    }
  }
  for (const char* required : {"release", "api", "groups", "calls", "features", "counter"})
    if (std::find(seen.begin(), seen.end(), required) == seen.end()) {
      *err = std::string("missing key \"") + required + "\"";
      return std::nullopt;
    }
  if (m.api_majors.empty()) {
    *err = "api: no major listed";
    return std::nullopt;
  }
  return m;
}

// ---------------------------------------------------------------------------------------
// ELF32 (System V gABI): just enough to find one note.
// ---------------------------------------------------------------------------------------
namespace {

constexpr uint32_t kPtNote = 4;
constexpr uint32_t kShtNote = 7;

class Elf32 {
 public:
  explicit Elf32(std::span<const uint8_t> b) : b_(b) {}
  bool has(uint64_t off, uint64_t len) const { return off <= b_.size() && len <= b_.size() - off; }
  uint16_t u16(uint64_t off) const { return static_cast<uint16_t>(b_[off] | b_[off + 1] << 8); }
  uint32_t u32(uint64_t off) const {
    return uint32_t{b_[off]} | uint32_t{b_[off + 1]} << 8 | uint32_t{b_[off + 2]} << 16 | uint32_t{b_[off + 3]} << 24;
  }
  std::span<const uint8_t> bytes() const { return b_; }

 private:
  std::span<const uint8_t> b_;
};

/// Walks the notes in [off, off+size); returns the PVMATRIX type-1 descriptor if present.
/// A malformed note area sets *err (and stops).
std::optional<std::string> scan_notes(const Elf32& elf, uint64_t off, uint64_t size, std::string* err) {
  if (!elf.has(off, size)) {
    *err = "note area outside the file";
    return std::nullopt;
  }
  auto align4 = [](uint64_t n) { return (n + 3) & ~uint64_t{3}; };
  uint64_t at = off;
  const uint64_t end = off + size;
  while (at + 12 <= end) {
    uint32_t namesz = elf.u32(at), descsz = elf.u32(at + 4), type = elf.u32(at + 8);
    uint64_t name_off = at + 12;
    uint64_t desc_off = name_off + align4(namesz);
    uint64_t next = desc_off + align4(descsz);
    if (desc_off + descsz > end) {
      *err = "truncated note at offset " + std::to_string(at);
      return std::nullopt;
    }
    auto name = elf.bytes().subspan(name_off, namesz);
    std::string_view name_text(reinterpret_cast<const char*>(name.data()), name.size());
    if (!name_text.empty() && name_text.back() == '\0') name_text.remove_suffix(1);
    if (name_text == kManifestNoteName && type == kManifestNoteType) {
      auto desc = elf.bytes().subspan(desc_off, descsz);
      std::string text(reinterpret_cast<const char*>(desc.data()), desc.size());
      text.resize(strnlen(text.c_str(), text.size()));  // up to the NUL
      return text;
    }
    at = next;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> find_manifest_note(std::span<const uint8_t> bytes, std::string* err) {
  Elf32 elf(bytes);
  if (!elf.has(0, 52) || std::memcmp(bytes.data(), "\x7f" "ELF", 4) != 0) {
    *err = "not an ELF file";
    return std::nullopt;
  }
  if (bytes[4] != 1 || bytes[5] != 1) {
    *err = "not a 32-bit little-endian ELF (class " + std::to_string(bytes[4]) + ", data " +
           std::to_string(bytes[5]) + ")";
    return std::nullopt;
  }
  const uint32_t phoff = elf.u32(0x1c), shoff = elf.u32(0x20);
  const uint16_t phentsize = elf.u16(0x2a), phnum = elf.u16(0x2c);
  const uint16_t shentsize = elf.u16(0x2e), shnum = elf.u16(0x30);

  // Program headers: what a loader (and readelf -n on a stripped image) sees.
  if (phnum > 0) {
    if (phentsize < 32 || !elf.has(phoff, uint64_t{phentsize} * phnum)) {
      *err = "program headers outside the file";
      return std::nullopt;
    }
    for (uint16_t i = 0; i < phnum; ++i) {
      uint64_t ph = phoff + uint64_t{i} * phentsize;
      if (elf.u32(ph) != kPtNote) continue;
      std::string note_err;
      auto text = scan_notes(elf, elf.u32(ph + 4), elf.u32(ph + 16), &note_err);
      if (text) return text;
      if (!note_err.empty()) return *err = "PT_NOTE segment " + std::to_string(i) + ": " + note_err, std::nullopt;
    }
  }
  // Section headers, for images whose note is in a section only.
  if (shnum > 0) {
    if (shentsize < 40 || !elf.has(shoff, uint64_t{shentsize} * shnum)) {
      *err = "section headers outside the file";
      return std::nullopt;
    }
    for (uint16_t i = 0; i < shnum; ++i) {
      uint64_t sh = shoff + uint64_t{i} * shentsize;
      if (elf.u32(sh + 4) != kShtNote) continue;
      std::string note_err;
      auto text = scan_notes(elf, elf.u32(sh + 16), elf.u32(sh + 20), &note_err);
      if (text) return text;
      if (!note_err.empty()) return *err = "SHT_NOTE section " + std::to_string(i) + ": " + note_err, std::nullopt;
    }
  }
  *err = "no PVMATRIX note (type 1): not a pvmatrix kernel image, or built without a manifest";
  return std::nullopt;
}

std::optional<KernelManifest> load_kernel_manifest(const std::string& path, std::string* err) {
  // In one read: an istreambuf_iterator a byte at a time cost ~2 ms of every run (five kernels).
  std::string file, why;
  if (!read_text_file(path, &file, &why)) {
    *err = path + ": cannot read";
    return std::nullopt;
  }
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(file.data()), file.size());
  std::string e;
  auto text = find_manifest_note(bytes, &e);
  if (!text) {
    *err = path + ": " + e;
    return std::nullopt;
  }
  auto m = parse_kernel_manifest(*text, &e);
  if (!m) *err = path + ": manifest: " + e;
  return m;
}

}  // namespace pvm
