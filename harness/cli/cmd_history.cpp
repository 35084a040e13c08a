// `pvmatrix history`: the runs recorded in the history store, and a cell's timeline.
//   pvmatrix history [--matrix M] [--json]              every run, newest first
//   pvmatrix history CELL-PATTERN [--matrix M] [--json] matching cells: history words + results
//   pvmatrix history import DIR/report.json...          record existing reports (idempotent)
// The store: --history, else $PVMATRIX_HISTORY, else out/history.sqlite (where `run` records).
#include <array>
#include <cstdio>
#include <cstring>
#include <optional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "history_page.h"
#include "history_store.h"
#include "matrix.h"
#include "preamble.h"
#include "report_model.h"
#include "run_report.h"

namespace pvm::cli {
namespace {
using nlohmann::json;

struct HistoryOptions {
  std::string store;    ///< "" = the default location
  std::string pattern;  ///< "" = list runs
  std::string matrix;   ///< "" = every matrix
  size_t limit = 0;     ///< runs listed (0 = all) / a cell's results shown (0 = 20)
  bool json = false;
  std::string html;     ///< write the history page here
  std::vector<std::string> imports;
};

constexpr size_t kDefaultCellResults = 20;

std::string store_location(const std::string& given) {
  return given.empty() ? default_history_location("out/nightly") : given;
}

int fail(const std::string& message) { return command_error("history", message); }

// "kernel=K/hv=H/cfg=C" -> {K, H, C}.
std::optional<std::array<std::string, 3>> split_cell_id(const std::string& id) {
  std::array<std::string, 3> out;
  const char* keys[] = {"kernel=", "hv=", "cfg="};
  size_t at = 0;
  for (int i = 0; i < 3; ++i) {
    if (id.compare(at, std::strlen(keys[i]), keys[i]) != 0) return std::nullopt;
    at += std::strlen(keys[i]);
    size_t end = i < 2 ? id.find('/', at) : id.size();
    if (end == std::string::npos) return std::nullopt;
    out[i] = id.substr(at, end - at);
    at = end + 1;
  }
  return out;
}

std::string counts_text(const std::map<std::string, int>& counts) {
  std::string out;
  for (const auto& [status, n] : counts) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", n, status);
  return out;
}

json run_json(const HistoryRun& r) {
  return {{"run", r.id},         {"matrix", r.matrix},   {"revision", r.revision.empty() ? json(nullptr) : json(r.revision)},
          {"dirty", r.dirty},    {"host", r.host},       {"started_at", r.started_at},
          {"complete", r.complete}, {"shard", r.shard.empty() ? json(nullptr) : json(r.shard)},
          {"source", r.source},  {"total", r.total},     {"unexpected", r.unexpected},
          {"by_status", r.by_status}};
}

int list_runs(HistoryStore& store, const HistoryOptions& o, const std::string& shown) {
  std::vector<HistoryRun> runs;
  std::string err;
  if (!store.runs(o.matrix, o.limit, &runs, &err)) return fail(shown + ": " + err);
  if (o.json) {
    json list = json::array();
    for (const HistoryRun& r : runs) list.push_back(run_json(r));
    std::printf("%s\n", json{{"store", shown}, {"runs", list}}.dump(2).c_str());
    return kExitOk;
  }
  std::printf("history store %s: %zu run%s\n", shown.c_str(), runs.size(), runs.size() == 1 ? "" : "s");
  if (runs.empty()) return kExitOk;
  std::printf("%6s  %-12s %-12s %-20s %-16s %6s %5s  %s\n", "run", "matrix", "revision", "started (UTC)", "host",
              "cells", "unexp", "counts");
  for (const HistoryRun& r : runs) {
    std::string rev = r.revision.empty() ? "-" : r.revision.substr(0, 10) + (r.dirty ? "+" : "");
    std::string notes;
    if (!r.complete) notes += " (partial)";
    if (!r.shard.empty()) notes += " shard " + r.shard;
    if (r.source != "run") notes += " imported";
    std::printf("%6lld  %-12s %-12s %-20s %-16s %6d %5d  %s%s\n", static_cast<long long>(r.id), r.matrix.c_str(),
                rev.c_str(), r.started_at.c_str(), r.host.substr(0, 16).c_str(), r.total, r.unexpected,
                counts_text(r.by_status).c_str(), notes.c_str());
  }
  return kExitOk;
}

int cell_timelines(HistoryStore& store, const HistoryOptions& o, const std::string& shown) {
  std::vector<CellPattern> patterns;
  std::string err;
  if (!parse_pattern_list(o.pattern, &patterns, &err)) return fail(fmt::format("CELL-PATTERN {}: {}", o.pattern, err));
  // The matching cell ids first (from the index), then only their results.
  std::vector<std::string> all, matching;
  if (!store.cells(&all, &err)) return fail(shown + ": " + err);
  for (const std::string& id : all) {
    std::optional<std::array<std::string, 3>> parts = split_cell_id(id);
    if (!parts) continue;
    for (const CellPattern& p : patterns)
      if (p.matches((*parts)[0], (*parts)[1], (*parts)[2])) {
        matching.push_back(id);
        break;
      }
  }
  if (matching.empty()) return fail(fmt::format("no cell in {} matches {}", shown, o.pattern));
  std::vector<HistoryResult> results;
  if (!store.results(o.matrix, &results, &err, &matching)) return fail(shown + ": " + err);
  // (matrix, cell) -> its results, in the order cells first appear.
  auto [order, by_cell] = group_by_cell(results);
  if (order.empty()) return fail(fmt::format("no cell in {} matches {}", shown, o.pattern));
  const size_t shown_results = o.limit ? o.limit : kDefaultCellResults;
  json cells = json::array();
  for (const auto& key : order) {
    const auto& rs = by_cell[key];
    std::vector<HistoryEntry> timeline;
    for (const HistoryResult* r : rs) timeline.push_back(r->entry);
    HistoryWords words = history_words(timeline);
    size_t from = rs.size() > shown_results ? rs.size() - shown_results : 0;
    if (o.json) {
      json list = json::array();
      for (size_t i = from; i < rs.size(); ++i)
        list.push_back({{"run", rs[i]->entry.run}, {"status", rs[i]->entry.status},
                        {"revision", rs[i]->entry.revision}, {"started_at", rs[i]->entry.started_at},
                        {"stage", rs[i]->stage}, {"reason", rs[i]->reason}});
      cells.push_back({{"id", key.second}, {"matrix", key.first}, {"kernel", rs[0]->kernel}, {"hv", rs[0]->hv},
                       {"config", rs[0]->config}, {"history", words}, {"results", list}});
      continue;
    }
    std::printf("%s (matrix %s): %s\n", key.second.c_str(), key.first.c_str(), words.text.c_str());
    if (from > 0) std::printf("  ... %zu earlier result%s\n", from, from == 1 ? "" : "s");
    for (size_t i = from; i < rs.size(); ++i) {
      const HistoryResult& r = *rs[i];
      std::string rev = r.entry.revision.empty() ? "-" : r.entry.revision.substr(0, 10);
      std::string why = r.entry.status == "PASS" ? "" : r.reason.substr(0, 100);
      std::printf("  run %-6lld %-20s %-10s %-6s %s\n", static_cast<long long>(r.entry.run), r.entry.started_at.c_str(),
                  rev.c_str(), r.entry.status.c_str(), why.c_str());
    }
  }
  if (o.json) std::printf("%s\n", json{{"store", shown}, {"cells", cells}}.dump(2).c_str());
  return kExitOk;
}

int run_history(const HistoryOptions& o) {
  const std::string location = store_location(o.store);
  const std::string shown = HistoryStore::display(location);
  std::string err;
  HistoryOpenError why;
  auto store = HistoryStore::open(location, /*create=*/false, &err, &why);
  if (!store) return fail(err);
  if (!o.html.empty()) {
    if (!write_history_page(*store, o.matrix, o.html, &err)) return fail(err);
    std::printf("pvmatrix history: page -> %s\n", o.html.c_str());
    return kExitOk;
  }
  return o.pattern.empty() ? list_runs(*store, o, shown) : cell_timelines(*store, o, shown);
}

int run_import(const HistoryOptions& o) {
  const std::string location = store_location(o.store);
  std::string err;
  // Every file is read before anything is written: a bad one changes nothing.
  std::vector<json> reports(o.imports.size());
  for (size_t i = 0; i < o.imports.size(); ++i) {
    if (!read_report(o.imports[i], &reports[i], &err)) return fail(err);  // a report.json, cells checked
  }
  HistoryOpenError why;
  auto store = HistoryStore::open(location, /*create=*/true, &err, &why);
  if (!store) return fail(err);
  size_t added = 0;
  for (size_t i = 0; i < o.imports.size(); ++i) {
    int64_t run = 0;
    bool already = false;
    if (!store->record(reports[i], o.imports[i], &run, &already, &err))
      return fail(fmt::format("{}: {}", o.imports[i], err));
    if (!already) ++added;
    std::printf("%s: %s run %lld (%zu cells)\n", o.imports[i].c_str(), already ? "already recorded as" : "recorded as",
                static_cast<long long>(run), report_cells(reports[i])->size());
  }
  std::printf("pvmatrix history import: %zu new run%s in %s\n", added, added == 1 ? "" : "s",
              HistoryStore::display(location).c_str());
  return kExitOk;
}

void setup_history(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<HistoryOptions>();
  CLI::App* sub = app.add_subcommand("history", "Runs recorded in the history store; a cell's timeline and history words");
  sub->footer(
      "Store: --history PATH (SQLite file) or postgresql://..., else $PVMATRIX_HISTORY, else out/history.sqlite\n"
      "(where `pvmatrix run` records by default).\n"
      "Examples: pvmatrix history; pvmatrix history 'kernel=2.6.25/hv=rom-1.12'; pvmatrix history --html history.html;\n"
      "          pvmatrix history import out/a/report.json out/b/report.json\n"
      "Exit status: 0 shown, 2 bad input, no store, no matching cell, or a store of a newer schema.");
  sub->add_option("--history", o->store, "History store: an SQLite file, or a postgresql:// URI");
  sub->add_option("pattern", o->pattern, "Cell pattern (kernel=GLOB/hv=GLOB/cfg=GLOB): show those cells' timelines");
  sub->add_option("--matrix", o->matrix, "Only runs of this matrix (its name, e.g. nightly)");
  sub->add_option("--limit", o->limit, "Runs listed (default all); a cell's results shown (default 20)");
  sub->add_flag("--json", o->json, "JSON instead of text");
  sub->add_option("--html", o->html, "Write the history page (one self-contained HTML file) here");

  CLI::App* imp = sub->add_subcommand("import", "Record existing report.json files (shards included); idempotent");
  imp->add_option("reports", o->imports, "report.json files")->required()->check(CLI::ExistingFile);
  imp->add_option("--history", o->store, "History store: an SQLite file, or a postgresql:// URI");
  imp->callback([o, &exit_code] { exit_code = run_import(*o); });

  sub->require_subcommand(0, 1);
  sub->callback([o, sub, &exit_code] {
    if (!sub->get_subcommands().empty()) return;
    exit_code = run_history(*o);
  });
}

const Registrar registrar("history", setup_history);

}  // namespace
}  // namespace pvm::cli
