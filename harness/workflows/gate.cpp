#include "gate.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "atomic_file.h"
#include "history_store.h"
#include "matrix_listing.h"
#include "report_model.h"
#include "run_report.h"
#include "text_util.h"

namespace pvm {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

/// The workaround search of one gate covers at most this many doubtful cells per matrix.
constexpr int kWorkaroundCells = 8;

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("pvmatrix") : p.string();
}

class ProcessGateEnvironment : public GateEnvironment {
 public:
  explicit ProcessGateEnvironment(int build_jobs) : build_jobs_(build_jobs) {}
  std::optional<std::string> repository(std::string* err) override {
    if (repo_.empty()) {
      auto top = git_toplevel(".", err);
      if (!top) return std::nullopt;
      repo_ = *top;
    }
    return repo_;
  }
  std::optional<std::string> resolve(const std::string& rev, std::string* err) override {
    return resolve_revision(repo_, rev, err);
  }
  bool dirty() override { return work_tree_dirty(repo_); }
  std::optional<std::vector<std::string>> changed(const std::string& from, const std::string& to,
                                                  std::string* err) override {
    return changed_paths(repo_, from, to, err);
  }
  bool checkout(const std::string& commit, const std::string& dir, std::string* err) override {
    return checkout_worktree(repo_, commit, dir, err);
  }
  void discard(const std::string& dir) override { remove_worktree(repo_, dir); }
  bool build_images(const std::string& src, const std::string& build, std::string* err) override {
    return build_guest_images(src, build, build_jobs_, err);
  }
  bool build_harness(const std::string& build, std::string* err) override {
    return build_target(build, "pvmatrix", build_jobs_, err);
  }
  int pvmatrix(const GateSide& side, const std::vector<std::string>& args, const std::string& log,
               const std::string& cache_dir, std::string* output) override {
    std::vector<std::string> argv{side.harness};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--root", side.tree.src, "--images", side.tree.images});
    // The gate's runs record no history (issue 17): a patch under judgment is not a nightly. The
    // environment, not --history: the head's own pvmatrix may predate the option.
    std::map<std::string, std::string> env{{"PVMATRIX_HISTORY", "none"}};
    if (!cache_dir.empty()) env["PVMATRIX_CACHE"] = cache_dir;
    std::error_code ec;
    fs::create_directories(fs::path(log).parent_path(), ec);
    return run_process(argv, "", output, env, log);
  }

 private:
  int build_jobs_;
  std::string repo_;
};

/// One gate in progress: the options, the environment, both sides and what was chosen.
class Gate {
 public:
  Gate(GateOptions o, GateEnvironment& env) : o_(std::move(o)), env_(env) {
    base_.name = "base";
    head_.name = "head";
    base_.harness = head_.harness = self_exe();
  }
  int run(GateOutcome* out, std::string* err);

 private:
  void say(const std::string& line) const {
    if (o_.say) o_.say(line);
  }
  bool open_sides(std::string* err);
  bool prepare(GateSide* side, std::string* err);
  bool use_head_harness(const std::vector<std::string>& changed, std::string* err);
  bool list_json(const GateSide& side, const std::vector<std::string>& args, const std::string& log, MatrixListing* doc,
                 std::string* err);
  bool load_world(GateSide* side, std::string* err, std::string* name = nullptr);
  bool gate_cells(std::string* err);
  bool base_from_history(std::string* err);
  void choose_affected();
  bool run_matrix(GateSide* side, const std::string& matrix, const std::vector<std::string>& only,
                  const std::string& dir, bool cached, const std::vector<std::string>& extra, json* report,
                  std::string* err);
  void read_base_from_history();
  bool run_sides(std::string* err);
  bool rerun_doubtful(VerdictSet* set, size_t* reruns, size_t* workaround_boots, std::string* err);
  json gate_meta(size_t reruns, size_t workaround_boots) const;
  bool write_outputs(GateOutcome* out, std::string* err);

  GateOptions o_;
  GateEnvironment& env_;
  std::string repo_, matrix_, cache_dir_;
  GateSide base_, head_;
  bool from_history_ = false;
  std::string world_name_, gate_name_;
  std::set<std::string> always_;
  std::vector<std::string> affected_head_, affected_base_;
  json affected_meta_ = json::array();
  std::map<std::string, json> recorded_;  ///< --baseline history: the base's results by cell id
  std::vector<std::string> recorded_from_;
};

std::string side_dir(const GateOptions& o, const GateSide& s) { return fs::absolute(o.workdir).string() + "/" + s.name; }

