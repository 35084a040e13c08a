// `pvmatrix gate --base REV --head REV [MATRIX]`: the per-patch gate. Each revision is checked
// out in a worktree of its own and its guest images are built there. The cells booted are the
// gate matrix's (always) plus every cell of the world (the nightly matrix of each revision)
// whose inputs — kernel image, initramfs, ROM, hypervisor, platform, command line — differ
// between the two revisions: the change decides the rest, so the cost follows the change. Each
// side runs through `pvmatrix run` (the scheduler path, with the result cache); the head is
// run and judged by the head's own pvmatrix when the change touches the harness. Then the
// verdicts: doubtful cells (FLAKY, REGRESSION, BINDING_LOST) are booted once more by the head's
// harness, with the workaround search for what still fails. Exit 1 on REGRESSION or
// BINDING_LOST; 2 for a revision that does not exist or does not build, or any harness error
// (never a verdict then).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "git_worktree.h"
#include "history_store.h"
#include "preamble.h"
#include "result_cache.h"
#include "run_report.h"
#include "verdicts.h"

namespace pvm::cli {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

struct GateOptions {
  std::string base, head = "HEAD";
  std::string matrix = "matrix/gate.json";
  std::string world = "matrix/nightly.json";  ///< in each revision's tree; "" = gate matrix only
  std::string out = "out/gate";
  std::string workdir = ".pvmatrix-work";
  std::string cache_dir;  ///< "" = default_cache_dir()
  std::string qemu;
  int build_jobs = 2;
  int jobs = 0;           ///< boots at once (0 = run's default)
  std::string baseline = "boot";  ///< "boot": build and boot the base; "history": the store's runs of it
  std::string history;    ///< the store for --baseline history ("" = default_history_location(out))
};

/// A cell of the world as `pvmatrix list --inputs` describes it.
struct WorldCell {
  std::string kernel, hv, config;
  CellInputs inputs;
};

/// One side of the gate, built and run.
struct Side {
  const char* name;             ///< "base" | "head"
  RevisionTree tree;
  std::string harness;          ///< the pvmatrix that runs this side
  std::map<std::string, WorldCell> world;  ///< the world's cells by id, with their inputs
  std::string world_matrix;     ///< absolute path of the world matrix in this tree ("" if none)
  json report;                  ///< gate matrix cells + the affected world cells
  long hits = 0, boots = 0;     ///< from `run`'s cache lines (-1: unknown)
};

/// The workaround search of one gate covers at most this many doubtful cells per matrix.
constexpr int kWorkaroundCells = 8;

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("pvmatrix") : p.string();
}

int fail(const std::string& message) { return command_error("gate", message); }

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

std::string side_dir(const GateOptions& o, const Side& s) { return fs::absolute(o.workdir).string() + "/" + s.name; }

/// Checks out and builds one side's guest images; false with *err naming the side. A side
/// that does not build leaves no worktree behind.
bool prepare(const GateOptions& o, const std::string& repo, Side* side, std::string* err) {
  RevisionTree& t = side->tree;
  const std::string dir = side_dir(o, *side);
  t.build = dir + "/build";
  t.images = t.build + "/images";
  if (t.dirty) {
    t.src = repo;
    std::printf("gate: %s = working tree of %s (dirty)\n", side->name, repo.c_str());
  } else {
    t.src = dir + "/src";
    std::printf("gate: %s = %s (%s)\n", side->name, t.rev.c_str(), t.commit.substr(0, 12).c_str());
    if (!checkout_worktree(repo, t.commit, t.src, err)) {
      *err = fmt::format("{} {}: {}", side->name, t.rev, *err);
      return false;
    }
  }
  std::fflush(stdout);
  if (!build_guest_images(t.src, t.build, o.build_jobs, err)) {
    *err = fmt::format("{} {} ({}) does not build: {}", side->name, t.rev, t.commit.substr(0, 12), *err);
    if (!t.dirty) remove_worktree(repo, t.src);
    return false;
  }
  return true;
}

/// The paths of a change that the harness is built from: a head that touches one is judged by
/// its own pvmatrix, not by this one.
std::vector<std::string> harness_paths(const std::vector<std::string>& changed) {
  std::vector<std::string> out;
  for (const auto& p : changed)
    if (p.rfind("harness/", 0) == 0 || p.rfind("reports/", 0) == 0 || p.rfind("hypervisor-versions/rom/include/", 0) == 0 ||
        p.rfind("cmake/", 0) == 0 || p == "CMakeLists.txt")
      out.push_back(p);
  return out;
}

