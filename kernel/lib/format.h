// A small printf: %s %c %d %u %x %X %%, with '0' flag, width and the 'l'/'ll' length
// modifiers ('ll' for 64-bit values). Always NUL-terminates; truncates silently.
#pragma once

#include <stdarg.h>
#include <stddef.h>

/// Formats into buf[0..cap), returns the length written (excluding the NUL).
size_t format(char* buf, size_t cap, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
size_t vformat(char* buf, size_t cap, const char* fmt, va_list ap);

/// A fixed-capacity text buffer for composing probe details piece by piece.
template <size_t N>
struct Text {
  char buf[N] = {};
  size_t len = 0;
  Text& add(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    va_list ap;
    va_start(ap, fmt);
    len += vformat(buf + len, N - len, fmt, ap);
    va_end(ap);
    return *this;
  }
  const char* c_str() const { return buf; }
};
