#include "arch/pit.h"

#include "arch/x86.h"

namespace pit {
namespace {

constexpr uint16_t kChannel0 = 0x40, kCommand = 0x43;
constexpr uint8_t kCh0LoHiMode0 = 0x30, kCh0LoHiMode2 = 0x34;

void load(uint8_t command, uint32_t count) {
  x86::outb(kCommand, command);
  x86::outb(kChannel0, static_cast<uint8_t>(count));
  x86::outb(kChannel0, static_cast<uint8_t>(count >> 8));  // 65536 is written as 0
}

}  // namespace

void start_periodic(uint32_t count) { load(kCh0LoHiMode2, count); }
void start_oneshot(uint32_t count) { load(kCh0LoHiMode0, count); }
void stop() { x86::outb(kCommand, kCh0LoHiMode0); }

}  // namespace pit
