// The ROM header check of abi.h ("Validation", steps 1-7), once, for both readers: the kernel
// (kernel/pv/rom.cpp, on the image it loaded) and the host (harness/rom_image.cpp, on a file).
// It returns what failed and the offending value; each side words its own message.
// Freestanding like abi.h: no library, valid hosted and -ffreestanding -m32.
#pragma once

#include <stdint.h>

#include "pvrom/abi.h"

namespace pvrom {

/// The first check an image fails, in abi.h's order.
enum class HeaderError : uint8_t {
  kNone,
  kTooSmall,          ///< 1. size < sizeof(RomHeader); value: the size
  kTooLarge,          ///< 1. size > kMaxImageSize; value: the size
  kBadSignature,      ///< 2. rom_signature or pvm_signature
  kLengthMismatch,    ///< 3. rom_length * 512 != size; value: the size
  kBadChecksum,       ///< 4. byte sum != 0; value: the sum
  kBadHeaderSize,     ///< 5. header_size != sizeof(RomHeader)
  kBadLoadAddress,    ///< 5. load_address != kLoadAddress
  kBadInitOffset,     ///< 6. init_offset outside [sizeof(RomHeader), size)
  kBadGetRelocOffset, ///< 6. get_reloc_offset outside [sizeof(RomHeader), size)
  kBadCallTable,      ///< 6. call table outside [sizeof(RomHeader), size]
  kApiMajorNotSpoken, ///< 7. api_major not in the reader's set
};

/// The outcome: `header` is a copy of the image's first bytes once the size check passed
/// (fields may be read for the message from kBadSignature on).
struct HeaderCheck {
  HeaderError error = HeaderError::kNone;
  uint32_t value = 0;  ///< the size (1, 3) or the byte sum (4); other errors name header fields
  RomHeader header{};

  bool ok() const { return error == HeaderError::kNone; }
  /// Whether `header` holds the image's header (the size and signatures were right).
  bool header_readable() const {
    return error != HeaderError::kTooSmall && error != HeaderError::kTooLarge && error != HeaderError::kBadSignature;
  }
};

/// Bit of `major` in a set of API majors (majors >= 32 are in no set).
constexpr uint32_t api_major_bit(uint32_t major) { return major < 32 ? 1u << major : 0u; }
/// The API majors any reader may meet: 3 and 4.
inline constexpr uint32_t kKnownApiMajors = api_major_bit(3) | api_major_bit(4);

/// The calling convention API `major` defines: regparm(3) for 3.x, cdecl from 4.
constexpr uint32_t convention_of_major(uint32_t major) { return major >= 4 ? kConvCdecl : kConvRegparm3; }

/// abi.h's checks 1-7 on `size` bytes at `image`; `spoken_majors` is the set of API majors
/// the reader accepts (api_major_bit). The image is not read when the size check fails.
inline HeaderCheck check_header(const uint8_t* image, uint32_t size, uint32_t spoken_majors) {
  HeaderCheck c;
  auto fail = [&c](HeaderError e, uint32_t value = 0) {
    c.error = e;
    c.value = value;
    return c;
  };
  // 1. size
  if (size < sizeof(RomHeader)) return fail(HeaderError::kTooSmall, size);
  if (size > kMaxImageSize) return fail(HeaderError::kTooLarge, size);
  auto* dst = reinterpret_cast<unsigned char*>(&c.header);
  for (uint32_t i = 0; i < sizeof(RomHeader); ++i) dst[i] = image[i];
  const RomHeader& h = c.header;
  // 2. signatures
  if (h.rom_signature != kRomSignature || h.pvm_signature != kPvmSignature) return fail(HeaderError::kBadSignature);
  // 3. length in 512-byte blocks
  if (uint32_t(h.rom_length) * 512 != size) return fail(HeaderError::kLengthMismatch, size);
  // 4. checksum
  uint8_t sum = 0;
  for (uint32_t i = 0; i < size; ++i) sum = static_cast<uint8_t>(sum + image[i]);
  if (sum != 0) return fail(HeaderError::kBadChecksum, sum);
  // 5. header size, load address
  if (h.header_size != sizeof(RomHeader)) return fail(HeaderError::kBadHeaderSize);
  if (h.load_address != kLoadAddress) return fail(HeaderError::kBadLoadAddress);
  // 6. offsets inside the image
  auto entry_inside = [size](uint32_t off) { return off >= sizeof(RomHeader) && off < size; };
  if (!entry_inside(h.init_offset)) return fail(HeaderError::kBadInitOffset);
  if (!entry_inside(h.get_reloc_offset)) return fail(HeaderError::kBadGetRelocOffset);
  const uint64_t table_end = uint64_t(h.call_table_offset) + uint64_t(h.call_count) * sizeof(CallEntry);
  if (h.call_table_offset < sizeof(RomHeader) || table_end > size) return fail(HeaderError::kBadCallTable);
  // 7. API major
  if (!(spoken_majors & api_major_bit(h.api_major))) return fail(HeaderError::kApiMajorNotSpoken);
  return c;
}

}  // namespace pvrom
