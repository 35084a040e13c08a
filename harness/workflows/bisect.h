// `pvmatrix bisect` as library code: the first commit at which a cell stops working. Drives
// `git bisect` in a worktree of its own (the user's work tree and bisect state are never
// touched); at each step builds the guest images and boots the cell N times. A step counts
// only when all N boots agree: all work = good, all fail = bad; anything else (mixed results,
// ERROR, no build) is `git bisect skip`. Both ends are confirmed first.
//
// What it asks of the world outside — git, builds, the cell's boot spec in a tree, boots — goes
// through BisectEnvironment: process_bisect_environment() is the real one; the unit tests
// (tests/unit/bisect_test.cpp) give it a fake history and a fake `git bisect`.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cell.h"

namespace pvm {

struct BisectOptions {
  std::string good, bad, cell;
  int runs = 2;
  std::string matrix = "matrix/gate.json";  ///< where a non-default config's cmdline is found
  std::string workdir = ".pvmatrix-work";
  std::string qemu;
  int build_jobs = 2;
  /// Where progress and the answer go, line by line; none when empty.
  std::function<void(const std::string&)> say;
};

/// Exit statuses of bisect (documented in --help); 2 is a usage error.
inline constexpr int kBisectFound = 0;
inline constexpr int kBisectInconclusive = 3;
inline constexpr int kBisectEndsNotConfirmed = 4;

enum class BisectStep { Good, Bad, Skip };

/// What testing one commit showed.
struct BisectTest {
  BisectStep step = BisectStep::Skip;
  std::string why;       ///< one line: statuses seen, or why it was skipped
  std::string evidence;  ///< the last failing boot's reason and evidence
};

/// A cell id taken apart.
struct CellName {
  std::string kernel, hv, cfg;
};
/// "kernel=2.6.25/hv=rom-1.12/cfg=default" -> its parts; nullopt for anything else.
std::optional<CellName> parse_cell_id(const std::string& id);

class BisectEnvironment {
 public:
  virtual ~BisectEnvironment() = default;
  /// The repository's top directory; nullopt with *err.
  virtual std::optional<std::string> repository(std::string* err) = 0;
  virtual std::optional<std::string> resolve(const std::string& rev, std::string* err) = 0;
  /// The commit's subject line.
  virtual std::string subject(const std::string& commit) = 0;
  /// `dir` becomes a detached worktree at `commit`.
  virtual bool checkout(const std::string& commit, const std::string& dir, std::string* err) = 0;
  /// `git -C dir bisect ARGS`: the exit status, stdout and stderr in *out.
  virtual int git_bisect(const std::string& dir, const std::vector<std::string>& args, std::string* out) = 0;
  /// The commit checked out in `dir`.
  virtual std::string head(const std::string& dir) = 0;
  virtual bool build_images(const std::string& src, const std::string& build, std::string* err) = 0;
  /// The boot spec of `cell` in the tree `src` with its images in `images` (a config other than
  /// "default" from `matrix`); nullopt with *err.
  virtual std::optional<CellSpec> cell_spec(const std::string& src, const std::string& images,
                                            const std::string& matrix, const CellName& cell, std::string* err) = 0;
  /// One fresh boot (never the cache: reproducing is the point).
  virtual CellResult boot(const CellSpec& spec) = 0;
};

/// Git, builds and QEMU boots (`qemu` "" = the default binary); nullptr with *err when no
/// launcher can be made.
std::unique_ptr<BisectEnvironment> process_bisect_environment(const std::string& qemu, int build_jobs,
                                                              std::string* err);

/// The bisection: kBisectFound, kBisectInconclusive, kBisectEndsNotConfirmed, or 2 with *err for
/// a usage error (bad revision, bad cell id, git bisect refusing to start).
int run_bisect(const BisectOptions& o, BisectEnvironment& env, std::string* err);

}  // namespace pvm
