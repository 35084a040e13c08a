// The bind stage: asks the ROM's get_reloc for every call this release uses and fills the
// pv-ops table accordingly (pv/pvops.h). The kernel fills the table rather than patching call
// sites; kernel/README.md says why.
#pragma once

#include <stdint.h>

#include "pv/cmdline.h"
#include "pv/pvops.h"
#include "pv/rom.h"

namespace pv {

struct Binding {
  bool rom[kGroupCount] = {};       ///< group bound "rom": at least one of its ops goes to the ROM
  bool overridden[kGroupCount] = {};///< kept native by pv.native=
  int calls_bound = 0;              ///< ops filled from the ROM (CALL_REL, JUMP_REL, NOP)
  uint8_t iret_reloc = pvrom::kRelocNone;
  char problems[256] = {};          ///< get_reloc answers the kernel could not honour, or that
                                    ///< disagree with the header's call table ("" if none)
  char notes[160] = {};             ///< binding facts worth a line (NOPs, API 4 renumbering)
};

/// Fills the pv-ops table from an accepted ROM (everything native otherwise).
void bind(const Rom& rom, const CommandLine& cmdline, Binding& out);

}  // namespace pv
