// The kernel command line. QEMU's multiboot loader passes "<image path> <-append text>";
// the first token is the image path and is skipped.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace pv {

struct CommandLine {
  char args[256] = {};        ///< everything after the image path ("pv.native=timer")
  uint32_t native_groups = 0; ///< bit per pv::Group kept native by pv.native=
  char unknown[128] = {};     ///< group names pv.native= did not know, comma-separated
};

/// Parses the multiboot command line (may be null).
void parse_command_line(const char* multiboot_cmdline, CommandLine& out);

}  // namespace pv