/// Runs `side.harness ARGS --root SRC --images IMAGES`; output in *out, the log in OUT/<log>.log.
int side_command(const GateOptions& o, const Side& side, std::vector<std::string> args, std::string log,
                 std::string* out, const std::string& cache_dir = "") {
  std::replace(log.begin(), log.end(), '/', '.');
  std::vector<std::string> argv{side.harness};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--root", side.tree.src, "--images", side.tree.images});
  // The gate's runs record no history (issue 17): a patch under judgment is not a nightly. The
  // environment, not --history: the head's own pvmatrix may predate the option.
  std::map<std::string, std::string> env{{"PVMATRIX_HISTORY", "none"}};
  if (!cache_dir.empty()) env["PVMATRIX_CACHE"] = cache_dir;
  std::error_code ec;
  fs::create_directories(o.out, ec);
  return run_process(argv, "", out, env, o.out + "/" + log + ".log");
}

/// `side.harness list ARGS` as a JSON document (stdout and stderr come together: the document
/// starts at its first brace). False with *err naming the side and the command's last lines.
bool list_json(const GateOptions& o, const Side& side, const std::vector<std::string>& args, const std::string& log,
               json* doc, std::string* err) {
  std::string output;
  std::vector<std::string> argv{"list"};
  argv.insert(argv.end(), args.begin(), args.end());
  int rc = side_command(o, side, argv, std::string(side.name) + "." + log, &output);
  const size_t brace = output.find('{');
  *doc = rc == 0 && brace != std::string::npos ? json::parse(output.substr(brace), nullptr, false) : json();
  if (rc != 0 || !doc->is_object() || !doc->contains("cells")) {
    *err = fmt::format("{}: {} list {} exited {}:\n{}", side.name, side.harness, join(args, " "), rc, tail_lines(output, 15));
    return false;
  }
  return true;
}

/// The world's cells of one side with their inputs (`pvmatrix list WORLD --inputs`); *name (may
/// be null) = the world matrix's name.
bool load_world(const GateOptions& o, Side* side, std::string* err, std::string* name = nullptr) {
  if (o.world.empty()) return true;
  std::string path = side->tree.src + "/" + o.world;
  if (!fs::exists(path)) {
    std::printf("gate: %s has no %s: only the gate matrix is compared there\n", side->name, o.world.c_str());
    return true;
  }
  side->world_matrix = path;
  json doc;
  if (!list_json(o, *side, {path, "--inputs"}, "world-list", &doc, err)) return false;
  if (name) *name = doc.value("name", "");
  for (const json& c : doc["cells"])
    side->world[c.at("id").get<std::string>()] = {c.value("kernel", ""), c.value("hv", ""), c.value("config", ""),
                                                  c.at("inputs").get<CellInputs>()};
  return true;
}

/// The cell ids of the gate matrix as `side`'s harness expands it; *name (may be null) = the
/// matrix's name.
bool gate_cells(const GateOptions& o, const Side& side, const std::string& matrix, std::set<std::string>* ids,
                std::string* err, std::string* name = nullptr) {
  json doc;
  if (!list_json(o, side, {matrix, "--json"}, "gate-list", &doc, err)) return false;
  if (name) *name = doc.value("name", "");
  for (const json& c : doc["cells"]) ids->insert(c.at("id").get<std::string>());
  return true;
}

