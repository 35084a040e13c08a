// parse_rom_image: every built ROM validates and agrees with its version.json; damaged
// images fail for the reason abi.h's validation order gives.
#include "rom_image.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "hypervisor_version.h"

namespace pvm {
namespace {

const char* kVersions[] = {"rom-1.0", "rom-1.1", "rom-1.12", "rom-1.13", "rom-1.13.1", "rom-2.0"};

std::string image_path(const std::string& name) { return std::string(PVMATRIX_IMAGE_DIR) + "/" + name + ".rom"; }
std::string version_dir(const std::string& name) {
  return std::string(PVMATRIX_TEST_DIR) + "/../hypervisor-versions/" + name;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

pvrom::RomHeader* header(std::vector<uint8_t>& img) { return reinterpret_cast<pvrom::RomHeader*>(img.data()); }

void fix_checksum(std::vector<uint8_t>& img) {
  header(img)->checksum_adjust = 0;
  uint8_t sum = 0;
  for (uint8_t b : img) sum = static_cast<uint8_t>(sum + b);
  header(img)->checksum_adjust = static_cast<uint8_t>(-sum);
}

/// A small valid image built in memory: header, a two-row call table, code bytes.
std::vector<uint8_t> synthetic_image() {
  std::vector<uint8_t> img(512, 0x90);
  pvrom::RomHeader h{};
  h.rom_signature = pvrom::kRomSignature;
  h.rom_length = 1;
  h.pvm_signature = pvrom::kPvmSignature;
  h.api_major = 3;
  h.api_minor = 2;
  h.header_size = sizeof h;
  h.features = pvrom::kFeatureTimer;
  h.load_address = pvrom::kLoadAddress;
  h.init_offset = 0x100;
  h.get_reloc_offset = 0x110;
  h.call_table_offset = 0x40;
  h.call_count = 2;
  h.calling_convention = pvrom::kConvRegparm3;
  std::strcpy(h.version_name, "rom-test");
  std::memcpy(img.data(), &h, sizeof h);
  pvrom::CallEntry rows[2] = {{0, pvrom::kRelocCallRel, 0, 0x120}, {33, pvrom::kRelocJumpRel, 0, 0x130}};
  std::memcpy(img.data() + 0x40, rows, sizeof rows);
  fix_checksum(img);
  return img;
}

std::string parse_error(const std::vector<uint8_t>& img) {
  std::string err;
  auto rom = parse_rom_image(img, &err);
  return rom ? "" : err;
}

TEST(RomImage, SyntheticImageIsValid) {
  auto img = synthetic_image();
  std::string err;
  auto rom = parse_rom_image(img, &err);
  ASSERT_TRUE(rom) << err;
  EXPECT_EQ(rom->api(), "3.2");
  EXPECT_EQ(rom->version_name, "rom-test");
  EXPECT_EQ(rom->calling_convention(), pvrom::kConvRegparm3);
  ASSERT_EQ(rom->calls.size(), 2u);
  ASSERT_NE(rom->find_call(33), nullptr);
  EXPECT_EQ(rom->find_call(33)->reloc, pvrom::kRelocJumpRel);
  EXPECT_EQ(rom->find_call(35), nullptr);
}

TEST(RomImage, EveryBuiltRomValidatesAndMatchesItsVersionJson) {
  for (const char* name : kVersions) {
    SCOPED_TRACE(name);
    std::string err;
    auto rom = load_rom_image(image_path(name), &err);
    ASSERT_TRUE(rom) << err;
    JsonError jerr;
    auto v = load_hypervisor_version(version_dir(name), &jerr);
    ASSERT_TRUE(v) << jerr.to_string();
    EXPECT_EQ(rom->version_name, name);
    EXPECT_EQ(check_rom_matches_version(*rom, *v), std::vector<std::string>{});
    EXPECT_EQ(rom->size % 512, 0u);
  }
}

TEST(RomImage, VersionsDifferAsTheContractSays) {
  std::string err;
  auto r10 = load_rom_image(image_path("rom-1.0"), &err);
  auto r112 = load_rom_image(image_path("rom-1.12"), &err);
  auto r20 = load_rom_image(image_path("rom-2.0"), &err);
  ASSERT_TRUE(r10 && r112 && r20) << err;
  EXPECT_EQ(r10->find_call(pvrom::kCallIret)->reloc, pvrom::kRelocJumpRel);
  EXPECT_EQ(r112->find_call(pvrom::kCallIret)->reloc, pvrom::kRelocCallRel);
  EXPECT_EQ(r10->find_call(pvrom::kCallSetAlarm), nullptr);
  EXPECT_EQ(r20->api(), "4.0");
  EXPECT_EQ(r20->calling_convention(), pvrom::kConvCdecl);
  EXPECT_EQ(r20->find_call(pvrom::kCallHalt), nullptr);
  EXPECT_EQ(r20->find_call(pvrom::kCallGetWallclockTime), nullptr);
  EXPECT_NE(r20->find_call(pvrom::kCallGetCycleCounter4), nullptr);
}

TEST(RomImage, BadChecksum) {
  auto img = synthetic_image();
  img[300] ^= 0x01;
  EXPECT_EQ(parse_error(img), "bad checksum (sum 0x1)");
}

TEST(RomImage, Truncated) {
  auto img = synthetic_image();
  img.resize(300);
  EXPECT_NE(parse_error(img).find("length mismatch"), std::string::npos);
  img.resize(10);
  EXPECT_NE(parse_error(img).find("truncated"), std::string::npos);
  EXPECT_NE(parse_error({}).find("truncated"), std::string::npos);
}

TEST(RomImage, TooLarge) {
  std::vector<uint8_t> img(pvrom::kMaxImageSize + 512, 0);
  EXPECT_NE(parse_error(img).find("too large"), std::string::npos);
}

TEST(RomImage, BadSignature) {
  auto img = synthetic_image();
  header(img)->pvm_signature = 0x12345678;
  fix_checksum(img);
  EXPECT_NE(parse_error(img).find("bad signature"), std::string::npos);
  img = synthetic_image();
  header(img)->rom_signature = 0x55AA;
  fix_checksum(img);
  EXPECT_NE(parse_error(img).find("bad signature"), std::string::npos);
}

TEST(RomImage, UnknownApiMajor) {
  auto img = synthetic_image();
  header(img)->api_major = 9;
  fix_checksum(img);
  EXPECT_EQ(parse_error(img), "unknown API major 9 (API 9.2)");
}

TEST(RomImage, BadHeaderSizeAndLoadAddress) {
  auto img = synthetic_image();
  header(img)->header_size = 60;
  fix_checksum(img);
  EXPECT_NE(parse_error(img).find("bad header size"), std::string::npos);
  img = synthetic_image();
  header(img)->load_address = 0x100000;
  fix_checksum(img);
  EXPECT_NE(parse_error(img).find("bad load address"), std::string::npos);
}

TEST(RomImage, BadOffsets) {
  auto img = synthetic_image();
  header(img)->init_offset = 512;
  fix_checksum(img);
  EXPECT_NE(parse_error(img).find("bad init offset"), std::string::npos);
  img = synthetic_image();
  header(img)->get_reloc_offset = 4;  // inside the header
  fix_checksum(img);
  EXPECT_NE(parse_error(img).find("bad get_reloc offset"), std::string::npos);
  img = synthetic_image();
  header(img)->call_count = 0x20000000;  // overflows 32 bits when multiplied naively
  fix_checksum(img);
  EXPECT_NE(parse_error(img).find("bad call table"), std::string::npos);
  img = synthetic_image();
  reinterpret_cast<pvrom::CallEntry*>(img.data() + 0x40)->offset = 4096;
  fix_checksum(img);
  EXPECT_NE(parse_error(img).find("bad offset"), std::string::npos);
}

TEST(RomImage, BadCallTableRows) {
  auto img = synthetic_image();
  reinterpret_cast<pvrom::CallEntry*>(img.data() + 0x40)->reloc = 7;
  fix_checksum(img);
  EXPECT_NE(parse_error(img).find("bad reloc"), std::string::npos);
  img = synthetic_image();
  reinterpret_cast<pvrom::CallEntry*>(img.data() + 0x48)->number = 0;
  fix_checksum(img);
  EXPECT_NE(parse_error(img).find("listed twice"), std::string::npos);
}

TEST(RomImage, BuiltBadImagesAreRefusedForTheirReason) {
  std::string err;
  EXPECT_FALSE(load_rom_image(image_path("bad-checksum"), &err));
  EXPECT_NE(err.find("bad checksum"), std::string::npos) << err;
  EXPECT_FALSE(load_rom_image(image_path("bad-truncated"), &err));
  EXPECT_NE(err.find("length mismatch"), std::string::npos) << err;
  EXPECT_FALSE(load_rom_image(image_path("bad-api9"), &err));
  EXPECT_NE(err.find("unknown API major 9"), std::string::npos) << err;
}

TEST(RomImage, MissingFileNamesThePath) {
  std::string err;
  EXPECT_FALSE(load_rom_image("/nonexistent/x.rom", &err));
  EXPECT_NE(err.find("/nonexistent/x.rom"), std::string::npos);
}

TEST(RomImage, CheckReportsEveryDisagreement) {
  std::string err;
  auto rom = load_rom_image(image_path("rom-1.12"), &err);
  ASSERT_TRUE(rom) << err;
  JsonError jerr;
  auto v = load_hypervisor_version(version_dir("rom-1.13"), &jerr);
  ASSERT_TRUE(v) << jerr.to_string();
  auto diffs = check_rom_matches_version(*rom, *v);
  auto has = [&](const std::string& s) {
    for (const auto& d : diffs)
      if (d.find(s) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has("name:"));
  EXPECT_TRUE(has("api: ROM says 3.2, version.json 3.3"));
  EXPECT_TRUE(has("features:"));
  EXPECT_TRUE(has("call 75 (GetFeatures): in version.json, not in the ROM"));
}

}  // namespace
}  // namespace pvm