/// A report's cells by id (null for a report that is not an object).
std::map<std::string, const json*> cells_by_id(const json& report) {
  std::map<std::string, const json*> out;
  if (const json* cells = report_cells(report))
    for (const json& c : *cells) out[report_cell_id(c)] = &c;
  return out;
}

/// Checks out and builds one side's guest images; false with *err naming the side. A side
/// that does not build leaves no worktree behind.
bool Gate::prepare(GateSide* side, std::string* err) {
  RevisionTree& t = side->tree;
  const std::string dir = side_dir(o_, *side);
  t.build = dir + "/build";
  t.images = t.build + "/images";
  if (t.dirty) {
    t.src = repo_;
    say(fmt::format("gate: {} = working tree of {} (dirty)", side->name, repo_));
  } else {
    t.src = dir + "/src";
    say(fmt::format("gate: {} = {} ({})", side->name, t.rev, t.commit.substr(0, 12)));
    if (!env_.checkout(t.commit, t.src, err)) {
      *err = fmt::format("{} {}: {}", side->name, t.rev, *err);
      return false;
    }
  }
  if (!env_.build_images(t.src, t.build, err)) {
    *err = fmt::format("{} {} ({}) does not build: {}", side->name, t.rev, t.commit.substr(0, 12), *err);
    if (!t.dirty) env_.discard(t.src);
    return false;
  }
  return true;
}

/// The head's harness judges the head when the change touches the harness: this binary may
/// not even parse the head's hypervisor definitions.
bool Gate::use_head_harness(const std::vector<std::string>& changed, std::string* err) {
  const auto h = harness_paths(changed);
  if (h.empty()) return true;
  say(fmt::format("gate: the change touches the harness ({}{}): the head's own pvmatrix runs and judges the head",
                  join(std::vector<std::string>(h.begin(), h.begin() + std::min<size_t>(h.size(), 3)), ", "),
                  h.size() > 3 ? ", ..." : ""));
  if (!env_.build_harness(head_.tree.build, err)) {
    if (!head_.tree.dirty) env_.discard(head_.tree.src);
    *err = fmt::format("head {} ({}) does not build: {}", head_.tree.rev, head_.tree.commit.substr(0, 12), *err);
    return false;
  }
  head_.harness = head_.tree.build + "/pvmatrix";
  return true;
}

/// Both revisions resolved, checked out and built (the base only when it is booted).
bool Gate::open_sides(std::string* err) {
  auto repo = env_.repository(err);
  if (!repo) return false;
  repo_ = *repo;
  matrix_ = o_.matrix;
  if (!fs::exists(matrix_) && fs::exists(repo_ + "/" + matrix_)) matrix_ = repo_ + "/" + matrix_;
  if (!fs::exists(matrix_)) return *err = "matrix file not found: " + o_.matrix, false;
  matrix_ = fs::absolute(matrix_).string();
  base_.tree.rev = o_.base;
  head_.tree.rev = o_.head;
  for (GateSide* s : {&base_, &head_}) {
    auto commit = env_.resolve(s->tree.rev, err);
    if (!commit) return *err = fmt::format("--{}: {}", s->name, *err), false;
    s->tree.commit = *commit;
  }
  // A dirty work tree as head: gate what the user has, and say so.
  if (o_.head == "HEAD" && env_.dirty()) head_.tree.dirty = true;
  auto changed = env_.changed(base_.tree.commit, head_.tree.dirty ? "" : head_.tree.commit, err);
  if (!changed) return false;
  from_history_ = o_.baseline == "history";
  if (from_history_) {
    base_.harness.clear();
    say(fmt::format("gate: base = {} ({}), from the history store", base_.tree.rev, base_.tree.commit.substr(0, 12)));
  }
  for (GateSide* s : {&base_, &head_})
    if (!(from_history_ && s == &base_) && !prepare(s, err)) return false;
  return use_head_harness(*changed, err);
}

/// `side.harness list ARGS` as a listing (stdout and stderr come together: the document starts at
/// its first brace). False with *err naming the side, and the command's last lines or what in its
/// document is wrong.
bool Gate::list_json(const GateSide& side, const std::vector<std::string>& args, const std::string& log,
                     MatrixListing* listing, std::string* err) {
  std::string output;
  std::vector<std::string> argv{"list"};
  argv.insert(argv.end(), args.begin(), args.end());
  int rc = env_.pvmatrix(side, argv, o_.out + "/" + side.name + "." + log + ".log", "", &output);
  const size_t brace = output.find('{');
  const json doc = rc == 0 && brace != std::string::npos ? json::parse(output.substr(brace), nullptr, false) : json();
  std::string why;
  if (rc != 0 || !read_matrix_listing(doc, listing, &why)) {
    *err = fmt::format("{}: {} list {} exited {}{}:\n{}", side.name, side.harness, join(args, " "), rc,
                       rc == 0 ? ", " + why : "", tail_lines(output, 15));
    return false;
  }
  return true;
}

