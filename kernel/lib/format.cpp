#include "lib/format.h"

#include <stdint.h>

namespace {

struct Out {
  char* buf;
  size_t cap;
  size_t len = 0;
  void put(char c) {
    if (len + 1 < cap) buf[len++] = c;
  }
};

void put_unsigned(Out& o, uint64_t v, unsigned base, bool upper, int width, char pad, bool negative) {
  char tmp[24];
  int n = 0;
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  do {
    tmp[n++] = digits[v % base];
    v /= base;
  } while (v);
  int total = n + (negative ? 1 : 0);
  if (negative && pad == '0') o.put('-');
  for (; total < width; ++total) o.put(pad);
  if (negative && pad != '0') o.put('-');
  while (n) o.put(tmp[--n]);
}

}  // namespace

size_t vformat(char* buf, size_t cap, const char* fmt, va_list ap) {
  Out o{buf, cap};
  for (const char* p = fmt; *p; ++p) {
    if (*p != '%') {
      o.put(*p);
      continue;
    }
    ++p;
    char pad = ' ';
    if (*p == '0') pad = '0', ++p;
    int width = 0;
    while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
    int longs = 0;
    while (*p == 'l') ++longs, ++p;
    switch (*p) {
      case 's': {
        const char* s = va_arg(ap, const char*);
        if (!s) s = "(null)";
        int n = 0;
        while (s[n]) ++n;
        for (; n < width; ++n) o.put(' ');
        while (*s) o.put(*s++);
        break;
      }
      case 'c':
        o.put(static_cast<char>(va_arg(ap, int)));
        break;
      case 'd': {
        int64_t v = longs >= 2 ? va_arg(ap, long long) : va_arg(ap, long);
        bool neg = v < 0;
        put_unsigned(o, neg ? uint64_t(0) - uint64_t(v) : uint64_t(v), 10, false, width, pad, neg);
        break;
      }
      case 'u':
      case 'x':
      case 'X': {
        uint64_t v = longs >= 2 ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned long);
        put_unsigned(o, v, *p == 'u' ? 10 : 16, *p == 'X', width, pad, false);
        break;
      }
      case '%':
        o.put('%');
        break;
      case '\0':
        --p;
        break;
      default:
        o.put('%');
        o.put(*p);
    }
  }
  if (cap) buf[o.len] = '\0';
  return o.len;
}

size_t format(char* buf, size_t cap, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t n = vformat(buf, cap, fmt, ap);
  va_end(ap);
  return n;
}