/// The base side from the history store (`--baseline history`): nothing checked out, built or
/// booted. The world's cells and their inputs come from the last complete, clean run of the world
/// matrix on the base commit; each gate cell's result from the last such run of the gate matrix,
/// else from that world run. A cell neither holds, or a world run recorded without inputs (an
/// imported report, an older pvmatrix), is an error: the gate would judge against nothing.
bool base_from_history(const GateOptions& o, const std::string& gate_name, const std::string& world_name,
                       const std::set<std::string>& always, Side* base, std::map<std::string, json>* recorded,
                       std::vector<std::string>* labels, std::string* err) {
  const std::string location = o.history.empty() ? default_history_location(o.out) : o.history;
  HistoryOpenError why;
  auto store = HistoryStore::open(location, /*create=*/false, err, &why);
  if (!store) return false;
  const std::string commit = base->tree.commit;
  auto hint = [&](const std::string& name) {
    return fmt::format("; run `pvmatrix run` of matrix {} on {} ({}) with --history {} first, or gate without "
                       "--baseline history",
                       name, base->tree.rev, commit.substr(0, 12), HistoryStore::display(location));
  };
  json gate_run, world_run;
  std::string label, why_not;
  if (store->baseline(gate_name, commit, nullptr, &gate_run, &label, &why_not)) labels->push_back(label);
  else gate_run = json();
  std::map<std::string, const json*> from_world;
  if (!world_name.empty()) {
    if (!store->baseline(world_name, commit, nullptr, &world_run, &label, err)) return *err += hint(world_name), false;
    labels->push_back(label);
    for (const json& c : world_run["cells"]) {
      if (!c.contains("inputs")) {
        *err = fmt::format("{}: cell {} was recorded without its inputs (an imported report, or a pvmatrix before "
                           "history schema 2): the affected cells cannot be chosen{}",
                           label, c.value("id", ""), hint(world_name));
        return false;
      }
      const std::string id = c.value("id", "");
      base->world[id] = {c.value("kernel", ""), c.value("hv", ""), c.value("config", ""), c["inputs"].get<CellInputs>()};
      from_world[id] = &c;
    }
  }
  std::map<std::string, const json*> from_gate;
  if (gate_run.is_object())
    for (const json& c : gate_run["cells"]) from_gate[c.value("id", "")] = &c;
  std::vector<std::string> missing;
  for (const auto& [id, c] : from_world) (*recorded)[id] = *c;
  for (const std::string& id : always) {
    if (from_gate.count(id)) (*recorded)[id] = *from_gate[id];
    else if (!from_world.count(id)) missing.push_back(id);
  }
  if (!missing.empty()) {
    *err = fmt::format("no recorded result on {} ({}) for {} cell(s) of matrix {}, e.g. {} (searched: {}){}",
                       base->tree.rev, commit.substr(0, 12), missing.size(), gate_name, missing.front(),
                       labels->empty() ? "no run of " + gate_name + (world_name.empty() ? "" : " or " + world_name)
                                       : join(*labels, "; "),
                       hint(gate_name));
    return false;
  }
  return true;
}

/// Why a world cell is booted: the first input of it the change touched, as a group a person
/// reads ("rom-1.1 changed", "kernel 2.6.24 changed").
std::string why_affected(const WorldCell* base, const WorldCell& head) {
  if (!base) return "new in the head's world";
  for (const std::string& d : head.inputs.differences(base->inputs)) {
    if (d == "kernel") return "kernel " + head.kernel + " changed";
    if (d == "initrd") return "the guest agent changed";
    if (d == "cmdline") return "config " + head.config + " changed";
    return head.hv + " changed";  // rom, hypervisor, platform
  }
  return "";
}

/// One `pvmatrix run` of `side` into OUT/<dir>; its report into *report.
bool run_matrix(const GateOptions& o, Side* side, const std::string& matrix, const std::vector<std::string>& only,
                const std::string& dir, bool cached, const std::vector<std::string>& extra, const std::string& cache_dir,
                json* report, std::string* err) {
  const std::string out = o.out + "/" + dir;
  std::vector<std::string> args{"run", matrix, "--out", out};
  if (cached) args.push_back("--cache");
  if (!only.empty()) args.insert(args.end(), {"--only", join(only, ",")});
  if (!o.qemu.empty()) args.insert(args.end(), {"--qemu", o.qemu});
  if (o.jobs > 0) args.insert(args.end(), {"-j", std::to_string(o.jobs)});
  args.insert(args.end(), extra.begin(), extra.end());
  std::string output;
  int rc = side_command(o, *side, args, dir + ".run", &output, cache_dir);
  if (rc != kExitOk && rc != kExitFailure) {
    *err = fmt::format("{}: pvmatrix run {} exited {} ({}):\n{}", side->name, matrix, rc, side->harness,
                       tail_lines(output, 15));
    return false;
  }
  std::smatch m;
  if (!cached) {
    // no cache line: every cell and every workaround tried was a boot
  } else if (std::regex_search(output, m, std::regex(R"(cache: (\d+) hits, (\d+) boots)"))) {
    if (side->hits >= 0) side->hits += std::stol(m[1]);
    if (side->boots >= 0) side->boots += std::stol(m[2]);
  } else if (output.find("cache:") != std::string::npos) {
    side->hits = side->boots = -1;
  }
  return read_report(out + "/report.json", report, err);
}

