// `pvmatrix gate --base REV --head REV [MATRIX]`: the per-patch gate (harness/workflows/gate.h
// does the work). This file parses the options, prints the gate's progress, its summary and
// where the verdicts are. Exit 1 on REGRESSION or BINDING_LOST; 2 for a revision that does not
// exist or does not build, or any harness error (never a verdict then).
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "gate.h"
#include "preamble.h"

namespace pvm::cli {
namespace {

int gate(GateOptions o) {
  o.say = print_line;
  auto env = process_gate_environment(o.build_jobs);
  GateOutcome out;
  std::string err;
  const int rc = run_gate(std::move(o), *env, &out, &err);
  if (rc == kExitUsage) return command_error("gate", err);
  std::fwrite(out.markdown.data(), 1, out.markdown.size(), stdout);
  std::printf("\ngate: boots: base %ld, head %ld, re-runs %zu, workaround search %zu; cache hits: base %ld, head %ld\n",
              out.boots[0], out.boots[1], out.reruns, out.workaround_boots, out.hits[0], out.hits[1]);
  const VerdictSet& set = out.verdicts;
  std::printf("gate: %s -> %s/verdicts.json, %s/head/report.html\n",
              !set.fails() ? "PASS" : set.has_regression() ? "FAIL (regression)" : "FAIL (binding lost)",
              out.out.c_str(), out.out.c_str());
  return rc;
}

void setup_gate(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<GateOptions>();
  CLI::App* sub = app.add_subcommand("gate", "Per-patch gate: build and run the cells a change can affect at two revisions, fail on a regression");
  sub->footer(
      "Each revision is checked out in WORKDIR/{base,head}/src (detached git worktrees; your work tree is never\n"
      "touched) and its guest images are built in WORKDIR/{base,head}/build. Booted at both ends: every cell of\n"
      "MATRIX, and every cell of the world (WORLD, each revision's own) whose inputs differ between the two\n"
      "(kernel image, guest agent, ROM, hypervisor, platform, command line): `gate: +N cells: rom-1.1 changed`.\n"
      "A change to the harness (harness/, reports/, the ROM ABI headers, CMakeLists.txt) is judged by the head's\n"
      "own pvmatrix, built in WORKDIR/head/build. Boots are answered from the result cache when the inputs are\n"
      "unchanged. FLAKY, REGRESSION and BINDING_LOST cells are booted once more (never from the cache); each\n"
      "confirmed REGRESSION gets the workaround search (pv.native masks; a real kernel: the other dom0 mode, its\n"
      "switches), for the first 8 doubtful cells of each matrix.\n"
      "--head HEAD with uncommitted changes gates the working tree itself (recorded as dirty).\n"
      "--baseline history: the base is what the nightly recorded for the base commit (a run of the world\n"
      "matrix, which holds each cell's inputs, and of MATRIX when there is one): no base worktree, no base boot.\n"
      "Writes OUT/verdicts.json, OUT/summary.md, OUT/base/ and OUT/head/ (reports with verdicts).\n"
      "Exit status: 0 no regression, 1 a REGRESSION or BINDING_LOST, 2 a revision that does not exist or does\n"
      "not build (its worktree removed), or a usage/harness error.");
  sub->add_option("--base", o->base, "Baseline revision (e.g. origin/main)")->required();
  sub->add_option("--head", o->head, "Revision to judge")->capture_default_str();
  sub->add_option("matrix", o->matrix, "Matrix file: the cells booted whatever the change")->capture_default_str();
  sub->add_option("--world", o->world, "Matrix of every cell a change may affect, in each revision's tree ('' = none)")
      ->capture_default_str();
  sub->add_option("--out", o->out, "Output directory")->capture_default_str();
  sub->add_option("--workdir", o->workdir, "Worktrees and build dirs")->capture_default_str();
  sub->add_option("--cache", o->cache_dir, "Result cache dir (default: $PVMATRIX_CACHE, else ~/.cache/pvmatrix)");
  sub->add_option("--qemu", o->qemu, "QEMU binary");
  sub->add_option("--build-jobs", o->build_jobs, "Parallel build jobs")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("-j,--jobs", o->jobs, "Boots at once (default: as `run`)")->check(CLI::PositiveNumber);
  sub->add_option("--baseline", o->baseline,
                  "boot: build and boot the base; history: take the base from the history store (its last complete,\n"
                  "clean runs of the gate and world matrices on the base commit): nothing is built or booted for it")
      ->check(CLI::IsMember({"boot", "history"}))
      ->capture_default_str();
  sub->add_option("--history", o->history,
                  "History store for --baseline history (default: $PVMATRIX_HISTORY, else history.sqlite beside OUT)");
  sub->callback([o, &exit_code] { exit_code = gate(*o); });
}

const Registrar registrar("gate", setup_gate);

}  // namespace
}  // namespace pvm::cli
