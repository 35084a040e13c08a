// The guest -> harness protocol (docs/contracts.md "Serial protocol"): one line per record,
// "@pvm " then a JSON object. Record builds the object field by field and escapes every
// string, so no guest text can break a line or the JSON.
//
//   Record r("probe");
//   r.str("id", "irq.iret").str("status", "pass").str("detail", text);
//   r.emit();
#pragma once

#include <stddef.h>
#include <stdint.h>

class Record {
 public:
  /// Starts {"ev":"<ev>"; with version=true, {"v":1,"ev":...} (only "hello" carries it).
  explicit Record(const char* ev, bool version = false);
  Record& str(const char* key, const char* value);
  Record& num(const char* key, int64_t value);
  Record& hex(const char* key, uint32_t value, int digits);  ///< "0x%0<digits>x" as a string
  /// Opens a nested object / array under key; close with end_object / end_array.
  Record& begin_object(const char* key);
  Record& end_object();
  Record& begin_array(const char* key);
  Record& item(const char* value);  ///< a string element of the open array
  Record& end_array();
  /// Closes the object and writes the line to the console.
  void emit();

 private:
  void comma();
  void raw(const char* s);
  void quoted(const char* s);
  void key(const char* k);

  static constexpr size_t kCap = 1536;
  char buf_[kCap];
  size_t len_ = 0;
  bool first_ = true;  ///< no comma before the next member/element
};

/// Free console text (kept in the log by the harness, never parsed).
void console(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
