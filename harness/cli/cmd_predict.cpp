// `pvmatrix predict MATRIX [--json]`: each cell's predicted status and binding, without
// booting: from the kernel images' requirements manifests, the ROM binaries, the versions'
// quirks and the cells' command lines (harness/predict.h). `run` records the same prediction
// on each cell and lists every disagreement with the boot as a finding.
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "predict.h"
#include "preamble.h"

namespace pvm::cli {
namespace {
using nlohmann::json;

struct PredictOptions {
  std::string matrix;
  std::string only;
  WorldFlags world;
  bool json = false;
};

int run_predict(const PredictOptions& o) {
  std::string err;
  auto world = o.world.load(&err);
  if (!world) return command_error("predict", err);
  Selection sel;
  if (!select_cells(*world, o.matrix, o.only, /*shard=*/"", &sel, &err)) return command_error("predict", err);
  const Matrix& m = sel.matrix;
  const std::vector<CellSpec>& specs = sel.specs;

  Predictor predictor(*world);
  json cells = json::array();
  size_t unknown = 0;
  for (const CellSpec& s : specs) {
    Prediction p = predictor.predict_cell(s);
    unknown += !p.status;
    if (o.json) {
      json c = {{"id", s.id()}, {"kernel", s.kernel}, {"hv", s.hv}, {"config", s.config}, {"cmdline", s.cmdline}};
      c["predicted"] = p;
      cells.push_back(std::move(c));
      continue;
    }
    std::string binding;
    for (const char* g : kOpGroups)
      if (p.status) binding += fmt::format("{}{}={}", binding.empty() ? "" : " ", g, p.binding[g]);
    std::string status = p.status ? to_string(*p.status) : "?";
    if (p.status == Status::Fail) status += " " + p.probe + (p.call ? fmt::format(" (call {})", *p.call) : "");
    std::printf("%-44s %-36s %s\n", s.id().c_str(), status.c_str(), binding.c_str());
  }
  if (o.json) {
    json out = {{"matrix", m.path}, {"name", m.name}, {"sha256", m.sha256}, {"count", cells.size()},
                {"cells", std::move(cells)}};
    std::printf("%s\n", out.dump(1).c_str());
  }
  if (unknown) std::fprintf(stderr, "pvmatrix predict: %zu cells without a prediction (their reason says why)\n", unknown);
  return kExitOk;
}

void setup_predict(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* sub = app.add_subcommand("predict", "Predict each cell's status and binding without booting");
  sub->footer(
      "From static information only: the kernel image's requirements manifest (pvmatrix abi show), the ROM\n"
      "image, the version's quirks and the cell's pv.native=. `run` records it as `predicted` on each cell.\n"
      "Example: pvmatrix predict matrix/nightly.json --only 'kernel=2.6.25'");
  sub->add_option("matrix", o->matrix, "Matrix file, e.g. matrix/nightly.json")->required();
  sub->add_flag("--json", o->json, "Print {matrix, count, cells: [{id, ..., predicted: {status, binding, ...}}]}");
  sub->add_option("--only", o->only, "Keep only cells matching these patterns");
  o->world.add_to(sub);
  sub->callback([o, &exit_code] { exit_code = run_predict(*o); });
}

const Registrar registrar("predict", setup_predict);

}  // namespace
}  // namespace pvm::cli
