#include "preamble.h"

#include <cstdio>

#include <CLI/CLI.hpp>

namespace pvm::cli {

int command_error(std::string_view command, std::string_view message, int status) {
  std::fprintf(stderr, "pvmatrix %.*s: %.*s\n", static_cast<int>(command.size()), command.data(),
               static_cast<int>(message.size()), message.data());
  return status;
}

void print_line(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

void WorldFlags::add_to(CLI::App* sub) {
  sub->add_option("--root", root, "Repository root (default: $PVMATRIX_ROOT, else the source tree)");
  sub->add_option("--images", images, "Image directory (default: $PVMATRIX_IMAGES, else build/images)");
}

std::string WorldFlags::resolved_root() const { return resolve_root(root); }

std::optional<World> WorldFlags::load(std::string* err) const {
  return World::load(resolved_root(), resolve_images(images), err);
}

bool select_cells(const World& world, const std::string& matrix_path, const std::string& only,
                  const std::string& shard, Selection* out, std::string* err,
                  const std::function<void(Matrix&)>& adjust) {
  if (!load_selected_matrix(matrix_path, world, only, shard, &out->matrix, err)) return false;
  if (adjust) adjust(out->matrix);
  if (!load_known_issues(out->matrix, world, &out->known, err)) return false;
  return make_cell_specs(out->matrix, world, &out->specs, err);
}

}  // namespace pvm::cli
