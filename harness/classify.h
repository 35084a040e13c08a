// Classification: a pure function from what a boot left behind to a cell's status,
// reason, evidence and the facts the guest reported (docs/contracts.md "Classification").
#pragma once

#include <cstddef>

#include "cell.h"
#include "launcher.h"
#include "protocol.h"

namespace pvm {

/// Evidence excerpts are cut to about this many bytes.
inline constexpr size_t kEvidenceLimit = 4096;

/// Classifies one boot of `spec`. Fills every CellResult field a boot determines
/// (status == outcome, one Attempt, reason, evidence, stage, stages, probes, binding,
/// hv info, kernel build, duration, qemu_cmdline, host); leaves expectations and the log
/// path to the caller. Applies the ordered rules of docs/contracts.md, first match wins.
CellResult classify(const CellSpec& spec, const BootOutcome& boot, const ParsedSerial& serial);

/// Convenience: parses `boot.serial` and classifies.
CellResult classify(const CellSpec& spec, const BootOutcome& boot);

}  // namespace pvm