/// `extra`'s cells appended to `primary` (a cell of both stays `primary`'s; an extra cell's log
/// path gets `extra_dir`/ in front, where its run wrote it), axes united, the summary
/// recomputed: one report per side for the verdicts and the HTML.
json combine(json primary, const json& extra, const std::string& extra_dir) {
  if (extra.is_null()) return primary;
  std::set<std::string> ids;
  for (const json& c : primary["cells"]) ids.insert(c.value("id", ""));
  json cells = primary["cells"];
  for (json c : extra["cells"]) {
    if (ids.count(c.value("id", ""))) continue;
    if (c.contains("log") && c["log"].is_string() && !c["log"].get<std::string>().empty() &&
        c["log"].get<std::string>()[0] != '/')
      c["log"] = extra_dir + "/" + c["log"].get<std::string>();
    cells.push_back(std::move(c));
  }
  json axes = primary.value("axes", json::object());
  const json extra_axes = extra.value("axes", json::object());
  for (const char* key : {"kernels", "hypervisors"}) {
    std::set<std::string> have;
    for (const json& v : axes[key]) have.insert(v.get<std::string>());
    for (const json& v : extra_axes.value(key, json::array()))
      if (have.insert(v.get<std::string>()).second) axes[key].push_back(v);
  }
  std::set<std::string> cfgs;
  for (const json& c : axes["configs"]) cfgs.insert(c.value("name", ""));
  for (const json& c : extra_axes.value("configs", json::array()))
    if (cfgs.insert(c.value("name", "")).second) axes["configs"].push_back(c);
  sort_cells_by_axes(axes, &cells);
  const bool complete = primary.value("complete", false) && extra.value("complete", false);
  return make_report(primary["meta"], axes, std::move(cells), complete);
}

const json* find_cell(const json& report, const std::string& id) {
  for (const json& c : report.at("cells"))
    if (c.value("id", "") == id) return &c;
  return nullptr;
}

