// The metadata of a run (docs/contracts.md "Cell object and report.json"): `meta`, found out
// about the host (name, OS, QEMU and libvirt versions), the git tree and the run's parameters.
// Host probing and git live here, in the harness core; the report writers (reports/) only read
// what it found.
#pragma once

#include <string>
#include <vector>

#include "report_model.h"

namespace pvm {

/// What `collect_run_meta` needs to know that it cannot find out itself.
struct RunMetaInputs {
  std::string root;            ///< repository root (git revision and dirty flag)
  std::string qemu_binary;     ///< for `--version`
  std::string matrix_path;
  std::string matrix_name;
  std::string matrix_sha256;
  std::vector<std::string> argv;
  int parallelism = 1;
  std::string backend = "qemu";
  std::string only;            ///< --only, "" if none
  std::string shard;           ///< "K/N", "" if none
  int retries = 0;
  double timeout_s = 0;
};

/// Run metadata: host, QEMU/libvirt versions, git revision + dirty flag, matrix digest,
/// the run's parameters; started_at now (UTC, ISO 8601), ended_at unset until finish_run_meta.
RunMeta collect_run_meta(const RunMetaInputs& in);
/// Sets ended_at (now), duration_ms and what the harness cost (rusage).
void finish_run_meta(RunMeta* meta);
/// "2007-03-01T12:00:00Z" for now.
std::string utc_now_iso8601();

}  // namespace pvm
