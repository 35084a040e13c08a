// PANIC / VERIFY (SerenityOS style): a "panic" record with file:line, exit code 2.
#pragma once

#include <stdint.h>

[[noreturn]] void panic_at(const char* file, int line, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
/// Exits QEMU through isa-debug-exit natively (never through the ROM: it may be the culprit).
[[noreturn]] void exit_native(uint32_t code);

#define PANIC(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)
#define VERIFY(expr)                                 \
  do {                                               \
    if (!(expr)) PANIC("VERIFY(%s) failed", #expr); \
  } while (0)
#define VERIFY_NOT_REACHED() PANIC("VERIFY_NOT_REACHED")
