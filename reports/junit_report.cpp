// junit.xml for CI: one <testsuite> per kernel (classname "kernel-<release>"), one
// <testcase> per cell named "hv=<version>/cfg=<config>". FAIL/CRASH/HANG/XPASS are
// <failure>, and so is a working cell a gate found BINDING_LOST; ERROR is <error> (infrastructure), SKIP and XFAIL are <skipped>, FLAKY passes
// with a property. Guest text is untrusted: it is escaped and made valid XML 1.0.
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "markup.h"
#include "report_model.h"
#include "run_report.h"

namespace pvm {
using nlohmann::json;

namespace {

std::string seconds(const ReportCell& c) { return fmt::format("{:.3f}", c.duration_ms / 1000.0); }

std::string binding_text(const ReportCell& c) {
  std::string s;
  for (const auto& [group, where] : c.binding) s += (s.empty() ? "" : ",") + group + "=" + where;
  return s;
}

// A cell CI must see fail: an unexpected failing status, or (gate-annotated reports) a cell that
// still works but stopped using the hypervisor (verdict BINDING_LOST).
bool is_failure(const ReportCell& c) {
  const std::string& s = c.status;
  return s == "FAIL" || s == "CRASH" || s == "HANG" || s == "XPASS" || c.verdict == "BINDING_LOST";
}

std::string testcase(const ReportCell& c) {
  const std::string& status = c.status;
  std::string x = fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{}\">\n",
                              xml_escape("kernel-" + c.kernel), xml_escape("hv=" + c.hv + "/cfg=" + c.config),
                              seconds(c));
  x += "      <properties>\n";
  auto prop = [&](const std::string& name, const std::string& value) {
    x += fmt::format("        <property name=\"{}\" value=\"{}\"/>\n", xml_escape(name), xml_escape(value));
  };
  prop("id", c.id);
  prop("status", status);
  prop("outcome", c.outcome);
  prop("attempts", std::to_string(c.attempts.size()));
  prop("binding", binding_text(c));
  prop("stage", c.stage);
  if (!c.verdict.empty()) prop("verdict", c.verdict);
  if (c.expected) {
    prop("expected", *c.expected);
    prop("expected_reason", c.expected_reason);
    if (!c.expected_link.empty()) prop("expected_link", c.expected_link);
  }
  prop("log", c.log);
  if (c.history) {  // issue 17
    prop("history", c.history->text);
    prop("history_kind", c.history->kind);
  }
  x += "      </properties>\n";
  const std::string body = xml_escape(c.reason + "\n\n" + c.evidence);
  if (is_failure(c) && c.verdict == "BINDING_LOST" && (status == "PASS" || status == "FLAKY" || status == "XPASS")) {
    const std::string why = status + ", but it stopped using the hypervisor against the baseline (" +
                            binding_text(c) + "): BINDING_LOST";
    x += fmt::format("      <failure type=\"BINDING_LOST\" message=\"{}\">{}</failure>\n", xml_escape(why),
                     xml_escape(why + "\n\n" + c.reason));
  } else if (is_failure(c)) {
    x += fmt::format("      <failure type=\"{}\" message=\"{}\">{}</failure>\n", xml_escape(status), xml_escape(c.reason),
                     body);
  } else if (status == "ERROR") {
    x += fmt::format("      <error type=\"ERROR\" message=\"{}\">{}</error>\n", xml_escape(c.reason), body);
  } else if (status == "SKIP") {
    x += fmt::format("      <skipped message=\"{}\"/>\n", xml_escape(c.reason));
  } else if (status == "XFAIL") {
    x += fmt::format("      <skipped type=\"XFAIL\" message=\"{}\"/>\n",
                     xml_escape("expected failure: " + c.expected_reason));
  }
  std::string out = "log: " + c.log + "\nreproduce: " + c.reproduce + "\n";
  if (status == "FLAKY") out = "FLAKY: " + c.reason + "\n" + out;
  if (c.history) out = "history: " + c.history->text + "\n" + out;
  x += "      <system-out>" + xml_escape(out) + "</system-out>\n";
  x += "    </testcase>\n";
  return x;
}

struct Counts {
  size_t tests = 0, failures = 0, errors = 0, skipped = 0;
  uint64_t ms = 0;
  void add(const ReportCell& c) {
    ++tests;
    if (is_failure(c)) ++failures;
    if (c.status == "ERROR") ++errors;
    if (c.status == "SKIP" || c.status == "XFAIL") ++skipped;
    ms += c.duration_ms;
  }
  std::string attrs() const {
    return fmt::format("tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3f}\"", tests, failures,
                       errors, skipped, ms / 1000.0);
  }
};

class JunitReport : public ReportWriter {
 public:
  std::string file_name() const override { return "junit.xml"; }
  bool render(const json& report, std::string* out, std::string* /*err*/) const override {
    // Suites in the order kernels first appear (the matrix order).
    std::vector<std::string> kernels;
    std::map<std::string, std::vector<ReportCell>> by_kernel;
    Counts all;
    for (const json& j : report.at("cells")) {
      ReportCell c = read_report_cell(j);
      if (!by_kernel.count(c.kernel)) kernels.push_back(c.kernel);
      all.add(c);
      by_kernel[c.kernel].push_back(std::move(c));
    }
    std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    x += fmt::format("<testsuites name=\"pvmatrix\" {}>\n", all.attrs());
    for (const std::string& k : kernels) {
      Counts n;
      std::string cases;
      for (const ReportCell& c : by_kernel[k]) {
        n.add(c);
        cases += testcase(c);
      }
      x += fmt::format("  <testsuite name=\"{}\" {}>\n", xml_escape("kernel=" + k), n.attrs());
      x += cases;
      x += "  </testsuite>\n";
    }
    x += "</testsuites>\n";
    *out = std::move(x);
    return true;
  }
};

}  // namespace

std::unique_ptr<ReportWriter> make_junit_report() { return std::make_unique<JunitReport>(); }

}  // namespace pvm
