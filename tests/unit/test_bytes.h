// Little-endian byte building for the unit tests that forge binary images (ELF notes, bzImages).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pvm::test {

/// Writes the low `n` bytes of `v` at `at` in `b`, least significant first.
inline void put_le(std::string& b, size_t at, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b[at + i] = static_cast<char>(v >> (8 * i) & 0xff);
}

/// The low `n` bytes of `v`, least significant first.
inline std::string le(uint64_t v, int n) {
  std::string s(n, '\0');
  put_le(s, 0, v, n);
  return s;
}

}  // namespace pvm::test
