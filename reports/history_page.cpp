#include "history_page.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "atomic_file.h"
#include "history_store.h"
#include "markup.h"

namespace pvm {
namespace {

// The report's colours (reports/html/report.css), so both pages read alike.
const char* kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse}td,th{padding:2px 6px;text-align:left;vertical-align:top}
.grid td.s{padding:0;width:12px;height:16px}
.grid td.s span{display:block;width:10px;height:14px;margin:1px;border-radius:2px}
.PASS{background:#2e7d32}.XPASS{background:#00838f}.FLAKY{background:#f9a825}
.FAIL,.CRASH,.HANG{background:#c62828}.XFAIL{background:#ad8c8c}.ERROR{background:#6a1b9a}
.SKIP{background:#bdbdbd}.none{background:#f2f2f2}
.words{color:#555;font-size:.92em}.cell{font-family:monospace;white-space:nowrap}
.rev{font-family:monospace}.legend span{display:inline-block;padding:0 6px;margin-right:4px;color:#fff;border-radius:2px}
)";

std::string esc(const std::string& s) { return xml_escape(s); }
std::string short_rev(const std::string& r) { return r.empty() ? "-" : r.substr(0, 10); }

}  // namespace

bool render_history_page(HistoryStore& store, const std::string& matrix, std::string* html, std::string* err) {
  std::vector<HistoryRun> runs;
  if (!store.runs(matrix, kHistoryPageRuns, &runs, err)) return false;
  std::reverse(runs.begin(), runs.end());  // oldest first, like a timeline
  std::vector<HistoryResult> results;  // the runs shown only: a year of history stays fast
  if (!store.results(matrix, &results, err, nullptr, kHistoryPageRuns)) return false;

  // Cells in the order they first appear; each cell's full timeline (for its words).
  auto [order, by_cell] = group_by_cell(results);
  std::sort(order.begin(), order.end());
  // Each cell's words from its whole timeline (as a run reports them), per matrix.
  std::map<std::pair<std::string, std::string>, HistoryWords> words_of;
  std::set<std::string> matrices;
  for (const auto& key : order) matrices.insert(key.first);
  for (const std::string& m : matrices) {
    std::map<std::string, std::vector<HistoryEntry>> timelines;
    std::set<std::string> cut;
    if (!store.timelines(m, 0, &timelines, err, &cut)) return false;
    for (const auto& [cell, timeline] : timelines)
      words_of[{m, cell}] = history_words(timeline, kHistoryWindow, cut.count(cell) > 0);
  }
  std::map<int64_t, const HistoryRun*> run_by_id;
  for (const HistoryRun& r : runs) run_by_id[r.id] = &r;

  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">";
  std::string title = matrix.empty() ? "pvmatrix history" : "pvmatrix history: " + matrix;
  out += "<title>" + esc(title) + "</title><style>" + kStyle + "</style></head><body>\n";
  out += "<h1>" + esc(title) + "</h1>\n";
  out += fmt::format("<p id=\"summary\">{} runs shown (the newest {} at most), {} cells, store {}.</p>\n", runs.size(),
                     kHistoryPageRuns, order.size(), esc(HistoryStore::display(store.location())));
  out += "<p class=\"legend\">";
  for (const char* s : {"PASS", "XPASS", "FLAKY", "FAIL", "CRASH", "HANG", "XFAIL", "ERROR", "SKIP"})
    out += fmt::format("<span class=\"{0}\">{0}</span>", s);
  out += "</p>\n";

  // Changes: a cell that stopped (or started) working, with the revisions on either side.
  out += "<h2>Changes (in the runs shown)</h2>\n<table id=\"changes\"><tr><th>run</th><th>cell</th><th>change</th><th>revisions</th></tr>\n";
  size_t changes = 0;
  std::vector<std::string> change_rows;
  for (const auto& key : order) {
    const HistoryResult* last = nullptr;  // the last deciding result
    for (const HistoryResult* r : by_cell[key]) {
      const std::string& s = r->entry.status;
      bool works = s == "PASS" || s == "XPASS" || s == "FLAKY";
      bool fails = s == "FAIL" || s == "CRASH" || s == "HANG" || s == "XFAIL";
      if (!works && !fails) continue;
      if (last) {
        const std::string& p = last->entry.status;
        bool was_working = p == "PASS" || p == "XPASS" || p == "FLAKY";
        if (was_working != works) {
          change_rows.push_back(fmt::format(
              "<tr class=\"{}\"><td>{}</td><td class=\"cell\">{}</td><td>{} &rarr; {}{}</td><td class=\"rev\">{} &rarr; {}</td></tr>\n",
              works ? "fixed" : "stopped", r->entry.run, esc(key.second + (matrix.empty() ? " (" + key.first + ")" : "")),
              esc(p), esc(s), works ? " (fixed)" : " (stopped working)", esc(short_rev(last->entry.revision)),
              esc(short_rev(r->entry.revision))));
          ++changes;
        }
      }
      last = r;
    }
  }
  std::reverse(change_rows.begin(), change_rows.end());  // newest first
  for (const std::string& row : change_rows) out += row;
  if (changes == 0) out += "<tr><td colspan=\"4\">no cell changed between working and failing</td></tr>\n";
  out += "</table>\n";

  // The grid: a row per cell, a column per run.
  out += "<h2>Matrix over time</h2>\n<table class=\"grid\" id=\"grid\"><tr><th>cell</th><th>now</th>";
  for (const HistoryRun& r : runs)
    out += fmt::format("<th title=\"run {} {} {}\"></th>", r.id, esc(r.started_at), esc(short_rev(r.revision)));
  out += "</tr>\n";
  for (const auto& key : order) {
    const auto& rs = by_cell[key];
    std::map<int64_t, const HistoryResult*> in_run;
    for (const HistoryResult* r : rs) in_run[r->entry.run] = r;
    const HistoryWords& words = words_of[key];
    out += fmt::format("<tr data-cell=\"{}\" data-kind=\"{}\"><td class=\"cell\">{}</td><td class=\"words\">{}</td>",
                       esc(key.second), to_string(words.kind), esc(key.second + (matrix.empty() ? " (" + key.first + ")" : "")),
                       esc(words.text));
    for (const HistoryRun& run : runs) {
      auto it = in_run.find(run.id);
      if (it == in_run.end()) {
        out += "<td class=\"s\"><span class=\"none\"></span></td>";
        continue;
      }
      const HistoryResult& r = *it->second;
      out += fmt::format("<td class=\"s\"><span class=\"{0}\" title=\"run {1}: {0} ({2}){3}\"></span></td>", esc(r.entry.status),
                         run.id, esc(short_rev(run.revision)), r.reason.empty() ? "" : esc(" — " + r.reason.substr(0, 200)));
    }
    out += "</tr>\n";
  }
  out += "</table>\n";

  // The runs: who changed what.
  out += "<h2>Runs</h2>\n<table id=\"runs\"><tr><th>run</th><th>matrix</th><th>started (UTC)</th><th>revision</th>"
         "<th>host</th><th>cells</th><th>unexpected</th></tr>\n";
  for (auto it = runs.rbegin(); it != runs.rend(); ++it)
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"rev\">{}{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>\n",
                       it->id, esc(it->matrix), esc(it->started_at), esc(short_rev(it->revision)), it->dirty ? "+" : "",
                       esc(it->host), it->total, it->complete ? "" : " (partial)", it->unexpected);
  out += "</table>\n</body></html>\n";
  *html = std::move(out);
  return true;
}

bool write_history_page(HistoryStore& store, const std::string& matrix, const std::string& path, std::string* err) {
  std::string html;
  if (!render_history_page(store, matrix, &html, err)) return false;
  return write_file_atomically(path, html, err);
}

}  // namespace pvm
