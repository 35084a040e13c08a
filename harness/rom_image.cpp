#include "rom_image.h"

#include <cstdio>
#include <cstring>

#include "hypervisor_version.h"
#include "json_text.h"
#include "pvrom/header_check.h"

namespace pvm {

bool is_known_api_major(uint8_t major) { return pvrom::kKnownApiMajors & pvrom::api_major_bit(major); }

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
  using pvrom::HeaderError;
  using pvrom::RomHeader;
  const size_t size = bytes.size();
  // abi.h's checks 1-7, as the kernel runs them (pvrom/header_check.h), for every major a
  // release speaks; the messages are the host's.
  const uint32_t checked_size = size > pvrom::kMaxImageSize ? pvrom::kMaxImageSize + 1 : static_cast<uint32_t>(size);
  const pvrom::HeaderCheck c = pvrom::check_header(bytes.data(), checked_size, pvrom::kKnownApiMajors);
  RomImage rom;
  rom.header = c.header;
  const RomHeader& h = rom.header;
  rom.size = static_cast<uint32_t>(size);
  auto fail = [&](std::string message) {
    *err = std::move(message);
    return std::nullopt;
  };
  switch (c.error) {
    case HeaderError::kNone:
      break;
    case HeaderError::kTooSmall:
      return fail("truncated: " + std::to_string(size) + " bytes, smaller than the " +
                  std::to_string(sizeof(RomHeader)) + "-byte header");
    case HeaderError::kTooLarge:
      return fail("too large: " + std::to_string(size) + " bytes (max " + std::to_string(pvrom::kMaxImageSize) + ")");
    case HeaderError::kBadSignature:
      return fail("bad signature (" + hex(h.rom_signature) + ", " + hex(h.pvm_signature) + ")");
    case HeaderError::kLengthMismatch:
      return fail("length mismatch: header says " + std::to_string(h.rom_length) + " blocks (" +
                  std::to_string(h.rom_length * 512) + " bytes), image has " + std::to_string(size) + " (truncated?)");
    case HeaderError::kBadChecksum:
      return fail("bad checksum (sum " + hex(c.value) + ")");
    case HeaderError::kBadHeaderSize:
      return fail("bad header size " + std::to_string(h.header_size));
    case HeaderError::kBadLoadAddress:
      return fail("bad load address " + hex(h.load_address) + " (expected " + hex(pvrom::kLoadAddress) + ")");
    case HeaderError::kBadInitOffset:
      return fail("bad init offset " + hex(h.init_offset));
    case HeaderError::kBadGetRelocOffset:
      return fail("bad get_reloc offset " + hex(h.get_reloc_offset));
    case HeaderError::kBadCallTable:
      return fail("bad call table (offset " + hex(h.call_table_offset) + ", " + std::to_string(h.call_count) +
                  " entries)");
    case HeaderError::kApiMajorNotSpoken:
      return fail("unknown API major " + std::to_string(h.api_major) + " (API " + rom.api() + ")");
  }
  auto entry_inside = [&](uint32_t off) { return off >= sizeof(RomHeader) && off < size; };
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
  std::string text, why;
  if (!read_text_file(path, &text, &why)) {
    *err = path + ": cannot read";
    return std::nullopt;
  }
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size());
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
