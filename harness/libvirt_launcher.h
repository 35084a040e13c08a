// Boots cells as transient libvirt domains (one libvirt connection per launcher), and a
// pool that spreads cells over several connections, each with its own parallelism.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "launcher.h"
#include "libvirt_xml.h"

namespace pvm {

/// How a LibvirtLauncher reaches its host and where it keeps per-boot files.
struct LibvirtLauncherOptions {
  std::string uri = "qemu:///system";  ///< libvirt connection URI
  std::string emulator;                ///< QEMU binary on that host; "" = libvirt's choice
  /// Directory for serial files and domain XML. It must exist at the SAME absolute path on
  /// the libvirt host (local, or a shared mount for a remote one), as must the images.
  /// "" = $PVMATRIX_LIBVIRT_DIR, else /tmp/pvmatrix-libvirt.
  std::string work_dir;
  /// After the guest's `done` record, how long to wait for the domain to stop before
  /// destroying it and deciding from the records (exit status is unknowable through libvirt).
  double done_grace_s = 0.2;
};

/// Boots each cell as a transient domain (virDomainCreateXML + AUTODESTROY, so even a
/// killed pvmatrix leaves nothing behind). Thread-safe: one shared connection.
class LibvirtLauncher : public Launcher {
 public:
  explicit LibvirtLauncher(LibvirtLauncherOptions options);
  ~LibvirtLauncher() override;
  LibvirtLauncher(const LibvirtLauncher&) = delete;
  LibvirtLauncher& operator=(const LibvirtLauncher&) = delete;

  BootOutcome boot(const CellSpec& spec) override;
  void kill_all() override;
  std::string name() const override { return "libvirt"; }
  std::string cannot_boot(const CellSpec& spec) const override { return libvirt_cannot_boot(spec); }

  /// The connection URI (what BootOutcome::host says).
  const std::string& uri() const { return options_.uri; }
  /// CPUs of the libvirt host (virNodeGetInfo), 0 if it cannot be reached.
  unsigned host_cpus();

  struct Impl;  ///< libvirt state (connection, event callback, running domains)

 private:
  enum class StopMode { DestroyAll, LetFinishedStop };
  /// Destroys running domains (all, or only those still booting) and waits for every
  /// domain of this launcher to be gone.
  void stop_all(StopMode mode);

  LibvirtLauncherOptions options_;
  std::unique_ptr<Impl> impl_;
};

/// Spreads boots over several libvirt connections: each boot goes to the connection with
/// the most free slots, waiting when every slot is busy. Results name the URI in `host`.
class LibvirtPool : public Launcher {
 public:
  LibvirtPool(const std::vector<LibvirtConnectSpec>& connects, const std::string& emulator);
  BootOutcome boot(const CellSpec& spec) override;
  void kill_all() override;
  std::string name() const override { return "libvirt"; }
  std::string cannot_boot(const CellSpec& spec) const override { return libvirt_cannot_boot(spec); }
  /// Total slots over every connection (the useful number of scheduler threads).
  size_t capacity() const;
  size_t suggested_jobs() const override { return capacity(); }

 private:
  struct Member {
    std::unique_ptr<LibvirtLauncher> launcher;
    unsigned jobs = 1;
    unsigned busy = 0;
  };
  std::vector<Member> members_;
  mutable std::mutex mu_;
  std::condition_variable slot_freed_;
  bool killed_ = false;
};

}  // namespace pvm
