// A content-addressed cache of boots: a cell whose inputs are byte-for-byte the same as a
// cell booted before is not booted again. The key is a digest of what decides what a boot
// shows — the kernel image as loaded, the ROM bytes, the platform, the command line, the
// protocol version and the launcher — never of paths, names or revisions, so the same kernel
// built in two git worktrees hits the same entry, and a commit that touches one ROM misses
// only that ROM's column.
//
// What is cached is the BootOutcome (what the launcher saw), not the classified cell: a
// cached boot is classified again by the current classifier, so a classifier fix never
// serves stale verdicts. Boots that classify as ERROR (infrastructure) or HANG (perhaps the
// host's doing) are never cached, and retries never go through the cache (see `run`).
//
// Hook for `run`/`gate`/`cell`: wrap the launcher, nothing else changes —
//     ResultCache cache(dir);  CachingLauncher cached(qemu, cache);  run_cell(cached, spec, opts);
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cell.h"
#include "launcher.h"

namespace pvm {

/// Version of the guest record protocol (DESIGN §4 "v") the cache keys on; bump it, or
/// kCacheFormat, when an old boot must not answer for a new one.
inline constexpr int kProtocolVersion = 1;
/// Version of the cache entry format.
inline constexpr int kCacheFormat = 3;  // 3: the key is made of CellInputs (what `gate` compares)

/// The section of the reference kernel that holds its build id (kernel/main.cpp).
inline constexpr const char* kBuildIdSection = ".pvm_build_id";

/// What a multiboot loader takes from an ELF32, as text to hash: the entry point and each
/// PT_LOAD segment (addresses, sizes, flags, bytes), with the bytes of the kBuildIdSection
/// section zeroed: a build id is not what the image is. Empty if `b` is not a well-formed
/// little-endian ELF32 (the caller then hashes every byte).
std::string elf32_loaded_content(const std::string& b);

/// Lowercase hex SHA-256 of what the boot loader takes from a kernel image: for an ELF, the
/// entry point and every PT_LOAD segment (address, sizes, bytes) — debug sections and their
/// build paths do not count, nor the kernel's build id; for anything else, every byte. nullopt with `*err` if unreadable.
std::optional<std::string> image_digest(const std::string& path, std::string* err);

/// Lowercase hex SHA-256 of every byte of `path`, computed once per process for the same
/// (path, size, mtime). nullopt with `*err` if unreadable.
std::optional<std::string> file_digest(const std::string& path, std::string* err);

/// What a boot of `spec` is made of, part by part, as digests: `pvmatrix list --inputs` prints
/// them and `gate` compares them between two revisions — a cell whose parts differ is one the
/// change can affect. An absent image reads "missing", an unused part "none".
struct CellInputs {
  std::string kernel;      ///< image_digest of the kernel image
  std::string initrd;      ///< the initramfs (a real kernel's guest agent)
  std::string rom;         ///< the ROM bytes
  std::string hypervisor;  ///< the hypervisor binary (family xen)
  std::string platform;    ///< machine, CPU, memory, extra QEMU args, families, QEMU, icount, hypervisor
                           ///< command line, timeout, skip reason
  std::string cmdline;     ///< the kernel command line
  /// Names of the parts that differ from `other` ("kernel", "rom", "platform", ...), in that order.
  std::vector<std::string> differences(const CellInputs& other) const;
};
CellInputs cell_inputs(const CellSpec& spec);
/// cell_inputs() of every spec, by cell id, each file and platform digested once.
std::map<std::string, CellInputs> cell_inputs_by_id(const std::vector<CellSpec>& specs);
void to_json(nlohmann::json& j, const CellInputs& in);
void from_json(const nlohmann::json& j, CellInputs& in);

/// The cache key of booting `spec` with a launcher named `launcher_name`: a hex SHA-256 over
/// its CellInputs (kernel, initramfs, ROM, hypervisor, platform, command line), the protocol
/// version and the launcher name. Cell names are not part of it. nullopt with `*err` when an
/// image cannot be read (the caller boots, uncached).
std::optional<std::string> cache_key(const CellSpec& spec, const std::string& launcher_name, std::string* err);

/// The directory: $PVMATRIX_CACHE, else $XDG_CACHE_HOME/pvmatrix, else ~/.cache/pvmatrix.
std::string default_cache_dir();

/// Boots on disk, one file per key (`<dir>/<key[0:2]>/<key>.json`), written atomically
/// (temporary file + rename), so concurrent runs and a crash leave either the whole entry or
/// none. Thread-safe. A corrupt entry reads as a miss.
class ResultCache {
 public:
  explicit ResultCache(std::string dir) : dir_(std::move(dir)) {}

  /// The boot stored under `key`, if any.
  std::optional<BootOutcome> load(const std::string& key) const;
  /// Stores `outcome` under `key`; false with `*err` if the directory cannot be written.
  bool store(const std::string& key, const BootOutcome& outcome, std::string* err) const;
  /// Where entries go.
  const std::string& dir() const { return dir_; }

 private:
  std::string path_of(const std::string& key) const;
  std::string dir_;
};

/// A Launcher that answers from a ResultCache when it can and boots through `inner` otherwise,
/// storing what it booted unless it classifies as ERROR. A cache that cannot be read or
/// written never changes a result: the cell is booted as if there were no cache.
class CachingLauncher : public Launcher {
 public:
  CachingLauncher(Launcher& inner, const ResultCache& cache) : inner_(inner), cache_(cache) {}

  BootOutcome boot(const CellSpec& spec) override;
  void kill_all() override { inner_.kill_all(); }
  std::string name() const override { return inner_.name(); }
  std::string cannot_boot(const CellSpec& spec) const override { return inner_.cannot_boot(spec); }

  /// Whether a boot with this outcome is stored and served: not ERROR (infrastructure says
  /// nothing about the inputs) and not HANG (a hang may be the host's doing — a starved QEMU, a
  /// lost timer interrupt — so it is never a baseline without a fresh boot).
  static bool remembered(Status outcome);

  /// Boots answered from the cache.
  size_t hits() const { return hits_.load(); }
  /// Boots that went to `inner` (real boots).
  size_t boots() const { return boots_.load(); }

 private:
  Launcher& inner_;
  const ResultCache& cache_;
  std::atomic<size_t> hits_{0};
  std::atomic<size_t> boots_{0};
};

}  // namespace pvm
