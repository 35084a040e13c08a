// Predicted compatibility, from static information only: the kernel image's requirements
// manifest (kernel_manifest.h), the ROM binary (header + call table) and its version.json
// (for quirks), and the cell's command line (pv.native=). No boot. `pvmatrix predict` prints
// it; `pvmatrix run` records it on each cell as `predicted` and lists every disagreement
// with the boot as a finding (a bug in the kernel, the ROM, the manifest or this model).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cell.h"
#include "elf_notes.h"
#include "hypervisor_version.h"
#include "kernel_manifest.h"
#include "op_group.h"
#include "rom_image.h"

namespace pvm {

struct CellRecord;  // cell_record.h

class World;


/// The op group a ROM call serves ("cpu" ... "lazy"), nullptr for calls outside every group
/// (GetFeatures). Same under API 3 and 4 (67 and 76 are both timer).
const char* group_of_call(uint16_t number);
/// The op group a feature bit belongs to, nullptr for get_features.
const char* group_of_feature(std::string_view feature);
/// Groups kept native by the command line's `pv.native=` (union of every such token; "all"
/// is every group; unknown names are ignored, as the kernel does).
std::vector<std::string> native_groups_of(std::string_view cmdline);

/// What a cell should show, predicted statically.
struct Prediction {
  std::optional<Status> status;  ///< PASS or FAIL; nullopt when it cannot be predicted (no manifest)
  Binding binding;               ///< every op group -> "rom" | "xen" | "native"
  std::string refused;           ///< why the kernel will refuse the ROM ("" when it binds it)
  std::string probe;             ///< the first probe predicted to fail ("" when PASS)
  std::optional<int> call;       ///< the ROM call that probe names
  std::string reason;            ///< one line: why this prediction
};

/// The prediction for one cell. `rom` is nullptr when the cell has no ROM file, or when the
/// image is invalid (then `rom_error` says why, and the kernel refuses it). `version` gives
/// the quirks (nullptr: none known).
Prediction predict(const KernelManifest& manifest, const RomImage* rom, std::string_view rom_error,
                   const HypervisorVersion* version, std::string_view cmdline);

/// A xen-family cell: CRASH when the image has no Xen backend (manifest xen=none: Xen refuses
/// it), else PASS with cpu, irq and timer (when the release binds it) on Xen unless pv.native=
/// keeps them; no prediction when the manifest does not say.
Prediction predict_xen(const KernelManifest& manifest, std::string_view cmdline);

/// A real kernel's cell (kernel/linux/), from its vmlinux's Xen ELF notes (elf_notes.h) and what
/// the version's Xen can build (guest_kinds): on bare QEMU (`version` family none) it boots
/// through its PVH entry, all native; as a PVH dom0 it needs the PHYS32_ENTRY note and a Xen with
/// "pvh", and binds irq (event channels) and timer (Xen's clockevent) to Xen; as a PV dom0 it
/// needs the ENTRY note and a Xen that builds PV guests of its ELF class ("pv64"/"pv32"), and binds
/// every group to Xen. Otherwise CRASH: Xen refuses to construct dom0 (the reason names the note).
Prediction predict_real(const ElfXenInfo& notes, const HypervisorVersion& version, std::string_view dom0_mode);

/// {"status": "PASS"|"FAIL"|null, "binding": {...}|null, "probe"?, "call"?, "refused"?, "reason"}.
void to_json(nlohmann::json& j, const Prediction& p);
/// Reads what to_json wrote; lenient (a field it cannot read stays empty).
void from_json(const nlohmann::json& j, Prediction& p);

/// Predicts cells of a world, reading each kernel manifest and ROM image once.
class Predictor {
 public:
  explicit Predictor(const World& world) : world_(world) {}
  /// The prediction for a resolved cell; an unreadable manifest gives status nullopt with the
  /// error as reason.
  Prediction predict_cell(const CellSpec& spec);

 private:
  struct Rom {
    std::optional<RomImage> image;
    std::string error;
  };
  const World& world_;
  std::map<std::string, std::optional<KernelManifest>> manifests_;
  std::map<std::string, std::string> errors_;  ///< image -> why its manifest or notes cannot be read
  std::map<std::string, Rom> roms_;
  std::map<std::string, std::optional<ElfXenInfo>> notes_;  ///< real kernels: vmlinux -> its Xen notes
};

/// Sets `predicted` on every cell of `cells` whose id is one of `specs`.
void add_predictions(const World& world, const std::vector<CellSpec>& specs, std::vector<CellRecord>* cells);


}  // namespace pvm
