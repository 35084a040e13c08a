#include "lib/panic.h"

#include <pvrom/abi.h>
#include <stdarg.h>

#include "arch/x86.h"
#include "lib/format.h"
#include "lib/record.h"

void exit_native(uint32_t code) {
  x86::cli();
  x86::outb(pvrom::kDebugExitPort, static_cast<uint8_t>(code));
  for (;;) x86::hlt();  // only without isa-debug-exit: the harness sees no exit and times out
}

void panic_at(const char* file, int line, const char* fmt, ...) {
  x86::cli();
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vformat(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char detail[384];
  format(detail, sizeof detail, "%s:%d: %s", file, line, msg);
  Record("panic").str("detail", detail).emit();
  exit_native(pvrom::kExitCrash);
}