/// The world's cells of one side with their inputs (`pvmatrix list WORLD --inputs`); *name (may
/// be null) = the world matrix's name.
bool Gate::load_world(GateSide* side, std::string* err, std::string* name) {
  if (o_.world.empty()) return true;
  std::string path = side->tree.src + "/" + o_.world;
  if (!fs::exists(path)) {
    say(fmt::format("gate: {} has no {}: only the gate matrix is compared there", side->name, o_.world));
    return true;
  }
  side->world_matrix = path;
  MatrixListing listing;
  if (!list_json(*side, {path, "--inputs"}, "world-list", &listing, err)) return false;
  if (name) *name = listing.name;
  for (ListedCell& c : listing.cells) {
    if (!c.inputs)
      return *err = fmt::format("{}: {} list {} --inputs: cell {} has no inputs", side->name, side->harness, path, c.id),
             false;
    side->world[c.id] = {c.kernel, c.hv, c.config, std::move(*c.inputs)};
  }
  return true;
}

/// The cell ids of the gate matrix as the head's harness expands it, and the matrix's name.
bool Gate::gate_cells(std::string* err) {
  MatrixListing listing;
  if (!list_json(head_, {matrix_, "--json"}, "gate-list", &listing, err)) return false;
  gate_name_ = listing.name;
  for (const ListedCell& c : listing.cells) always_.insert(c.id);
  return true;
}

/// The base side from the history store (`--baseline history`): nothing checked out, built or
/// booted. The world's cells and their inputs come from the last complete, clean run of the world
/// matrix on the base commit; each gate cell's result from the last such run of the gate matrix,
/// else from that world run. A cell neither holds, or a world run recorded without inputs (an
/// imported report, an older pvmatrix), is an error: the gate would judge against nothing.
bool Gate::base_from_history(std::string* err) {
  const std::string world_name = head_.world_matrix.empty() ? "" : world_name_;
  const std::string location = o_.history.empty() ? default_history_location(o_.out) : o_.history;
  HistoryOpenError why;
  auto store = HistoryStore::open(location, /*create=*/false, err, &why);
  if (!store) return false;
  const std::string commit = base_.tree.commit;
  auto hint = [&](const std::string& name) {
    return fmt::format("; run `pvmatrix run` of matrix {} on {} ({}) with --history {} first, or gate without "
                       "--baseline history",
                       name, base_.tree.rev, commit.substr(0, 12), HistoryStore::display(location));
  };
  HistoryBaseline gate_run, world_run;
  std::string why_not;
  if (store->baseline(gate_name_, commit, nullptr, &gate_run, &why_not)) recorded_from_.push_back(gate_run.label);
  else gate_run.report = json();
  std::set<std::string> in_world;
  if (!world_name.empty()) {
    if (!store->baseline(world_name, commit, nullptr, &world_run, err)) return *err += hint(world_name), false;
    recorded_from_.push_back(world_run.label);
    for (const json& c : *report_cells(world_run.report)) {
      const ReportCell cell = read_report_cell(c);
      auto inputs = world_run.inputs.find(cell.id);
      if (inputs == world_run.inputs.end()) {
        *err = fmt::format("{}: cell {} was recorded without its inputs (an imported report, or a pvmatrix before "
                           "history schema 2): the affected cells cannot be chosen{}",
                           world_run.label, cell.id, hint(world_name));
        return false;
      }
      base_.world[cell.id] = {cell.kernel, cell.hv, cell.config, inputs->second};
      recorded_[cell.id] = c;
      in_world.insert(cell.id);
    }
  }
  std::vector<std::string> missing;
  const auto from_gate = cells_by_id(gate_run.report);
  for (const std::string& id : always_) {
    if (auto c = from_gate.find(id); c != from_gate.end()) recorded_[id] = *c->second;
    else if (!in_world.count(id)) missing.push_back(id);
  }
  if (missing.empty()) return true;
  *err = fmt::format("no recorded result on {} ({}) for {} cell(s) of matrix {}, e.g. {} (searched: {}){}",
                     base_.tree.rev, commit.substr(0, 12), missing.size(), gate_name_, missing.front(),
                     recorded_from_.empty() ? "no run of " + gate_name_ + (world_name.empty() ? "" : " or " + world_name)
                                            : join(recorded_from_, "; "),
                     hint(gate_name_));
  return false;
}

