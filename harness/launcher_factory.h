// Chooses and builds the Launcher a command asked for (`--backend`, `--qemu`, `--connect`),
// so `run` and `cell` never name a concrete launcher.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "launcher.h"

namespace pvm {

/// What the user chose on the command line.
struct LauncherOptions {
  std::string backend = "qemu";      ///< "qemu" | "libvirt"
  std::string qemu_binary;           ///< "" = the backend's default (libvirt: its own choice)
  /// libvirt connections, each `URI[,jobs=N][,dir=PATH]`; empty = qemu:///system.
  /// Several spread the cells over those hosts (a LibvirtPool).
  std::vector<std::string> connect;
};

/// Builds the launcher; nullptr with `err` set for bad options (unknown backend, a
/// malformed --connect, --connect given to the qemu backend). Connects only to learn the CPU
/// count of a pool member given without jobs=.
std::unique_ptr<Launcher> make_launcher(const LauncherOptions& options, std::string* err);

/// `run --dry-run`'s launcher: it boots nothing. Every cell is SKIP without a boot (its
/// requirements' reason when they are missing, else "dry run: not booted"), so a dry run goes
/// through the same selection, scheduler and reports as a real one.
std::unique_ptr<Launcher> make_dry_run_launcher();

/// As above; throws std::invalid_argument with the message instead.
std::unique_ptr<Launcher> make_launcher(const LauncherOptions& options);

/// How many boots `launcher` can usefully run at once when the user gave no -j: the sum of
/// the `jobs=` of a multi-connection pool; 0 = no opinion (use the host's CPU count).
size_t suggested_jobs(const Launcher& launcher);

}  // namespace pvm
