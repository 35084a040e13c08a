// `pvmatrix bisect --good REV --bad REV --cell ID`: the first commit at which a cell stops
// working (harness/workflows/bisect.h does the work). This file parses the options and prints.
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "bisect.h"
#include "preamble.h"

namespace pvm::cli {
namespace {

int bisect(BisectOptions o) {
  o.say = print_line;
  std::string err;
  auto env = process_bisect_environment(o.qemu, o.build_jobs, &err);
  if (!env) return command_error("bisect", err);
  const int rc = run_bisect(o, *env, &err);
  return rc == kExitUsage ? command_error("bisect", err) : rc;
}

void setup_bisect(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<BisectOptions>();
  CLI::App* sub = app.add_subcommand("bisect", "Find the first commit at which a cell stops working");
  sub->footer(
      "Confirms both ends first (each end reproduced --runs times), then drives `git bisect` in\n"
      "WORKDIR/bisect/src (a detached worktree: your work tree and your own bisect are untouched), building the\n"
      "guest images and booting the cell --runs times at each step. A step whose boots disagree, that shows\n"
      "ERROR, or that does not build is skipped (git bisect skip).\n"
      "Exit status: 0 first bad commit found, 2 usage (bad revision, bad cell id), 3 inconclusive (only\n"
      "skipped commits left), 4 ends not confirmed (good does not work or bad does not fail, reproducibly).");
  sub->add_option("--good", o->good, "A revision where the cell works")->required();
  sub->add_option("--bad", o->bad, "A revision where the cell fails")->required();
  sub->add_option("--cell", o->cell, "Cell id, e.g. kernel=2.6.25/hv=rom-1.12/cfg=default")->required();
  sub->add_option("--runs", o->runs, "Boots per step; all must agree")->capture_default_str()->check(CLI::Range(1, 20));
  sub->add_option("--matrix", o->matrix, "Matrix file naming the cell's config (for cfg other than default)")
      ->capture_default_str();
  sub->add_option("--workdir", o->workdir, "Worktree and build dir")->capture_default_str();
  sub->add_option("--qemu", o->qemu, "QEMU binary");
  sub->add_option("--build-jobs", o->build_jobs, "Parallel build jobs")->capture_default_str()->check(CLI::PositiveNumber);
  sub->callback([o, &exit_code] { exit_code = bisect(*o); });
}

const Registrar registrar("bisect", setup_bisect);

}  // namespace
}  // namespace pvm::cli