/// Every world cell of the head whose inputs the change touched (and that the gate matrix does
/// not already hold), grouped by why.
void Gate::choose_affected() {
  std::vector<std::pair<std::string, size_t>> groups;  // why -> cells, in order of first appearance
  for (const auto& [id, cell] : head_.world) {
    auto b = base_.world.find(id);
    std::string why = why_affected(b == base_.world.end() ? nullptr : &b->second, cell);
    if (why.empty() || always_.count(id)) continue;
    affected_head_.push_back(id);
    if (b != base_.world.end()) affected_base_.push_back(id);
    auto g = std::find_if(groups.begin(), groups.end(), [&](const auto& x) { return x.first == why; });
    if (g == groups.end()) groups.push_back({why, 1});
    else ++g->second;
  }
  std::string line = fmt::format("gate: {} cells of {} always", always_.size(), fs::path(matrix_).filename().string());
  if (groups.empty()) line += fmt::format("; the change touches no other cell of {}", o_.world.empty() ? "the world" : o_.world);
  say(line);
  for (const auto& [why, n] : groups) {
    say(fmt::format("gate: +{} cells: {}", n, why));
    affected_meta_.push_back({{"why", why}, {"cells", n}});
  }
}

/// One `pvmatrix run` of `side` into OUT/<dir>; its report into *report; the cache's counts
/// (meta.cache of a cached run) added to the side's.
bool Gate::run_matrix(GateSide* side, const std::string& matrix, const std::vector<std::string>& only,
                      const std::string& dir, bool cached, const std::vector<std::string>& extra, json* report,
                      std::string* err) {
  const std::string out = o_.out + "/" + dir;
  std::vector<std::string> args{"run", matrix, "--out", out};
  if (cached) args.push_back("--cache");
  if (!only.empty()) args.insert(args.end(), {"--only", join(only, ",")});
  if (!o_.qemu.empty()) args.insert(args.end(), {"--qemu", o_.qemu});
  if (o_.jobs > 0) args.insert(args.end(), {"-j", std::to_string(o_.jobs)});
  args.insert(args.end(), extra.begin(), extra.end());
  std::string output, log = dir + ".run";
  std::replace(log.begin(), log.end(), '/', '.');
  int rc = env_.pvmatrix(*side, args, o_.out + "/" + log + ".log", cache_dir_, &output);
  if (rc != 0 && rc != 1) {
    *err = fmt::format("{}: pvmatrix run {} exited {} ({}):\n{}", side->name, matrix, rc, side->harness,
                       tail_lines(output, 15));
    return false;
  }
  if (!read_report(out + "/report.json", report, err)) return false;
  if (!cached) return true;  // every cell and every workaround tried was a boot
  if (const auto counts = read_report_header(*report).meta.cache) {
    if (side->hits >= 0) side->hits += counts->hits;
    if (side->boots >= 0) side->boots += counts->boots;
  } else {
    side->hits = side->boots = -1;  // a pvmatrix that does not record its cache's counts
  }
  return true;
}

/// The base's report from what the history store recorded: the gate cells and the affected ones.
void Gate::read_base_from_history() {
  json cells = json::array();
  for (const std::string& id : always_)
    if (auto c = recorded_.find(id); c != recorded_.end()) cells.push_back(c->second);
  for (const std::string& id : affected_base_) cells.push_back(recorded_.at(id));
  base_.report = report_document({{"history", recorded_from_}}, std::move(cells), /*complete=*/true);
  say(fmt::format("gate: base: {} cells from the history store, 0 booted", report_cells(base_.report)->size()));
}

/// Both sides through `pvmatrix run`, cached; a base from the history store is read, not run.
bool Gate::run_sides(std::string* err) {
  if (from_history_) read_base_from_history();
  for (GateSide* s : {&base_, &head_}) {
    if (from_history_ && s == &base_) continue;
    json gate_report, world_report;
    if (!run_matrix(s, matrix_, {}, s->name, true, {}, &gate_report, err)) return false;
    const auto& extra = s == &head_ ? affected_head_ : affected_base_;
    if (!extra.empty() && !run_matrix(s, s->world_matrix, extra, s->name + "/world", true, {}, &world_report, err))
      return false;
    s->report = combine_reports(std::move(gate_report), world_report, "world");
    say(fmt::format("gate: {}: {} cells, {} booted, {} from cache", s->name, report_cells(s->report)->size(), s->boots,
                    s->hits));
  }
  return true;
}