int run_gate(GateOptions o) {
  std::string err;
  auto repo = git_toplevel(".", &err);
  if (!repo) return fail(err);
  std::string matrix = o.matrix;
  if (!fs::exists(matrix) && fs::exists(*repo + "/" + matrix)) matrix = *repo + "/" + matrix;
  if (!fs::exists(matrix)) return fail("matrix file not found: " + o.matrix);
  matrix = fs::absolute(matrix).string();
  const std::string cache_dir = o.cache_dir.empty() ? default_cache_dir() : fs::absolute(o.cache_dir).string();
  o.out = fs::absolute(o.out).string();

  Side base{"base", {}, self_exe(), {}, {}, {}, 0, 0}, head{"head", {}, self_exe(), {}, {}, {}, 0, 0};
  base.tree.rev = o.base;
  head.tree.rev = o.head;
  for (Side* s : {&base, &head}) {
    auto commit = resolve_revision(*repo, s->tree.rev, &err);
    if (!commit) return fail(fmt::format("--{}: {}", s->name, err));
    s->tree.commit = *commit;
  }
  // A dirty work tree as head: gate what the user has, and say so.
  if (o.head == "HEAD" && work_tree_dirty(*repo)) head.tree.dirty = true;
  auto changed = changed_paths(*repo, base.tree.commit, head.tree.dirty ? "" : head.tree.commit, &err);
  if (!changed) return fail(err);

  const bool from_history = o.baseline == "history";
  if (from_history) {
    base.harness.clear();
    std::printf("gate: base = %s (%s), from the history store\n", base.tree.rev.c_str(), base.tree.commit.substr(0, 12).c_str());
  }
  for (Side* s : {&base, &head})
    if (!(from_history && s == &base) && !prepare(o, *repo, s, &err)) return fail(err);
  // The head's harness judges the head when the change touches the harness: this binary may
  // not even parse the head's hypervisor definitions.
  if (auto h = harness_paths(*changed); !h.empty()) {
    std::printf("gate: the change touches the harness (%s%s): the head's own pvmatrix runs and judges the head\n",
                join(std::vector<std::string>(h.begin(), h.begin() + std::min<size_t>(h.size(), 3)), ", ").c_str(),
                h.size() > 3 ? ", ..." : "");
    std::fflush(stdout);
    if (!build_target(head.tree.build, "pvmatrix", o.build_jobs, &err)) {
      if (!head.tree.dirty) remove_worktree(*repo, head.tree.src);
      return fail(fmt::format("head {} ({}) does not build: {}", head.tree.rev, head.tree.commit.substr(0, 12), err));
    }
    head.harness = head.tree.build + "/pvmatrix";
  }

  // Which cells: the gate matrix's, and every world cell whose inputs the change touched.
  std::string world_name, gate_name;
  if (!load_world(o, &head, &err, &world_name)) return fail(err);
  std::set<std::string> always;
  if (!gate_cells(o, head, matrix, &always, &err, &gate_name)) return fail(err);
  std::map<std::string, json> recorded;  // --baseline history: the base's results by cell id
  std::vector<std::string> recorded_from;
  if (from_history) {
    if (!base_from_history(o, gate_name, head.world_matrix.empty() ? "" : world_name, always, &base, &recorded,
                           &recorded_from, &err))
      return fail("--baseline history: " + err);
    for (const std::string& label : recorded_from) std::printf("gate: base: %s\n", label.c_str());
  } else if (!load_world(o, &base, &err)) {
    return fail(err);
  }
  std::vector<std::string> affected_head, affected_base;
  std::vector<std::pair<std::string, size_t>> groups;  // why -> cells, in order of first appearance
  for (const auto& [id, cell] : head.world) {
    auto b = base.world.find(id);
    std::string why = why_affected(b == base.world.end() ? nullptr : &b->second, cell);
    if (why.empty() || always.count(id)) continue;
    affected_head.push_back(id);
    if (b != base.world.end()) affected_base.push_back(id);
    auto g = std::find_if(groups.begin(), groups.end(), [&](const auto& x) { return x.first == why; });
    if (g == groups.end()) groups.push_back({why, 1});
    else ++g->second;
  }
  std::printf("gate: %zu cells of %s always", always.size(), fs::path(matrix).filename().c_str());
  if (groups.empty()) std::printf("; the change touches no other cell of %s\n", o.world.empty() ? "the world" : o.world.c_str());
  else std::printf("\n");
  json affected_meta = json::array();
  for (const auto& [why, n] : groups) {
    std::printf("gate: +%zu cells: %s\n", n, why.c_str());
    affected_meta.push_back({{"why", why}, {"cells", n}});
  }
  std::fflush(stdout);

  // Both sides through `pvmatrix run`, cached; a base from the history store is read, not run.
  if (from_history) {
    json cells = json::array();
    for (const std::string& id : always)
      if (auto c = recorded.find(id); c != recorded.end()) cells.push_back(c->second);
    for (const std::string& id : affected_base) cells.push_back(recorded.at(id));
    base.report = {{"schema", kReportSchema}, {"schema_version", kReportSchemaVersion}, {"complete", true},
                   {"meta", {{"history", recorded_from}}}, {"cells", std::move(cells)}};
    std::printf("gate: base: %zu cells from the history store, 0 booted\n", base.report["cells"].size());
    std::fflush(stdout);
  }
  for (Side* s : {&base, &head}) {
    if (from_history && s == &base) continue;
    json gate_report, world_report;
    if (!run_matrix(o, s, matrix, {}, s->name, true, {}, cache_dir, &gate_report, &err)) return fail(err);
    const auto& extra = s == &head ? affected_head : affected_base;
    if (!extra.empty() && !run_matrix(o, s, s->world_matrix, extra, std::string(s->name) + "/world", true, {}, cache_dir,
                                      &world_report, &err))
      return fail(err);
    s->report = combine(std::move(gate_report), world_report, "world");
    std::printf("gate: %s: %zu cells, %ld booted, %ld from cache\n", s->name, s->report["cells"].size(), s->boots,
                s->hits);
    std::fflush(stdout);
  }

  VerdictSet set;
  set.base_label = fmt::format("{} ({}{})", o.base, base.tree.commit.substr(0, 12), from_history ? ", recorded" : "");
  set.head_label = fmt::format("{} ({}{})", o.head, head.tree.commit.substr(0, 12), head.tree.dirty ? ", dirty" : "");
  if (!diff(base.report, head.report, &set, &err)) return fail(err);

  // Doubtful cells boot once more, fresh, by the head's harness, with the workaround search for
  // what still does not work.
  size_t reruns = 0, workaround_boots = 0;
  std::vector<std::string> rerun_gate, rerun_world;
  for (const auto& v : set.cells)
    if (v.needs_rerun && find_cell(base.report, v.id)) (always.count(v.id) ? rerun_gate : rerun_world).push_back(v.id);
  std::map<std::string, json> rerun_cells;
  std::string run_help;
  if (!rerun_gate.empty() || !rerun_world.empty()) run_process({head.harness, "run", "--help"}, "", &run_help);
  for (auto [ids, m, dir] : {std::tuple{&rerun_gate, matrix, std::string("head/rerun")},
                             std::tuple{&rerun_world, head.world_matrix, std::string("head/rerun-world")}}) {
    if (ids->empty()) continue;
    json r;
    // A patch that broke dozens of cells is rejected by any of them: the search is bounded. A head's
    // own older pvmatrix may not know the options: then its re-runs go without the search.
    std::vector<std::string> extra{"--retries", "0"};
    if (run_help.find("--workaround-cells") != std::string::npos)
      extra.insert(extra.end(), {"--workarounds", "--workaround-cells", std::to_string(kWorkaroundCells)});
    if (!run_matrix(o, &head, m, *ids, dir, false, extra, cache_dir, &r, &err))
      return fail(err);
    for (const json& c : r["cells"]) {
      rerun_cells[c.value("id", "")] = c;
      ++reruns;
      if (c.contains("workarounds")) workaround_boots += c["workarounds"].size();
    }
  }
  for (auto& v : set.cells) {
    auto r = rerun_cells.find(v.id);
    if (r == rerun_cells.end()) continue;
    confirm_with_rerun(&v, *find_cell(base.report, v.id), r->second);
    if (v.verdict == Verdict::Regression && r->second.contains("workarounds"))
      for (const json& w : r->second["workarounds"])
        v.workarounds.push_back({w.value("mask", ""), w.value("status", "")});
  }
  // What fails the gate first again: re-runs may have changed verdicts.
  std::stable_sort(set.cells.begin(), set.cells.end(), [](const CellVerdict& a, const CellVerdict& b) {
    auto failing = [](const CellVerdict& v) { return v.verdict == Verdict::Regression || v.verdict == Verdict::BindingLost; };
    return failing(a) > failing(b);
  });

  // Outputs: the head's reports carry the verdicts; verdicts.json and summary.md beside them.
  json base_meta = {{"rev", o.base}, {"commit", base.tree.commit}, {"harness", base.harness}};
  if (from_history) base_meta = {{"rev", o.base}, {"commit", base.tree.commit}, {"harness", nullptr}, {"history", recorded_from}};
  json gate_meta = {{"base", base_meta},
                    {"head", {{"rev", o.head}, {"commit", head.tree.commit}, {"dirty", head.tree.dirty},
                              {"harness", head.harness}}},
                    {"always", always.size()},
                    {"affected", affected_meta},
                    {"boots", {{"base", base.boots}, {"head", head.boots}, {"reruns", reruns},
                               {"workarounds", workaround_boots}}},
                    {"cache_hits", {{"base", base.hits}, {"head", head.hits}}},
                    {"cache_dir", cache_dir}};
  annotate_report(&head.report, set);
  head.report["meta"]["gate"] = gate_meta;
  if (!write_reports(head.report, o.out + "/head", default_report_writers(), &err)) return fail(err);
  json vj = set;
  vj["gate"] = gate_meta;
  std::string md = render_markdown(set);
  if (!write_file_atomically(o.out + "/verdicts.json", vj.dump(2) + "\n", &err) ||
      !write_file_atomically(o.out + "/summary.md", md, &err))
    return fail(err);
  std::fwrite(md.data(), 1, md.size(), stdout);
  std::printf("\ngate: boots: base %ld, head %ld, re-runs %zu, workaround search %zu; cache hits: base %ld, head %ld\n",
              base.boots, head.boots, reruns, workaround_boots, base.hits, head.hits);
  std::printf("gate: %s -> %s/verdicts.json, %s/head/report.html\n",
              !set.fails() ? "PASS" : set.has_regression() ? "FAIL (regression)" : "FAIL (binding lost)", o.out.c_str(),
              o.out.c_str());
  return set.fails() ? kExitFailure : kExitOk;
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
  sub->callback([o, &exit_code] { exit_code = run_gate(*o); });
}

const Registrar registrar("gate", setup_gate);

}  // namespace
}  // namespace pvm::cli
