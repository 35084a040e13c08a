// pvrom::check_header: abi.h's checks 1-7, as both the kernel and the host run them.
#include "pvrom/header_check.h"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

namespace {

using pvrom::HeaderError;

pvrom::RomHeader* header(std::vector<uint8_t>& img) { return reinterpret_cast<pvrom::RomHeader*>(img.data()); }

void fix_checksum(std::vector<uint8_t>& img) {
  header(img)->checksum_adjust = 0;
  uint8_t sum = 0;
  for (uint8_t b : img) sum = static_cast<uint8_t>(sum + b);
  header(img)->checksum_adjust = static_cast<uint8_t>(-sum);
}

std::vector<uint8_t> image() {
  std::vector<uint8_t> img(512, 0x90);
  pvrom::RomHeader h{};
  h.rom_signature = pvrom::kRomSignature;
  h.rom_length = 1;
  h.pvm_signature = pvrom::kPvmSignature;
  h.api_major = 3;
  h.api_minor = 1;
  h.header_size = sizeof h;
  h.load_address = pvrom::kLoadAddress;
  h.init_offset = 0x100;
  h.get_reloc_offset = 0x110;
  h.call_table_offset = 0x40;
  h.call_count = 1;
  h.calling_convention = pvrom::kConvRegparm3;
  std::memcpy(img.data(), &h, sizeof h);
  fix_checksum(img);
  return img;
}

pvrom::HeaderCheck check(const std::vector<uint8_t>& img, uint32_t majors = pvrom::kKnownApiMajors) {
  return pvrom::check_header(img.data(), static_cast<uint32_t>(img.size()), majors);
}

TEST(HeaderCheck, AcceptsAValidImage) {
  auto c = check(image());
  EXPECT_TRUE(c.ok());
  EXPECT_TRUE(c.header_readable());
  EXPECT_EQ(c.header.api_minor, 1);
}

TEST(HeaderCheck, SizeFirstWithoutReadingTheImage) {
  EXPECT_EQ(pvrom::check_header(nullptr, 10, pvrom::kKnownApiMajors).error, HeaderError::kTooSmall);
  auto c = pvrom::check_header(nullptr, pvrom::kMaxImageSize + 1, pvrom::kKnownApiMajors);
  EXPECT_EQ(c.error, HeaderError::kTooLarge);
  EXPECT_EQ(c.value, pvrom::kMaxImageSize + 1);
  EXPECT_FALSE(c.header_readable());
}

TEST(HeaderCheck, InAbiOrder) {
  auto img = image();
  header(img)->pvm_signature = 1;  // and a bad checksum: the signature is checked first
  EXPECT_EQ(check(img).error, HeaderError::kBadSignature);
  EXPECT_FALSE(check(img).header_readable());

  img = image();
  img.resize(1024);
  auto c = check(img);
  EXPECT_EQ(c.error, HeaderError::kLengthMismatch);
  EXPECT_EQ(c.value, 1024u);
  EXPECT_TRUE(c.header_readable());

  img = image();
  img[300] ^= 0x04;
  c = check(img);
  EXPECT_EQ(c.error, HeaderError::kBadChecksum);
  EXPECT_EQ(c.value, 0x04u);
}

TEST(HeaderCheck, FieldsAfterTheChecksum) {
  struct Case {
    void (*damage)(pvrom::RomHeader&);
    HeaderError want;
  };
  const Case cases[] = {
      {[](pvrom::RomHeader& h) { h.header_size = 60; }, HeaderError::kBadHeaderSize},
      {[](pvrom::RomHeader& h) { h.load_address = 0; }, HeaderError::kBadLoadAddress},
      {[](pvrom::RomHeader& h) { h.init_offset = 512; }, HeaderError::kBadInitOffset},
      {[](pvrom::RomHeader& h) { h.get_reloc_offset = 4; }, HeaderError::kBadGetRelocOffset},
      {[](pvrom::RomHeader& h) { h.call_table_offset = 8; }, HeaderError::kBadCallTable},  // inside the header
      {[](pvrom::RomHeader& h) { h.call_count = 0x20000000; }, HeaderError::kBadCallTable},  // 32-bit overflow
      {[](pvrom::RomHeader& h) { h.call_table_offset = 600; h.call_count = 0; }, HeaderError::kBadCallTable},
      {[](pvrom::RomHeader& h) { h.api_major = 9; }, HeaderError::kApiMajorNotSpoken},
      {[](pvrom::RomHeader& h) { h.api_major = 200; }, HeaderError::kApiMajorNotSpoken},
  };
  for (const Case& k : cases) {
    auto img = image();
    k.damage(*header(img));
    fix_checksum(img);
    EXPECT_EQ(check(img).error, k.want) << int(k.want);
  }
}

TEST(HeaderCheck, TheReaderSaysWhichMajorsItSpeaks) {
  auto img = image();
  EXPECT_EQ(check(img, pvrom::api_major_bit(4)).error, HeaderError::kApiMajorNotSpoken);
  EXPECT_TRUE(check(img, pvrom::api_major_bit(3)).ok());
  EXPECT_EQ(pvrom::convention_of_major(3), pvrom::kConvRegparm3);
  EXPECT_EQ(pvrom::convention_of_major(4), pvrom::kConvCdecl);
}

}  // namespace
