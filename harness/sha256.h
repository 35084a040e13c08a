// SHA-256 (FIPS 180-4), small enough not to pull in a crypto library: matrix digests, cache
// keys, and the digests of the images a cell boots.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pvm {

/// A digest fed in pieces: a vmlinux of 60 MiB is hashed where it lies (mapped_file.h), not
/// copied into one string first.
class Sha256 {
 public:
  Sha256();
  void update(std::string_view data);
  /// Lowercase hex of the digest of everything fed; the object is spent.
  std::string hex();

 private:
  void block(const unsigned char* p);
  uint32_t h_[8];
  unsigned char buf_[64];
  size_t buffered_ = 0;
  uint64_t total_ = 0;
};

/// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace pvm
