// junit.xml for CI: one <testsuite> per kernel (classname "kernel-<release>"), one
// <testcase> per cell named "hv=<version>/cfg=<config>". FAIL/CRASH/HANG/XPASS are
// <failure>, and so is a working cell a gate found BINDING_LOST; ERROR is <error> (infrastructure), SKIP and XFAIL are <skipped>, FLAKY passes
// with a property. Guest text is untrusted: it is escaped and made valid XML 1.0.
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "markup.h"
#include "run_report.h"

namespace pvm {
using nlohmann::json;

namespace {

std::string str(const json& c, const char* key) {
  return c.contains(key) && c[key].is_string() ? c[key].get<std::string>() : "";
}

std::string seconds(const json& c) {
  uint64_t ms = c.contains("duration_ms") && c["duration_ms"].is_number() ? c["duration_ms"].get<uint64_t>() : 0;
  return fmt::format("{:.3f}", ms / 1000.0);
}

std::string binding_text(const json& c) {
  std::string s;
  if (c.contains("binding") && c["binding"].is_object())
    for (const auto& [group, where] : c["binding"].items())
      s += (s.empty() ? "" : ",") + group + "=" + (where.is_string() ? where.get<std::string>() : where.dump());
  return s;
}

// A cell CI must see fail: an unexpected failing status, or (gate-annotated reports) a cell that
// still works but stopped using the hypervisor (verdict BINDING_LOST).
bool is_failure(const json& c) {
  const std::string s = str(c, "status");
  return s == "FAIL" || s == "CRASH" || s == "HANG" || s == "XPASS" || str(c, "verdict") == "BINDING_LOST";
}

std::string testcase(const json& c) {
  const std::string status = str(c, "status");
  const std::string verdict = str(c, "verdict");
  std::string x = fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{}\">\n",
                              xml_escape("kernel-" + str(c, "kernel")), xml_escape("hv=" + str(c, "hv") + "/cfg=" + str(c, "config")),
                              seconds(c));
  x += "      <properties>\n";
  auto prop = [&](const std::string& name, const std::string& value) {
    x += fmt::format("        <property name=\"{}\" value=\"{}\"/>\n", xml_escape(name), xml_escape(value));
  };
  prop("id", str(c, "id"));
  prop("status", status);
  prop("outcome", str(c, "outcome"));
  prop("attempts", std::to_string(c.contains("attempts") ? c["attempts"].size() : 0));
  prop("binding", binding_text(c));
  prop("stage", str(c, "stage"));
  if (!verdict.empty()) prop("verdict", verdict);
  if (c.contains("expected") && c["expected"].is_string()) {
    prop("expected", c["expected"].get<std::string>());
    prop("expected_reason", str(c, "expected_reason"));
    if (!str(c, "expected_link").empty()) prop("expected_link", str(c, "expected_link"));
  }
  prop("log", str(c, "log"));
  const bool has_history = c.contains("history") && c["history"].is_object();  // issue 17
  if (has_history) {
    prop("history", str(c["history"], "text"));
    prop("history_kind", str(c["history"], "kind"));
  }
  x += "      </properties>\n";
  const std::string reason = str(c, "reason");
  const std::string body = xml_escape(reason + "\n\n" + str(c, "evidence"));
  if (is_failure(c) && verdict == "BINDING_LOST" && (status == "PASS" || status == "FLAKY" || status == "XPASS")) {
    const std::string why = status + ", but it stopped using the hypervisor against the baseline (" +
                            binding_text(c) + "): BINDING_LOST";
    x += fmt::format("      <failure type=\"BINDING_LOST\" message=\"{}\">{}</failure>\n", xml_escape(why),
                     xml_escape(why + "\n\n" + reason));
  } else if (is_failure(c)) {
    x += fmt::format("      <failure type=\"{}\" message=\"{}\">{}</failure>\n", xml_escape(status), xml_escape(reason), body);
  } else if (status == "ERROR") {
    x += fmt::format("      <error type=\"ERROR\" message=\"{}\">{}</error>\n", xml_escape(reason), body);
  } else if (status == "SKIP") {
    x += fmt::format("      <skipped message=\"{}\"/>\n", xml_escape(reason));
  } else if (status == "XFAIL") {
    x += fmt::format("      <skipped type=\"XFAIL\" message=\"{}\"/>\n",
                     xml_escape("expected failure: " + str(c, "expected_reason")));
  }
  std::string out = "log: " + str(c, "log") + "\nreproduce: " + str(c, "reproduce") + "\n";
  if (status == "FLAKY") out = "FLAKY: " + reason + "\n" + out;
  if (has_history) out = "history: " + str(c["history"], "text") + "\n" + out;
  x += "      <system-out>" + xml_escape(out) + "</system-out>\n";
  x += "    </testcase>\n";
  return x;
}

struct Counts {
  size_t tests = 0, failures = 0, errors = 0, skipped = 0;
  uint64_t ms = 0;
  void add(const json& c) {
    const std::string s = str(c, "status");
    ++tests;
    if (is_failure(c)) ++failures;
    if (s == "ERROR") ++errors;
    if (s == "SKIP" || s == "XFAIL") ++skipped;
    if (c.contains("duration_ms") && c["duration_ms"].is_number()) ms += c["duration_ms"].get<uint64_t>();
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
    std::map<std::string, std::vector<const json*>> by_kernel;
    Counts all;
    for (const json& c : report.at("cells")) {
      std::string k = str(c, "kernel");
      if (!by_kernel.count(k)) kernels.push_back(k);
      by_kernel[k].push_back(&c);
      all.add(c);
    }
    std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    x += fmt::format("<testsuites name=\"pvmatrix\" {}>\n", all.attrs());
    for (const std::string& k : kernels) {
      Counts n;
      std::string cases;
      for (const json* c : by_kernel[k]) {
        n.add(*c);
        cases += testcase(*c);
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
