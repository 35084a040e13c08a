// `pvmatrix report`: work on report.json files after a run.
//   pvmatrix report merge a.json b.json ... -o all.json   merge shards (conflicts are errors)
//   pvmatrix report REPORT.json [--baseline B] -o report.html   (HTML: see setup_report_html)
// Each form is one small function; the HTML renderer lives in reports/html_report.*.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "html_report.h"
#include "preamble.h"
#include "report_model.h"
#include "run_report.h"

namespace pvm::cli {
namespace {

struct MergeOptions {
  std::vector<std::string> inputs;
  std::string output;
  bool write_all = false;  ///< also junit.xml, summary.md, report.html beside the output
};

int run_report_merge(const MergeOptions& o) {
  auto fail = [](const std::string& message) { return command_error("report merge", message); };
  std::vector<nlohmann::json> reports(o.inputs.size());
  std::string err;
  for (size_t i = 0; i < o.inputs.size(); ++i)
    if (!read_report(o.inputs[i], &reports[i], &err)) return fail(err);
  nlohmann::json merged;
  if (!merge_reports(reports, o.inputs, &merged, &err)) return fail(err);
  std::string text;
  if (!make_json_report()->render(merged, &text, &err)) return fail(err);
  if (!write_file_atomically(o.output, text, &err)) return fail(err);
  if (o.write_all) {
    std::string dir = std::filesystem::path(o.output).parent_path().string();
    auto writers = default_report_writers();
    std::erase_if(writers, [](const auto& w) { return w->file_name() == "report.json"; });
    if (!write_reports(merged, dir.empty() ? "." : dir, writers, &err)) return fail(err);
  }
  const ReportHeader h = read_report_header(merged);
  std::printf("pvmatrix report merge: %zu reports, %zu cells%s -> %s\n", o.inputs.size(), report_cells(merged)->size(),
              h.complete.value_or(false) ? "" : " (partial)", o.output.c_str());
  return h.unexpected > 0 ? kExitFailure : kExitOk;
}

void setup_report_merge(CLI::App& report, int& exit_code) {
  auto o = std::make_shared<MergeOptions>();
  CLI::App* sub = report.add_subcommand("merge", "Merge the report.json of shards (--shard K/N) into one");
  sub->footer("Inputs must come from the same matrix file and git revision; a cell in two inputs is an error.\n"
              "Exit status: 0 merged and every cell as expected, 1 merged with unexpected results, 2 error.");
  sub->add_option("reports", o->inputs, "report.json files")->required()->check(CLI::ExistingFile);
  sub->add_option("-o,--output", o->output, "Merged report.json")->required();
  sub->add_flag("--all", o->write_all, "Also write junit.xml, summary.md and report.html beside it");
  sub->callback([o, &exit_code] { exit_code = run_report_merge(*o); });
}

struct HtmlOptions {
  std::string input;     ///< report.json to render
  std::string baseline;  ///< baseline report.json ("" = none): cells then show their verdicts
  std::string output;    ///< report.html
};

int run_report_html(const HtmlOptions& o) {
  auto fail = [](const std::string& message) { return command_error("report", message); };
  if (o.output.empty()) return fail("-o report.html is required");
  nlohmann::json report, baseline;
  std::string err;
  if (!read_report(o.input, &report, &err)) return fail(err);
  if (!o.baseline.empty() && !read_report(o.baseline, &baseline, &err)) return fail(err);
  try {
    write_html_report(report, o.output, o.baseline.empty() ? nullptr : &baseline);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  std::printf("pvmatrix report: %zu cells%s -> %s\n", report_cells(report)->size(),  // read_report: it has cells
              o.baseline.empty() ? "" : (" against " + o.baseline).c_str(), o.output.c_str());
  return kExitOk;
}

// `pvmatrix report REPORT.json [--baseline B] -o report.html`: the positional lives on the
// `report` command itself; its callback runs only when no subcommand (merge) was given.
void setup_report_html(CLI::App& report, int& exit_code) {
  auto o = std::make_shared<HtmlOptions>();
  report.add_option("report", o->input, "report.json to render as one self-contained report.html")
      ->check(CLI::ExistingFile);
  report.add_option("--baseline", o->baseline, "Baseline report.json: show each cell's verdict against it")
      ->check(CLI::ExistingFile);
  report.add_option("-o,--output", o->output, "report.html to write");
  report.callback([o, &report, &exit_code] {
    if (!report.get_subcommands().empty()) return;
    if (o->input.empty()) throw CLI::RequiredError("REPORT.json (or the merge subcommand)");
    exit_code = run_report_html(*o);
  });
}

void setup_report(CLI::App& app, int& exit_code) {
  CLI::App* report = app.add_subcommand("report", "Work on report.json files: merge shards, render HTML");
  setup_report_merge(*report, exit_code);
  setup_report_html(*report, exit_code);
  report->require_subcommand(0, 1);
}

const Registrar registrar("report", setup_report);

}  // namespace
}  // namespace pvm::cli
