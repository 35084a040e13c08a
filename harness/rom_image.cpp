#include "rom_image.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "hypervisor_version.h"

namespace pvm {

bool is_known_api_major(uint8_t major) { return major == 3 || major == 4; }

std::string RomImage::api() const {
  return std::to_string(header.api_major) + "." + std::to_string(header.api_minor);
}

const pvrom::CallEntry* RomImage::find_call(uint16_t number) const {
  for (const auto& c : calls)
    if (c.number == number) return &c;
  return nullptr;
}

namespace {

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}

}  // namespace

std::optional<RomImage> parse_rom_image(std::span<const uint8_t> bytes, std::string* err) {
  using pvrom::RomHeader;
  const size_t size = bytes.size();
  // 1. size
  if (size < sizeof(RomHeader)) {
    *err = "truncated: " + std::to_string(size) + " bytes, smaller than the " +
           std::to_string(sizeof(RomHeader)) + "-byte header";
    return std::nullopt;
  }
  if (size > pvrom::kMaxImageSize) {
    *err = "too large: " + std::to_string(size) + " bytes (max " +
           std::to_string(pvrom::kMaxImageSize) + ")";
    return std::nullopt;
  }
  RomImage rom;
  std::memcpy(&rom.header, bytes.data(), sizeof(RomHeader));
  const RomHeader& h = rom.header;
  rom.size = static_cast<uint32_t>(size);
  // 2. signatures
  if (h.rom_signature != pvrom::kRomSignature || h.pvm_signature != pvrom::kPvmSignature) {
    *err = "bad signature (" + hex(h.rom_signature) + ", " + hex(h.pvm_signature) + ")";
    return std::nullopt;
  }
  // 3. length
  if (static_cast<size_t>(h.rom_length) * 512 != size) {
    *err = "length mismatch: header says " + std::to_string(h.rom_length) + " blocks (" +
           std::to_string(h.rom_length * 512) + " bytes), image has " + std::to_string(size) +
           " (truncated?)";
    return std::nullopt;
  }
  // 4. checksum
  uint8_t sum = 0;
  for (uint8_t b : bytes) sum = static_cast<uint8_t>(sum + b);
  if (sum != 0) {
    *err = "bad checksum (sum " + hex(sum) + ")";
    return std::nullopt;
  }
  // 5. header size and load address
  if (h.header_size != sizeof(RomHeader)) {
    *err = "bad header size " + std::to_string(h.header_size);
    return std::nullopt;
  }
  if (h.load_address != pvrom::kLoadAddress) {
    *err = "bad load address " + hex(h.load_address) + " (expected " + hex(pvrom::kLoadAddress) + ")";
    return std::nullopt;
  }
  // 6. offsets
  auto entry_inside = [&](uint32_t off) { return off >= sizeof(RomHeader) && off < size; };
  if (!entry_inside(h.init_offset)) {
    *err = "bad init offset " + hex(h.init_offset);
    return std::nullopt;
  }
  if (!entry_inside(h.get_reloc_offset)) {
    *err = "bad get_reloc offset " + hex(h.get_reloc_offset);
    return std::nullopt;
  }
  const uint64_t table_end =
      uint64_t{h.call_table_offset} + uint64_t{h.call_count} * sizeof(pvrom::CallEntry);
  if (h.call_table_offset < sizeof(RomHeader) || table_end > size) {
    *err = "bad call table (offset " + hex(h.call_table_offset) + ", " +
           std::to_string(h.call_count) + " entries)";
    return std::nullopt;
  }
  // 7. API major
  if (!is_known_api_major(h.api_major)) {
    *err = "unknown API major " + std::to_string(h.api_major) + " (API " + rom.api() + ")";
    return std::nullopt;
  }
  // What the kernel relies on beyond abi.h's list: a sane calling convention and call table.
  if (h.calling_convention != pvrom::kConvRegparm3 && h.calling_convention != pvrom::kConvCdecl) {
    *err = "unknown calling convention " + std::to_string(h.calling_convention);
    return std::nullopt;
  }
  for (uint32_t i = 0; i < h.call_count; ++i) {
    pvrom::CallEntry e;
    std::memcpy(&e, bytes.data() + h.call_table_offset + i * sizeof e, sizeof e);
    std::string row = "call table row " + std::to_string(i) + " (call " + std::to_string(e.number) + ")";
    if (e.reloc > pvrom::kRelocNop || e.reloc == pvrom::kRelocNone || e.reserved != 0) {
      *err = row + ": bad reloc " + std::to_string(e.reloc) + "/reserved " + std::to_string(e.reserved);
      return std::nullopt;
    }
    bool has_entry = e.reloc == pvrom::kRelocCallRel || e.reloc == pvrom::kRelocJumpRel;
    if (has_entry ? !entry_inside(e.offset) : e.offset != 0) {
      *err = row + ": bad offset " + hex(e.offset);
      return std::nullopt;
    }
    if (rom.find_call(e.number)) {
      *err = row + ": listed twice";
      return std::nullopt;
    }
    rom.calls.push_back(e);
  }
  rom.version_name.assign(h.version_name, strnlen(h.version_name, sizeof h.version_name));
  return rom;
}

std::optional<RomImage> load_rom_image(const std::string& path, std::string* err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *err = path + ": cannot read";
    return std::nullopt;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto rom = parse_rom_image(bytes, err);
  if (!rom) *err = path + ": " + *err;
  return rom;
}

std::vector<std::string> check_rom_matches_version(const RomImage& rom, const HypervisorVersion& v) {
  std::vector<std::string> out;
  if (rom.version_name != v.name)
    out.push_back("name: ROM says \"" + rom.version_name + "\", version.json \"" + v.name + "\"");
  if (rom.api() != v.api()) out.push_back("api: ROM says " + rom.api() + ", version.json " + v.api());
  if (rom.header.calling_convention != v.calling_convention) {
    const char* rc = convention_name(rom.header.calling_convention);
    out.push_back(std::string("calling_convention: ROM says ") + (rc ? rc : "?") +
                  ", version.json " + convention_name(v.calling_convention));
  }
  if (rom.features() != v.features) {
    auto join = [](const std::vector<std::string>& names) {
      std::string s;
      for (const auto& n : names) s += (s.empty() ? "" : ",") + n;
      return "[" + s + "]";
    };
    out.push_back("features: ROM says " + join(feature_names(rom.features())) + ", version.json " +
                  join(feature_names(v.features)));
  }
  for (const auto& e : rom.calls) {
    const HvCall* c = v.find_call(e.number);
    if (!c) {
      out.push_back("call " + std::to_string(e.number) + ": in the ROM, not in version.json");
    } else if (c->reloc != e.reloc) {
      const char* rn = reloc_name(e.reloc);
      out.push_back("call " + std::to_string(e.number) + " (" + c->name + "): ROM binds " +
                    (rn ? rn : "?") + ", version.json " + reloc_name(c->reloc));
    }
  }
  for (const auto& c : v.calls)
    if (!rom.find_call(c.number))
      out.push_back("call " + std::to_string(c.number) + " (" + c.name +
                    "): in version.json, not in the ROM");
  return out;
}

}  // namespace pvm
