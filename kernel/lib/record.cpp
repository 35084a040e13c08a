#include "lib/record.h"

#include <stdarg.h>

#include "arch/serial.h"
#include "lib/format.h"

Record::Record(const char* ev, bool version) {
  raw("@pvm {");
  if (version) num("v", 1);
  str("ev", ev);
}

void Record::raw(const char* s) {
  // 3 bytes stay free for the closing "}\n" (emit), so an over-long record is cut, never unterminated.
  while (*s && len_ + 4 < kCap) buf_[len_++] = *s++;
  buf_[len_] = '\0';
}

void Record::comma() {
  if (!first_) raw(",");
  first_ = false;
}

void Record::quoted(const char* s) {
  raw("\"");
  for (; *s; ++s) {
    unsigned char c = static_cast<unsigned char>(*s);
    char esc[8];
    if (c == '"') {
      raw("\\\"");
    } else if (c == '\\') {
      raw("\\\\");
    } else if (c == '\n') {
      raw("\\n");
    } else if (c == '\r') {
      raw("\\r");
    } else if (c == '\t') {
      raw("\\t");
    } else if (c < 0x20 || c >= 0x7f) {
      // Keep the line 7-bit: a byte that is not printable ASCII becomes \u00XX.
      format(esc, sizeof esc, "\\u%04x", c);
      raw(esc);
    } else {
      esc[0] = static_cast<char>(c);
      esc[1] = '\0';
      raw(esc);
    }
  }
  raw("\"");
}

void Record::key(const char* k) {
  comma();
  quoted(k);
  raw(":");
}

Record& Record::str(const char* k, const char* value) {
  key(k);
  quoted(value ? value : "");
  return *this;
}

Record& Record::num(const char* k, int64_t value) {
  key(k);
  char tmp[24];
  format(tmp, sizeof tmp, "%lld", static_cast<long long>(value));
  raw(tmp);
  return *this;
}

Record& Record::hex(const char* k, uint32_t value, int digits) {
  char tmp[16];
  if (digits == 8)
    format(tmp, sizeof tmp, "0x%08x", static_cast<unsigned>(value));
  else
    format(tmp, sizeof tmp, "0x%x", static_cast<unsigned>(value));
  return str(k, tmp);
}

Record& Record::begin_object(const char* k) {
  key(k);
  raw("{");
  first_ = true;
  return *this;
}

Record& Record::end_object() {
  raw("}");
  first_ = false;
  return *this;
}

Record& Record::begin_array(const char* k) {
  key(k);
  raw("[");
  first_ = true;
  return *this;
}

Record& Record::item(const char* value) {
  comma();
  quoted(value);
  return *this;
}

Record& Record::end_array() {
  raw("]");
  first_ = false;
  return *this;
}

void Record::emit() {
  buf_[len_++] = '}';
  buf_[len_++] = '\n';
  buf_[len_] = '\0';
  serial::write(buf_);
}

void console(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vformat(buf, sizeof buf, fmt, ap);
  va_end(ap);
  serial::write(buf);
}
