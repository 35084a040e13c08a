// COM1 (0x3f8), 115200 8N1, polled. The only output channel of the kernel.
#pragma once

namespace serial {

void init();
void put(char c);
void write(const char* s);

}  // namespace serial
