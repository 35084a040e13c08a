// The per-patch gate as library code; `pvmatrix gate` only parses its options and prints.
// Each revision is checked out in a worktree of its own and its guest images are built there.
// The cells booted are the gate matrix's (always) plus every cell of the world (the nightly
// matrix of each revision) whose inputs — kernel image, initramfs, ROM, hypervisor, platform,
// command line — differ between the two revisions: the change decides the rest, so the cost
// follows the change. Each side runs through `pvmatrix run` (the scheduler path, with the result
// cache); the head is run and judged by the head's own pvmatrix when the change touches the
// harness. Then the verdicts: doubtful cells (FLAKY, REGRESSION, BINDING_LOST) are booted once
// more by the head's harness, with the workaround search for what still fails.
//
// Everything the gate asks of the world outside it — git, builds, the `pvmatrix` of each side —
// goes through GateEnvironment: process_gate_environment() uses worktrees and child processes;
// the unit tests (tests/unit/gate_test.cpp) give it a fake, as ninja tests its build plan with
// a fake command runner.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "git_worktree.h"
#include "result_cache.h"
#include "verdicts.h"

namespace pvm {

struct GateOptions {
  std::string base, head = "HEAD";
  std::string matrix = "matrix/gate.json";
  std::string world = "matrix/nightly.json";  ///< in each revision's tree; "" = gate matrix only
  std::string out = "out/gate";
  std::string workdir = ".pvmatrix-work";
  std::string cache_dir;          ///< "" = default_cache_dir()
  std::string qemu;
  int build_jobs = 2;
  int jobs = 0;                   ///< boots at once (0 = run's default)
  std::string baseline = "boot";  ///< "boot": build and boot the base; "history": the store's runs of it
  std::string history;            ///< the store for --baseline history ("" = default_history_location(out))
  /// Where progress lines go ("gate: +2 cells: rom-1.1 changed"); none when empty.
  std::function<void(const std::string&)> say;
};

/// A cell of the world as `pvmatrix list --inputs` describes it.
struct GateWorldCell {
  std::string kernel, hv, config;
  CellInputs inputs;
};

/// One side of the gate, built and run.
struct GateSide {
  std::string name;              ///< "base" | "head"
  RevisionTree tree;
  std::string harness;           ///< the pvmatrix that runs this side ("" for a base from the history store)
  std::map<std::string, GateWorldCell> world;  ///< the world's cells by id, with their inputs
  std::string world_matrix;      ///< absolute path of the world matrix in this tree ("" if none)
  nlohmann::json report;         ///< gate matrix cells + the affected world cells
  long hits = 0, boots = 0;      ///< from the cached runs' meta.cache (-1: a run did not say)
};

/// What the gate needs from outside itself, for one repository.
class GateEnvironment {
 public:
  virtual ~GateEnvironment() = default;
  /// The repository's top directory; nullopt with *err when there is none.
  virtual std::optional<std::string> repository(std::string* err) = 0;
  /// The full commit id of `rev`; nullopt with *err ("no such revision: X").
  virtual std::optional<std::string> resolve(const std::string& rev, std::string* err) = 0;
  /// True when the user's work tree has uncommitted changes to tracked files.
  virtual bool dirty() = 0;
  /// The paths that differ between commits `from` and `to` ("" = the work tree).
  virtual std::optional<std::vector<std::string>> changed(const std::string& from, const std::string& to,
                                                          std::string* err) = 0;
  /// `dir` becomes a detached worktree at `commit`; `discard` removes it again.
  virtual bool checkout(const std::string& commit, const std::string& dir, std::string* err) = 0;
  virtual void discard(const std::string& dir) = 0;
  /// Builds the guest images of `src` in `build` (then `build`/images).
  virtual bool build_images(const std::string& src, const std::string& build, std::string* err) = 0;
  /// Builds `build`/pvmatrix, the revision's own harness.
  virtual bool build_harness(const std::string& build, std::string* err) = 0;
  /// Runs `side.harness ARGS --root SRC --images IMAGES` with PVMATRIX_HISTORY=none (and
  /// PVMATRIX_CACHE=cache_dir when set); stdout and stderr together in *output, and in `log`.
  /// Returns the exit status.
  virtual int pvmatrix(const GateSide& side, const std::vector<std::string>& args, const std::string& log,
                       const std::string& cache_dir, std::string* output) = 0;
};

/// The environment of a real gate: git worktrees of the repository containing the current
/// directory, builds with `build_jobs` jobs, child processes.
std::unique_ptr<GateEnvironment> process_gate_environment(int build_jobs);

/// What a gate decided and wrote.
struct GateOutcome {
  VerdictSet verdicts;        ///< doubtful cells re-run, failing cells first
  nlohmann::json meta;        ///< verdicts.json's and the head report's "gate"
  std::string markdown;       ///< summary.md
  std::string out;            ///< the output directory, absolute
  size_t reruns = 0, workaround_boots = 0;
  long boots[2] = {0, 0}, hits[2] = {0, 0};  ///< base, head (-1: unknown)
};

/// The gate: OUT/verdicts.json, OUT/summary.md, OUT/base/, OUT/head/ (reports with verdicts).
/// Returns 0 (no regression) or 1 (a REGRESSION or BINDING_LOST); 2 with *err for a revision
/// that does not exist or does not build (its worktree removed) or any harness error — never a
/// verdict then.
int run_gate(GateOptions o, GateEnvironment& env, GateOutcome* out, std::string* err);

/// The paths of a change that the harness is built from: a head that touches one is judged by
/// its own pvmatrix, not by this one.
std::vector<std::string> harness_paths(const std::vector<std::string>& changed);

/// Why a world cell is booted: the first input of it the change touched, as a group a person
/// reads ("rom-1.1 changed", "kernel 2.6.24 changed"); "" when nothing changed.
std::string why_affected(const GateWorldCell* base, const GateWorldCell& head);

/// `extra`'s cells appended to `primary` (a cell of both stays `primary`'s; an extra cell's log
/// path gets `extra_dir`/ in front, where its run wrote it), axes united, the summary
/// recomputed: one report per side for the verdicts and the HTML.
nlohmann::json combine_reports(nlohmann::json primary, const nlohmann::json& extra, const std::string& extra_dir);

}  // namespace pvm
