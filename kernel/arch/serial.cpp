#include "arch/serial.h"

#include "arch/x86.h"
#include "lib/string.h"
#include "pv/xen.h"

namespace serial {
namespace {

constexpr uint16_t kCom1 = 0x3f8;
constexpr uint16_t kData = kCom1 + 0, kIrqEnable = kCom1 + 1, kFifo = kCom1 + 2, kLineCtl = kCom1 + 3,
                   kModemCtl = kCom1 + 4, kLineStatus = kCom1 + 5;
constexpr uint8_t kTxEmpty = 0x20;

}  // namespace

void init() {
  x86::outb(kIrqEnable, 0x00);
  x86::outb(kLineCtl, 0x80);  // DLAB: divisor follows
  x86::outb(kData, 0x01);     // 115200 baud
  x86::outb(kIrqEnable, 0x00);
  x86::outb(kLineCtl, 0x03);  // 8N1
  x86::outb(kFifo, 0xC7);
  x86::outb(kModemCtl, 0x03);
}

// Under Xen (PVH dom0) COM1 belongs to Xen: the bytes go through console_io, which Xen writes
// to its console (COM1) as they are, without a prefix, and without splitting long lines.
void put(char c) {
  if (xen::active()) return xen::console_write(&c, 1);
  for (int spins = 0; spins < 100000 && !(x86::inb(kLineStatus) & kTxEmpty); ++spins) x86::pause();
  x86::outb(kData, static_cast<uint8_t>(c));
}

void write(const char* s) {
  if (xen::active()) return xen::console_write(s, strlen(s));
  while (*s) {
    if (*s == '\n') put('\r');
    put(*s++);
  }
}

}  // namespace serial
