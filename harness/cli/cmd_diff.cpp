// `pvmatrix diff BASE.json HEAD.json`: per-cell verdicts of a run against a baseline run.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "history_store.h"
#include "json_text.h"
#include "preamble.h"
#include "verdicts.h"

namespace pvm::cli {
namespace {

struct DiffOptions {
  std::string base, head;
  std::string json_out;  ///< verdicts.json path ("" = none, "-" = stdout)
  std::string md_out;    ///< Markdown summary path ("" = none, "-" = stdout)
  std::string baseline;  ///< "history": the base comes from the history store (BASE omitted)
  std::string history;   ///< the store ("" = default_history_location(HEAD's directory))
  std::string base_rev;  ///< with --baseline history: the base run's revision (prefix; "" = any)
};

// `--baseline history`: the last complete run of HEAD's matrix in the store (not HEAD itself).
bool read_history_baseline(const DiffOptions& o, const nlohmann::json& head, nlohmann::json* base, std::string* label,
                           std::string* err) {
  std::string dir = std::filesystem::path(o.head).parent_path().string();
  std::string location = o.history.empty() ? default_history_location((dir.empty() ? "." : dir)) : o.history;
  HistoryBaseline baseline;
  if (history_baseline_for(location, head, o.base_rev, &baseline, err)) {
    *base = std::move(baseline.report);
    *label = std::move(baseline.label);
    return true;
  }
  if (err->rfind("meta.", 0) == 0) *err = o.head + ": " + *err;
  return false;
}

// Reads a report; on a syntax error `*err` is "file:line:col: message".
bool read_json(const std::string& path, nlohmann::json* out, std::string* err) {
  JsonError jerr;
  auto doc = JsonText::read_file(path, &jerr);
  if (!doc) {
    *err = jerr.to_string();
    return false;
  }
  *out = doc->root();
  return true;
}

bool write_text(const std::string& path, const std::string& text, std::string* err) {
  if (path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return true;
  }
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      *err = path + ": cannot write";
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    *err = path + ": cannot write";
    return false;
  }
  return true;
}

int run_diff(const DiffOptions& o) {
  nlohmann::json base, head;
  std::string err;
  std::string base_label = o.base;
  if (!read_json(o.head, &head, &err) ||
      (o.baseline == "history" ? !read_history_baseline(o, head, &base, &base_label, &err) : !read_json(o.base, &base, &err)))
    return command_error("diff", err);
  VerdictSet set;
  set.base_label = base_label;
  set.head_label = o.head;
  if (!diff(base, head, &set, &err)) {
    bool base_side = err.rfind("base: ", 0) == 0;
    std::string file = base_side ? base_label : o.head;
    return command_error("diff", file + ": " + err.substr(6));
  }
  std::string md = render_markdown(set);
  if (o.md_out != "-" && o.json_out != "-") std::fwrite(md.data(), 1, md.size(), stdout);
  if (!o.md_out.empty() && !write_text(o.md_out, md, &err)) return command_error("diff", err);
  if (!o.json_out.empty() && !write_text(o.json_out, nlohmann::json(set).dump(2) + "\n", &err))
    return command_error("diff", err);
  return set.fails() ? kExitFailure : kExitOk;
}

void setup_diff(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<DiffOptions>();
  auto* sub = app.add_subcommand("diff", "Verdicts of a run (HEAD report.json) against a baseline run (BASE report.json)");
  sub->footer(
      "Verdicts per cell: REGRESSION (worked, now fails), BINDING_LOST (works, but an op group it bound to the\n"
      "hypervisor runs native and no pv.native mask asks for it), FIXED, STILL_FAILING, BINDING_CHANGED (works,\n"
      "other op-group targets otherwise), NEW, GONE, ERROR (infrastructure on either side: never a regression),\n"
      "UNCHANGED. A cell works when PASS, XPASS or FLAKY. FLAKY cells are flagged 'needs re-run' (`pvmatrix gate`\n"
      "re-runs them).\n"
      "Exit status: 0 no regression, 1 a REGRESSION or BINDING_LOST, 2 bad input (file:line:col).");
  sub->add_option("BASE", opts->base, "Baseline report.json (omitted with --baseline history)");
  sub->add_option("HEAD", opts->head, "report.json to judge");
  sub->add_option("--baseline", opts->baseline,
                  "history: compare against the last complete run of HEAD's matrix in the history store")
      ->check(CLI::IsMember({"history"}));
  sub->add_option("--history", opts->history,
                  "History store (default: $PVMATRIX_HISTORY, else history.sqlite beside HEAD's directory)");
  sub->add_option("--base-rev", opts->base_rev, "With --baseline history: the base run's git revision (or a prefix)");
  sub->add_option("--json", opts->json_out, "Write verdicts.json here ('-' for stdout)");
  sub->add_option("--md", opts->md_out, "Write the Markdown summary here ('-' for stdout)");
  sub->callback([opts, &exit_code] {
    if (opts->baseline == "history" && opts->head.empty()) std::swap(opts->base, opts->head);  // one positional: HEAD
    if (opts->head.empty() || (opts->baseline.empty() && opts->base.empty()))
      throw CLI::RequiredError(opts->baseline.empty() ? "BASE and HEAD" : "HEAD");
    if (opts->baseline == "history" && !opts->base.empty())
      throw CLI::ValidationError("--baseline history", "takes HEAD only, not BASE");
    exit_code = run_diff(*opts);
  });
}

const Registrar registrar{"diff", setup_diff};

}  // namespace
}  // namespace pvm::cli
