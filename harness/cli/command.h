// One file per subcommand (mamba's way): each file defines `setup_<name>(CLI::App&, int&)`
// and registers it with a static Registrar; main.cpp only wires them in a fixed order.
#pragma once

#include <string>
#include <vector>

namespace CLI { class App; }

namespace pvm::cli {

/// Adds a subcommand to `app`; its callback stores the process exit status in `exit_code`.
using Setup = void (*)(CLI::App& app, int& exit_code);

struct Command {
  std::string name;
  Setup setup;
};

/// Every registered subcommand.
std::vector<Command>& registry();

/// Registers a subcommand at static-initialization time.
struct Registrar {
  Registrar(const char* name, Setup setup) { registry().push_back({name, setup}); }
};

/// Exit statuses shared by every subcommand (lit's convention).
inline constexpr int kExitOk = 0;       ///< everything as expected
inline constexpr int kExitFailure = 1;  ///< a guest failed unexpectedly / a regression
inline constexpr int kExitUsage = 2;    ///< bad input, usage or infrastructure error

}  // namespace pvm::cli
