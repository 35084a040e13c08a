// `pvmatrix list MATRIX [--json]`: the expanded cells of a matrix with their stable ids,
// in the fixed matrix order, with what each would boot and what is expected of it.
// `pvmatrix list [--json]` without a matrix: the world itself, every kernel (reference
// releases, test guests, real kernels with their pinned package) and every hypervisor version,
// with whether what it needs is in the cache.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "matrix_listing.h"
#include "preamble.h"
#include "result_cache.h"
#include "world.h"

namespace pvm::cli {
namespace {

struct ListOptions {
  std::string matrix;
  std::string only;
  std::string shard;
  WorldFlags world;
  bool json = false;
  bool inputs = false;
};

bool present(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

int list_world(const World& world, bool json) {
  nlohmann::json kernels = nlohmann::json::array(), versions = nlohmann::json::array();
  for (const std::string& k : world.releases()) {
    const LinuxRelease* real = world.find_linux(k);
    nlohmann::json e = {{"name", k}, {"family", real ? "linux" : "reference"}, {"image", world.kernel_image(k)},
                        {"present", present(world.kernel_image(k))}};
    if (real) {
      const LinuxPackage& p = real->package;
      e["summary"] = real->summary;
      e["package"] = {{"name", p.name}, {"version", p.version}, {"suite", p.suite},
                      {"architecture", p.architecture}, {"image", p.image}};
      e["switches"] = real->switches;
      e["descriptor"] = real->path;
    }
    kernels.push_back(std::move(e));
  }
  for (const std::string& f : world.fixtures())
    kernels.push_back({{"name", f}, {"family", "fixture"}, {"image", world.kernel_image(f)}, {"present", true}});
  for (const HypervisorVersion& v : world.versions()) {
    nlohmann::json e = {{"name", v.name}, {"family", v.family}, {"summary", v.summary}};
    if (v.family == "rom") {
      e["api"] = v.api();
      e["image"] = world.rom_image(v.name);
      e["present"] = present(world.rom_image(v.name));
    } else if (v.family == "xen") {
      e["package"] = {{"name", v.xen.package}, {"version", v.xen.package_version}, {"suite", v.xen.suite}};
      e["image"] = xen_binary_path(v);
      e["present"] = present(xen_binary_path(v));
    } else {
      e["present"] = true;
    }
    versions.push_back(std::move(e));
  }
  if (json) {
    std::printf("%s\n", nlohmann::json{{"kernels", kernels}, {"hypervisors", versions}}.dump(1).c_str());
    return kExitOk;
  }
  auto mark = [](const nlohmann::json& e) { return e["present"].get<bool>() ? "" : "  [not in the cache: scripts/fetch.sh]"; };
  std::printf("kernels:\n");
  for (const auto& e : kernels) {
    std::string name = e["name"], family = e["family"];
    if (family == "linux")
      std::printf("  %-28s linux      %s %s (%s, %s)%s\n", name.c_str(), e["package"]["name"].get<std::string>().c_str(),
                  e["package"]["version"].get<std::string>().c_str(), e["package"]["suite"].get<std::string>().c_str(),
                  e["package"]["architecture"].get<std::string>().c_str(), mark(e));
    else
      std::printf("  %-28s %-10s %s%s\n", name.c_str(), family.c_str(), e["image"].get<std::string>().c_str(),
                  e["present"].get<bool>() ? "" : "  [not built]");
  }
  std::printf("hypervisors:\n");
  for (const auto& e : versions) {
    std::string name = e["name"], family = e["family"];
    if (family == "xen")
      std::printf("  %-28s xen        %s %s (%s)%s\n", name.c_str(), e["package"]["name"].get<std::string>().c_str(),
                  e["package"]["version"].get<std::string>().c_str(), e["package"]["suite"].get<std::string>().c_str(),
                  mark(e));
    else
      std::printf("  %-28s %-10s %s\n", name.c_str(), family.c_str(), e["summary"].get<std::string>().c_str());
  }
  return kExitOk;
}

int run_list(const ListOptions& o) {
  std::string err;
  auto world = o.world.load(&err);
  if (!world) return command_error("list", err);
  if (o.matrix.empty()) return list_world(*world, o.json);
  Selection sel;
  if (!select_cells(*world, o.matrix, o.only, o.shard, &sel, &err)) return command_error("list", err);
  const Matrix& m = sel.matrix;
  const std::vector<CellSpec>& specs = sel.specs;

  if (!o.json && !o.inputs) {
    for (const CellSpec& s : specs) std::printf("%s\n", s.id().c_str());
    return kExitOk;
  }
  MatrixListing listing{m.path, m.name, m.sha256, {}};
  for (const CellSpec& s : specs) {
    ListedCell& c = listing.cells.emplace_back();
    c.id = s.id();
    c.kernel = s.kernel;
    c.hv = s.hv;
    c.config = s.config;
    c.cmdline = s.cmdline;
    c.machine = s.machine;
    c.cpu = s.cpu;
    c.memory_mib = s.memory_mib;
    c.timeout_s = s.timeout_s;
    c.retries = m.retries;
    if (const KnownIssue* issue = sel.known.find(s.kernel, s.hv, s.config)) {
      for (Status e : issue->expect) c.expected_any.push_back(to_string(e));
      c.expected_reason = issue->reason;
      c.expected_link = issue->link;
    }
    if (o.inputs) c.inputs = cell_inputs(s);
  }
  const nlohmann::json out = listing;
  std::printf("%s\n", out.dump(1).c_str());
  return kExitOk;
}

void setup_list(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<ListOptions>();
  CLI::App* sub = app.add_subcommand(
      "list", "List the cells of a matrix file, with their stable ids, in run order; without one, the world's kernels and hypervisors");
  sub->footer("Cell patterns (--only): kernel=GLOB/hv=GLOB|GLOB/cfg=GLOB, comma-separated for several.\n"
              "Example: pvmatrix list matrix/nightly.json --only 'kernel=2.6.25/hv=rom-1.1*'");
  sub->add_option("matrix", o->matrix, "Matrix file, e.g. matrix/nightly.json (none: list the kernels and hypervisors)");
  sub->add_flag("--json", o->json, "Print {matrix, sha256, count, cells: [{id, kernel, hv, config, ...}]}");
  sub->add_flag("--inputs", o->inputs,
                "With --json (implied): each cell's inputs as digests {kernel, initrd, rom, hypervisor, platform, cmdline},\n"
                "what `gate` compares between two revisions to find the cells a change affects");
  sub->add_option("--only", o->only, "Keep only cells matching these patterns");
  sub->add_option("--shard", o->shard, "Keep only shard K of N (K/N), as `run --shard` would");
  o->world.add_to(sub);
  sub->callback([o, &exit_code] { exit_code = run_list(*o); });
}

const Registrar registrar("list", setup_list);

}  // namespace
}  // namespace pvm::cli
