// The workaround search (DESIGN §5: "how to work around it"): for a cell that broke, the
// variants of it a user could boot instead, in the order they are tried. A reference kernel's
// are its pv.native= masks (Vargas' switch: keep op groups native). A real kernel's (kernel/linux/)
// are, on a Xen column, the other dom0 mode (PVH <-> PV), then the Linux switches its
// descriptor lists (noxsave, clocksource=tsc, ...), each added to its command line.
#pragma once

#include <string>
#include <vector>

#include "cell.h"

namespace pvm {

class World;

/// One variant of a cell: what a report calls it ("pv.native=timer", "dom0=pv", "noxsave") and
/// the cell to boot.
struct WorkaroundTry {
  std::string label;
  CellSpec spec;
};

/// The variants of `spec` worth trying, in order (none for a test guest).
std::vector<WorkaroundTry> workaround_tries(const World& world, const CellSpec& spec);

/// The mask list tried by the workaround search: each op group alone, then all.
std::vector<std::string> workaround_masks();

/// "pv.native=mmu" + "pv.native=timer" -> "pv.native=mmu,timer" (other words kept); "all" wins.
std::string with_mask(const std::string& cmdline, const std::string& mask);

}  // namespace pvm