/// Doubtful cells boot once more, fresh, by the head's harness, with the workaround search for
/// what still does not work; their verdicts are confirmed or revised, failing cells first.
bool Gate::rerun_doubtful(VerdictSet* set, size_t* reruns, size_t* workaround_boots, std::string* err) {
  const auto in_base = cells_by_id(base_.report);
  std::vector<std::string> rerun_gate, rerun_world;
  for (const auto& v : set->cells)
    if (v.needs_rerun && in_base.count(v.id)) (always_.count(v.id) ? rerun_gate : rerun_world).push_back(v.id);
  std::map<std::string, std::pair<json, ReportCell>> rerun_cells;  // by id: the cell object, as read
  std::string run_help;
  if (!rerun_gate.empty() || !rerun_world.empty())
    env_.pvmatrix(head_, {"run", "--help"}, o_.out + "/head.run-help.log", "", &run_help);
  for (auto [ids, m, dir] : {std::tuple{&rerun_gate, matrix_, std::string("head/rerun")},
                             std::tuple{&rerun_world, head_.world_matrix, std::string("head/rerun-world")}}) {
    if (ids->empty()) continue;
    // A patch that broke dozens of cells is rejected by any of them: the search is bounded. A head's
    // own older pvmatrix may not know the options: then its re-runs go without the search.
    std::vector<std::string> extra{"--retries", "0"};
    if (run_help.find("--workaround-cells") != std::string::npos)
      extra.insert(extra.end(), {"--workarounds", "--workaround-cells", std::to_string(kWorkaroundCells)});
    json r;
    if (!run_matrix(&head_, m, *ids, dir, false, extra, &r, err)) return false;
    for (const json& c : *report_cells(r)) {  // read_report checked it
      ReportCell read = read_report_cell(c);
      ++*reruns;
      *workaround_boots += read.workarounds.size();
      std::string id = read.id;
      rerun_cells[id] = {c, std::move(read)};
    }
  }
  for (auto& v : set->cells) {
    auto r = rerun_cells.find(v.id);
    if (r == rerun_cells.end()) continue;
    const auto& [cell, read] = r->second;
    confirm_with_rerun(&v, *in_base.at(v.id), cell);
    if (v.verdict == Verdict::Regression) v.workarounds = read.workarounds;
  }
  // What fails the gate first again: re-runs may have changed verdicts.
  std::stable_sort(set->cells.begin(), set->cells.end(), [](const CellVerdict& a, const CellVerdict& b) {
    auto failing = [](const CellVerdict& v) { return v.verdict == Verdict::Regression || v.verdict == Verdict::BindingLost; };
    return failing(a) > failing(b);
  });
  return true;
}

json Gate::gate_meta(size_t reruns, size_t workaround_boots) const {
  json base_meta = {{"rev", o_.base}, {"commit", base_.tree.commit}, {"harness", base_.harness}};
  if (from_history_)
    base_meta = {{"rev", o_.base}, {"commit", base_.tree.commit}, {"harness", nullptr}, {"history", recorded_from_}};
  return {{"base", base_meta},
          {"head", {{"rev", o_.head}, {"commit", head_.tree.commit}, {"dirty", head_.tree.dirty},
                    {"harness", head_.harness}}},
          {"always", always_.size()},
          {"affected", affected_meta_},
          {"boots", {{"base", base_.boots}, {"head", head_.boots}, {"reruns", reruns}, {"workarounds", workaround_boots}}},
          {"cache_hits", {{"base", base_.hits}, {"head", head_.hits}}},
          {"cache_dir", cache_dir_}};
}

/// The head's reports carry the verdicts; verdicts.json and summary.md beside them.
bool Gate::write_outputs(GateOutcome* out, std::string* err) {
  annotate_report(&head_.report, out->verdicts);
  set_report_gate(&head_.report, out->meta);
  if (!write_reports(head_.report, o_.out + "/head", default_report_writers(), err)) return false;
  json vj = out->verdicts;
  vj["gate"] = out->meta;
  out->markdown = render_markdown(out->verdicts);
  return write_file_atomically(o_.out + "/verdicts.json", vj.dump(2) + "\n", err) &&
         write_file_atomically(o_.out + "/summary.md", out->markdown, err);
}

