#include "arch/pic.h"

#include "arch/cpu.h"
#include "arch/x86.h"

namespace pic {
namespace {

constexpr uint16_t kMasterCmd = 0x20, kMasterData = 0x21, kSlaveCmd = 0xA0, kSlaveData = 0xA1;
constexpr uint8_t kEoi = 0x20, kReadIsr = 0x0B;
constexpr uint8_t kCascadeLine = 2;

constinit IrqHandler handlers[16] = {};
constinit uint16_t masked = 0xFFFF;

void write_masks() {
  x86::outb(kMasterData, static_cast<uint8_t>(masked));
  x86::outb(kSlaveData, static_cast<uint8_t>(masked >> 8));
}

uint16_t in_service() {
  x86::outb(kMasterCmd, kReadIsr);
  x86::outb(kSlaveCmd, kReadIsr);
  return static_cast<uint16_t>(x86::inb(kMasterCmd) | (x86::inb(kSlaveCmd) << 8));
}

void dispatch(cpu::Frame& f) {
  uint8_t line = static_cast<uint8_t>(f.vector - kVectorBase);
  // IRQ 7 / 15 without their in-service bit are spurious: no handler, no EOI (except the
  // cascade's EOI to the master for a spurious slave interrupt).
  if ((line == 7 || line == 15) && !(in_service() & (1u << line))) {
    if (line == 15) x86::outb(kMasterCmd, kEoi);
    return;
  }
  if (handlers[line]) handlers[line]();
  if (line >= 8) x86::outb(kSlaveCmd, kEoi);
  x86::outb(kMasterCmd, kEoi);
}

}  // namespace

void init() {
  x86::outb(kMasterCmd, 0x11);  // ICW1: edge, cascade, ICW4 follows
  x86::io_delay();
  x86::outb(kSlaveCmd, 0x11);
  x86::io_delay();
  x86::outb(kMasterData, kVectorBase);  // ICW2: vector offsets
  x86::io_delay();
  x86::outb(kSlaveData, kVectorBase + 8);
  x86::io_delay();
  x86::outb(kMasterData, 1u << kCascadeLine);  // ICW3: slave on line 2
  x86::io_delay();
  x86::outb(kSlaveData, kCascadeLine);
  x86::io_delay();
  x86::outb(kMasterData, 0x01);  // ICW4: 8086 mode
  x86::io_delay();
  x86::outb(kSlaveData, 0x01);
  x86::io_delay();
  masked = static_cast<uint16_t>(0xFFFF & ~(1u << kCascadeLine));
  write_masks();
  for (uint8_t line = 0; line < 16; ++line) cpu::set_handler(kVectorBase + line, dispatch);
}

void set_handler(uint8_t line, IrqHandler h) {
  handlers[line] = h;
  unmask(line);
}

void mask(uint8_t line) {
  masked = static_cast<uint16_t>(masked | (1u << line));
  write_masks();
}

void unmask(uint8_t line) {
  masked = static_cast<uint16_t>(masked & ~(1u << line));
  write_masks();
}

}  // namespace pic
