// `pvmatrix diff BASE.json HEAD.json`: per-cell verdicts of a run against a baseline run.
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "command.h"
#include "json_text.h"
#include "verdicts.h"

namespace pvm::cli {
namespace {

struct DiffOptions {
  std::string base, head;
  std::string json_out;  ///< verdicts.json path ("" = none, "-" = stdout)
  std::string md_out;    ///< Markdown summary path ("" = none, "-" = stdout)
};

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
  if (!read_json(o.base, &base, &err) || !read_json(o.head, &head, &err)) {
    std::fprintf(stderr, "pvmatrix diff: %s\n", err.c_str());
    return kExitUsage;
  }
  VerdictSet set;
  set.base_label = o.base;
  set.head_label = o.head;
  if (!diff(base, head, &set, &err)) {
    bool base_side = err.rfind("base: ", 0) == 0;
    std::string file = base_side ? o.base : o.head;
    std::fprintf(stderr, "pvmatrix diff: %s: %s\n", file.c_str(), err.substr(6).c_str());
    return kExitUsage;
  }
  std::string md = render_markdown(set);
  if (o.md_out != "-" && o.json_out != "-") std::fwrite(md.data(), 1, md.size(), stdout);
  if (!o.md_out.empty() && !write_text(o.md_out, md, &err)) {
    std::fprintf(stderr, "pvmatrix diff: %s\n", err.c_str());
    return kExitUsage;
  }
  if (!o.json_out.empty() && !write_text(o.json_out, nlohmann::json(set).dump(2) + "\n", &err)) {
    std::fprintf(stderr, "pvmatrix diff: %s\n", err.c_str());
    return kExitUsage;
  }
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
  sub->add_option("BASE", opts->base, "Baseline report.json")->required();
  sub->add_option("HEAD", opts->head, "report.json to judge")->required();
  sub->add_option("--json", opts->json_out, "Write verdicts.json here ('-' for stdout)");
  sub->add_option("--md", opts->md_out, "Write the Markdown summary here ('-' for stdout)");
  sub->callback([opts, &exit_code] { exit_code = run_diff(*opts); });
}

const Registrar registrar{"diff", setup_diff};

}  // namespace
}  // namespace pvm::cli
