// pvmatrix: wires the subcommands; CLI::Error becomes app.exit(e), nothing else happens here.
#include <algorithm>
#include <array>
#include <cstdio>
#include <exception>
#include <string_view>

#include <CLI/CLI.hpp>

#include "command.h"

namespace pvm::cli {
std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}
}  // namespace pvm::cli

int main(int argc, char** argv) {
  using namespace pvm::cli;
  CLI::App app{"pvmatrix: boots a reference paravirt kernel across kernel releases x hypervisor ABI "
               "versions x configs, and reports compatibility, regressions and workarounds."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every subcommand");

  // Help lists subcommands in the order a user meets them, then any others by name.
  constexpr std::array<std::string_view, 10> order{"list", "run",     "cell", "diff", "gate",
                                                   "bisect", "report", "abi",  "predict", "cache"};
  auto& cmds = registry();
  auto rank = [&](const Command& c) {
    auto it = std::find(order.begin(), order.end(), c.name);
    return std::pair{static_cast<size_t>(it - order.begin()), c.name};
  };
  std::sort(cmds.begin(), cmds.end(), [&](const Command& a, const Command& b) { return rank(a) < rank(b); });

  int exit_code = kExitOk;
  for (const auto& c : cmds) c.setup(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Error& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pvmatrix: error: %s\n", e.what());
    return kExitUsage;
  }
  return exit_code;
}