int Gate::run(GateOutcome* out, std::string* err) {
  cache_dir_ = o_.cache_dir.empty() ? default_cache_dir() : fs::absolute(o_.cache_dir).string();
  o_.out = fs::absolute(o_.out).string();
  out->out = o_.out;
  if (!open_sides(err)) return 2;
  // Which cells: the gate matrix's, and every world cell whose inputs the change touched.
  if (!load_world(&head_, err, &world_name_) || !gate_cells(err)) return 2;
  if (from_history_) {
    if (!base_from_history(err)) return *err = "--baseline history: " + *err, 2;
    for (const std::string& label : recorded_from_) say("gate: base: " + label);
  } else if (!load_world(&base_, err)) {
    return 2;
  }
  choose_affected();
  if (!run_sides(err)) return 2;

  VerdictSet& set = out->verdicts;
  set.base_label = fmt::format("{} ({}{})", o_.base, base_.tree.commit.substr(0, 12), from_history_ ? ", recorded" : "");
  set.head_label = fmt::format("{} ({}{})", o_.head, head_.tree.commit.substr(0, 12), head_.tree.dirty ? ", dirty" : "");
  if (!diff(base_.report, head_.report, &set, err)) return 2;
  if (!rerun_doubtful(&set, &out->reruns, &out->workaround_boots, err)) return 2;
  out->meta = gate_meta(out->reruns, out->workaround_boots);
  out->boots[0] = base_.boots, out->boots[1] = head_.boots;
  out->hits[0] = base_.hits, out->hits[1] = head_.hits;
  if (!write_outputs(out, err)) return 2;
  return set.fails() ? 1 : 0;
}

}  // namespace

std::unique_ptr<GateEnvironment> process_gate_environment(int build_jobs) {
  return std::make_unique<ProcessGateEnvironment>(build_jobs);
}

int run_gate(GateOptions o, GateEnvironment& env, GateOutcome* out, std::string* err) {
  Gate gate(std::move(o), env);
  return gate.run(out, err);
}

std::vector<std::string> harness_paths(const std::vector<std::string>& changed) {
  std::vector<std::string> out;
  for (const auto& p : changed)
    if (p.rfind("harness/", 0) == 0 || p.rfind("reports/", 0) == 0 || p.rfind("hypervisor-versions/rom/include/", 0) == 0 ||
        p.rfind("cmake/", 0) == 0 || p == "CMakeLists.txt")
      out.push_back(p);
  return out;
}

std::string why_affected(const GateWorldCell* base, const GateWorldCell& head) {
  if (!base) return "new in the head's world";
  for (const std::string& d : head.inputs.differences(base->inputs)) {
    if (d == "kernel") return "kernel " + head.kernel + " changed";
    if (d == "initrd") return "the guest agent changed";
    if (d == "cmdline") return "config " + head.config + " changed";
    return head.hv + " changed";  // rom, hypervisor, platform
  }
  return "";
}

json combine_reports(json primary, const json& extra, const std::string& extra_dir) {
  if (extra.is_null()) return primary;
  json cells = report_cells(primary) ? *report_cells(primary) : json::array();
  std::set<std::string> ids;
  for (const json& c : cells) ids.insert(report_cell_id(c));
  if (const json* extra_cells = report_cells(extra))
    for (const json& c : *extra_cells) {
      if (ids.count(report_cell_id(c))) continue;
      cells.push_back(c);
      rebase_cell_log(&cells.back(), extra_dir);
    }
  ReportAxes axes = read_report_axes(primary);
  const ReportAxes extra_axes = read_report_axes(extra);
  auto add_missing = [](auto* to, const auto& from, auto name_of) {
    std::set<std::string> have;
    for (const auto& v : *to) have.insert(name_of(v));
    for (const auto& v : from)
      if (have.insert(name_of(v)).second) to->push_back(v);
  };
  auto itself = [](const std::string& s) { return s; };
  add_missing(&axes.kernels, extra_axes.kernels, itself);
  add_missing(&axes.hypervisors, extra_axes.hypervisors, itself);
  add_missing(&axes.configs, extra_axes.configs, [](const ReportAxisConfig& c) { return c.name; });
  sort_cells_by_axes(axes, &cells);
  const bool complete =
      read_report_header(primary).complete.value_or(false) && read_report_header(extra).complete.value_or(false);
  return make_report(report_meta(primary), json(axes), std::move(cells), complete);
}

}  // namespace pvm
