// boot -> parse -> classify -> log: the one code path every cell takes.
#include "run_cell.h"

#include <filesystem>
#include <fstream>

#include "classify.h"

namespace pvm {

namespace {

/// Writes the serial log; returns "" or why it could not.
std::string write_log(const std::string& path, const BootOutcome& boot) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return "cannot write " + path;
  out << boot.serial;
  if (boot.serial_truncated)
    out << "\n[pvmatrix: serial output cut at " << boot.serial.size() << " of " << boot.serial_bytes << " bytes]\n";
  if (!boot.stderr_text.empty()) out << "\n[pvmatrix: QEMU stderr]\n" << boot.stderr_text;
  out.close();
  return out ? std::string() : "cannot write " + path;
}

}  // namespace

CellResult run_cell(Launcher& launcher, const CellSpec& spec, const RunCellOptions& options) {
  // Requirements missing on this host, or a backend that cannot boot the cell: SKIP, no boot.
  if (std::string skip = spec.skip_reason.empty() ? launcher.cannot_boot(spec) : spec.skip_reason; !skip.empty()) {
    BootOutcome none;
    CellResult r = classify(spec, none);
    r.status = r.outcome = Status::Skip;
    r.reason = skip;
    r.evidence = skip;
    r.attempts.clear();
    r.attempts.push_back({Status::Skip, 0, std::nullopt, std::nullopt, skip, std::nullopt, std::nullopt});
    r.backend = launcher.name();
    return r;
  }
  BootOutcome boot = launcher.boot(spec);
  CellResult result = classify(spec, boot);
  result.backend = launcher.name();
  if (!options.log_file.empty() && boot.started) {
    std::string err = write_log(options.log_file, boot);
    result.log_path = options.log_field.empty() ? options.log_file : options.log_field;
    if (!err.empty()) {
      result.log_path.clear();
      result.evidence += "[harness: " + err + "]\n";
    }
  }
  return result;
}

}  // namespace pvm
