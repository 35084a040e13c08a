// The 8259 pair, remapped to vectors 0x20-0x2F, every line masked until a handler asks.
#pragma once

#include <stdint.h>

namespace pic {

inline constexpr uint8_t kVectorBase = 0x20;

using IrqHandler = void (*)();

void init();
/// Installs a handler for an ISA IRQ line and unmasks it; the dispatcher sends the EOI.
void set_handler(uint8_t line, IrqHandler h);
void mask(uint8_t line);
void unmask(uint8_t line);

}  // namespace pic
