// summary.md for a patch review: unexpected results first, each with its reason, evidence
// and the commands that reproduce it; then flaky and expected failures; then counts and a
// kernel x hypervisor grid per config.
#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cell.h"
#include "report_model.h"
#include "run_report.h"
#include "text_util.h"

namespace pvm {
using nlohmann::json;

namespace {

constexpr size_t kEvidenceLines = 30;
constexpr size_t kEvidenceBytes = 4096;

/// Markdown inline text from untrusted text: one line, special characters escaped.
std::string md_inline(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n' || c == '\r') c = ' ';
    if (std::string_view("\\`*_[]<>|").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

/// A fenced block that the content cannot close: the fence is longer than any backtick run.
std::string fenced(std::string text) {
  if (text.size() > kEvidenceBytes) text = text.substr(0, kEvidenceBytes) + "\n[... cut]";
  std::string lines;
  size_t count = 0, start = 0;
  while (start < text.size() && count < kEvidenceLines) {
    size_t nl = text.find('\n', start);
    lines += text.substr(start, nl == std::string::npos ? std::string::npos : nl - start + 1);
    start = nl == std::string::npos ? text.size() : nl + 1;
    ++count;
  }
  if (start < text.size()) lines += "[... more in the log]\n";
  if (!lines.empty() && lines.back() != '\n') lines += '\n';
  size_t longest = 0, run = 0;
  for (char c : lines) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  std::string fence(std::max<size_t>(3, longest + 1), '`');
  return fence + "text\n" + lines + fence + "\n";
}

/// The history words of a cell ("" when the run recorded no history).
std::string history_text(const ReportCell& c) { return c.history ? c.history->text : ""; }

/// "## History": every cell whose history says more than "passing" (issue 17), worst first.
std::string history_section(const std::vector<ReportCell>& cells, const std::optional<ReportHistory>& h) {
  if (!h) return "";
  if (!h->recorded) return fmt::format("## History\n\nNot recorded in `{}`: {}\n\n", md_inline(h->store), md_inline(h->error));
  std::string m;
  size_t n = 0;
  for (const char* kind : {"regressed", "failing", "never_passed", "intermittent", "fixed"}) {
    for (const ReportCell& c : cells) {
      if (!c.history || c.history->kind != kind) continue;
      m += fmt::format("- `{}` {}: {}\n", c.id, c.status, md_inline(history_text(c)));
      ++n;
    }
  }
  std::string head = fmt::format("## History (run {} in `{}`)\n\n", h->run ? std::to_string(*h->run) : "null",
                                 md_inline(h->store));
  if (n == 0) return head + "Every cell with a deciding result is passing, as in the runs before.\n\n";
  return head + m + "\n";
}

class SummaryReport : public ReportWriter {
 public:
  std::string file_name() const override { return "summary.md"; }
  bool render(const json& report, std::string* out, std::string* /*err*/) const override {
    const ReportHeader h = read_report_header(report);
    std::vector<ReportCell> cells;
    for (const json& c : report.at("cells")) cells.push_back(read_report_cell(c));
    const std::string matrix_path = h.meta.matrix ? h.meta.matrix->path : "", matrix_name = h.meta.matrix ? h.meta.matrix->name : "";
    std::vector<const ReportCell*> unexpected, flaky, xfail;
    for (const ReportCell& c : cells) {
      auto s = c.known_status();
      if (!s || is_unexpected_failure(*s)) unexpected.push_back(&c);
      else if (*s == Status::Flaky) flaky.push_back(&c);
      else if (*s == Status::Xfail) xfail.push_back(&c);
    }

    std::string m = fmt::format("# pvmatrix: {} — {} cells, {} unexpected\n\n", md_inline(matrix_name),
                                cells.size(), unexpected.size());
    if (!h.complete.value_or(true)) m += "**Partial run**: interrupted before every cell finished.\n\n";
    const std::string rev = h.meta.git ? h.meta.git->revision.value_or("") : "";
    const bool dirty = h.meta.git && h.meta.git->dirty.value_or(false);
    m += fmt::format("Host `{}`, {}, git `{}`{}, started {}.\n\n", md_inline(h.meta.host), md_inline(h.meta.qemu_version),
                     rev.substr(0, 12), dirty ? " (dirty)" : "", md_inline(h.meta.started_at));
    if (const auto& hp = h.host_pressure) {
      const double frac = hp->starved_fraction;
      m += fmt::format("Host pressure: QEMU got {:.1f} s of CPU in {:.1f} s of boots; {:.0f}% of that waiting for a CPU{}.\n\n",
                       hp->qemu_cpu_ms / 1000.0, hp->wall_ms / 1000.0, frac * 100,
                       frac >= 0.25 ? " (a starved host: the run was slower; budgets count guest time, so verdicts are not)" : "");
    }

    m += fmt::format("## Unexpected results ({})\n\n", unexpected.size());
    if (unexpected.empty()) m += "None: every cell passed, was skipped, or failed as known.\n\n";
    for (const ReportCell* c : unexpected) {
      m += fmt::format("### {} `{}`\n\n", c->status, c->id);
      m += md_inline(c->reason) + "\n\n";
      if (!history_text(*c).empty()) m += "History: " + md_inline(history_text(*c)) + "\n\n";
      if (c->status == "XPASS")
        m += fmt::format("A known issue expected {}: {}. Fixed? Then remove the known issue.\n\n",
                         c->expected.value_or(""), md_inline(c->expected_reason));
      if (!c->evidence.empty()) m += "Evidence:\n\n" + fenced(c->evidence) + "\n";
      m += "Reproduce:\n\n```sh\n";
      if (!matrix_path.empty())
        m += fmt::format("pvmatrix run {} --only {}\n", single_quoted(matrix_path), single_quoted(c->id));
      if (!c->reproduce.empty()) m += c->reproduce + "\n";
      m += "```\n\nLog: `" + c->log + "`\n\n";
    }
    if (!flaky.empty()) {
      m += fmt::format("## Flaky ({})\n\n", flaky.size());
      for (const ReportCell* c : flaky) m += fmt::format("- `{}`: {}\n", c->id, md_inline(c->reason));
      m += "\n";
    }
    if (!xfail.empty()) {
      m += fmt::format("## Known issues ({} cells, XFAIL)\n\n", xfail.size());
      for (const ReportCell* c : xfail) {
        m += fmt::format("- `{}`: {} ({}) — known: {}", c->id, c->expected.value_or(""), md_inline(c->reason),
                         md_inline(c->expected_reason));
        if (!c->expected_link.empty()) m += " (" + md_inline(c->expected_link) + ")";
        m += "\n";
      }
      m += "\n";
    }

    // Prediction vs boot (harness/predict.h): each disagreement is a bug in the kernel, the ROM,
    // the manifest or the prediction.
    const std::vector<ReportHeader::Finding>& findings = h.findings;
    bool predicted = std::any_of(cells.begin(), cells.end(), [](const ReportCell& c) { return c.predicted.has_value(); });
    if (!findings.empty() || predicted) {
      m += fmt::format("## Prediction vs boot ({} finding{})\n\n", findings.size(), findings.size() == 1 ? "" : "s");
      if (findings.empty()) m += "Every booted cell did what `pvmatrix predict` said it would.\n\n";
      for (const ReportHeader::Finding& f : findings)
        m += fmt::format("- `{}` {}: predicted {}, observed {}. {}\n", f.id, f.kind, md_inline(f.predicted),
                         md_inline(f.observed), md_inline(f.detail));
      if (!findings.empty()) m += "\n";
    }

    m += history_section(cells, h.meta.history);
    m += "## Counts\n\n| status | cells |\n|---|---|\n";
    for (const auto& [status, n] : h.by_status)
      if (n > 0) m += fmt::format("| {} | {} |\n", status, n);
    m += "\n";

    // Grid per config: kernel rows x hypervisor columns.
    const ReportAxes axes = read_report_axes(report);
    std::map<std::string, std::string> status_of;
    for (const ReportCell& c : cells) status_of[c.id] = c.status;
    for (const ReportAxisConfig& cfg : axes.configs) {
      std::string grid = fmt::format("### cfg={}{}\n\n| kernel |", cfg.name,
                                     cfg.cmdline.empty() ? "" : " (`" + cfg.cmdline + "`)");
      std::string rule = "|---|";
      for (const std::string& hv : axes.hypervisors) {
        grid += " " + hv + " |";
        rule += "---|";
      }
      grid += "\n" + rule + "\n";
      bool any = false;
      for (const std::string& k : axes.kernels) {
        grid += "| " + k + " |";
        for (const std::string& hv : axes.hypervisors) {
          auto it = status_of.find("kernel=" + k + "/hv=" + hv + "/cfg=" + cfg.name);
          any = any || it != status_of.end();
          grid += " " + (it == status_of.end() ? std::string("·") : it->second) + " |";
        }
        grid += "\n";
      }
      if (any) m += grid + "\n";
    }
    *out = std::move(m);
    return true;
  }
};

}  // namespace

std::unique_ptr<ReportWriter> make_summary_report() { return std::make_unique<SummaryReport>(); }

}  // namespace pvm
