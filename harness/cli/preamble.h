// What every command starts with, written once: how it reports a usage error, the --root and
// --images flags and the world they name, and a matrix file narrowed to the cells it selects
// (with their known issues and boot specs). The command files only add their own options.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cell.h"
#include "command.h"
#include "known_issues.h"
#include "matrix.h"
#include "world.h"

namespace CLI { class App; }

namespace pvm::cli {

/// Prints "pvmatrix COMMAND: MESSAGE" on stderr and returns `status`.
int command_error(std::string_view command, std::string_view message, int status = kExitUsage);

/// Prints `line` and a newline on stdout, flushed: how a long command (gate, bisect) reports
/// progress as it goes.
void print_line(const std::string& line);

/// --root and --images, with the same help and defaults in every command.
struct WorldFlags {
  std::string root, images;
  void add_to(CLI::App* sub);
  /// The repository root they name ($PVMATRIX_ROOT, else the source tree).
  std::string resolved_root() const;
  /// The world (kernels, hypervisor versions, real software) they name.
  std::optional<World> load(std::string* err) const;
};

/// A matrix file narrowed by --only and --shard, its known issues and its cells' boot specs.
struct Selection {
  Matrix matrix;
  KnownIssues known;
  std::vector<CellSpec> specs;
};

/// Loads `matrix_path` against `world`, keeps the cells `only` and `shard` select, lets
/// `adjust` apply command-line overrides (retries, timeout) before the specs are made.
/// False with a located error.
bool select_cells(const World& world, const std::string& matrix_path, const std::string& only,
                  const std::string& shard, Selection* out, std::string* err,
                  const std::function<void(Matrix&)>& adjust = {});

}  // namespace pvm::cli
