// The HTML report's embedded JSON: guest text must not end the <script> element, open an
// HTML comment, or break the JS parser, and must read back unchanged.
#include "html_report.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace pvm {
namespace {

using nlohmann::json;

constexpr char kDataOpen[] = "<script type=\"application/json\" id=\"pvm-data\">";

// The text between the data block's opening tag and the first "</script" after it: what
// the HTML parser would hand to JSON.parse().
std::string data_block(const std::string& html) {
  size_t open = html.find(kDataOpen);
  EXPECT_NE(open, std::string::npos);
  size_t start = open + sizeof(kDataOpen) - 1;
  size_t end = html.find("</script", start);
  EXPECT_NE(end, std::string::npos);
  return html.substr(start, end - start);
}

json report_with(const std::string& guest_text) {
  json cell = {{"id", "kernel=2.6.25/hv=rom-1.12/cfg=default"}, {"kernel", "2.6.25"}, {"hv", "rom-1.12"},
               {"config", "default"}, {"status", "FAIL"}, {"evidence", guest_text},
               {"probes", json::array({{{"id", "time.oneshot"}, {"status", "fail"}, {"detail", guest_text}}})}};
  return {{"schema", "pvmatrix-report"}, {"schema_version", 1}, {"complete", true},
          {"meta", {{"host", guest_text}}}, {"cells", json::array({cell})}};
}

TEST(JsonForScriptElement, EscapesMarkupCharacters) {
  std::string out = json_for_script_element(json("</script><!--<img src=x onerror=alert(1)>&amp;"));
  EXPECT_EQ(out, R"("\u003c/script\u003e\u003c!--\u003cimg src=x onerror=alert(1)\u003e\u0026amp;")");
  EXPECT_EQ(out.find('<'), std::string::npos);
  EXPECT_EQ(out.find('>'), std::string::npos);
  EXPECT_EQ(out.find('&'), std::string::npos);
}

TEST(JsonForScriptElement, EscapesLineAndParagraphSeparators) {
  std::string out = json_for_script_element(json("a\u2028b\u2029c"));
  EXPECT_EQ(out, R"("a\u2028b\u2029c")");
  // Other non-ASCII text stays as UTF-8.
  EXPECT_EQ(json_for_script_element(json("Molnar \u00e9 \u2192")), "\"Molnar \u00e9 \u2192\"");
}

TEST(JsonForScriptElement, EscapesKeysToo) {
  json j = {{"</script>", 1}};
  EXPECT_EQ(json_for_script_element(j), R"({"\u003c/script\u003e":1})");
}

TEST(JsonForScriptElement, RoundTripsExactly) {
  json j = {{"evidence", "</SCRIPT>\n<!-- -->\t\"quoted\" \\ back \u2028 & < >"},
            {"n", 41}, {"list", {"<b>", nullptr, true}}};
  EXPECT_EQ(json::parse(json_for_script_element(j)), j);
}

TEST(JsonForScriptElement, InvalidUtf8FromAGuestBecomesReplacementCharacter) {
  json j = std::string("ok\xff\xfe<");
  std::string out;
  ASSERT_NO_THROW(out = json_for_script_element(j));
  EXPECT_EQ(json::parse(out).get<std::string>(), "ok\xEF\xBF\xBD\xEF\xBF\xBD<");
  EXPECT_EQ(out.find('<'), std::string::npos);
}

TEST(RenderHtmlReport, GuestTextCannotLeaveTheDataBlock) {
  const std::string payload =
      "</script><script>alert(1)</script><!--<script>--><img src=x onerror=alert(1)>\u2028{{js}}";
  std::string html = render_html_report(report_with(payload));
  std::string data = data_block(html);
  EXPECT_EQ(data.find('<'), std::string::npos);
  EXPECT_EQ(data.find('>'), std::string::npos);
  // The page has exactly its own three script elements' worth of "<script": the data block
  // and the renderer (and none from the payload).
  size_t count = 0;
  for (size_t p = html.find("<script"); p != std::string::npos; p = html.find("<script", p + 1)) ++count;
  EXPECT_EQ(count, 2u);
  json parsed = json::parse(data);
  EXPECT_EQ(parsed["report"]["cells"][0]["evidence"], payload);
  EXPECT_EQ(parsed["report"]["meta"]["host"], payload);
  EXPECT_TRUE(parsed["verdicts"].is_null());
}

TEST(RenderHtmlReport, IsSelfContained) {
  std::string html = render_html_report(report_with("x"));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("Content-Security-Policy"), std::string::npos);
  EXPECT_NE(html.find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(html.find("{{"), std::string::npos) << "a template placeholder was left unfilled";
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
}

TEST(RenderHtmlReport, PlaceholdersInDataAreNotExpanded) {
  std::string html = render_html_report(report_with("{{js}}{{css}}{{nonce}}"));
  EXPECT_EQ(json::parse(data_block(html))["report"]["meta"]["host"], "{{js}}{{css}}{{nonce}}");
}

TEST(RenderHtmlReport, BaselineAddsVerdicts) {
  json head = report_with("now failing");
  json base = head;
  base["cells"][0]["status"] = "PASS";
  json data = json::parse(data_block(render_html_report(head, &base)));
  EXPECT_EQ(data["verdicts"]["kernel=2.6.25/hv=rom-1.12/cfg=default"]["verdict"], "REGRESSION");
  EXPECT_EQ(data["verdicts"]["kernel=2.6.25/hv=rom-1.12/cfg=default"]["base_status"], "PASS");
  EXPECT_TRUE(data["baseline"].is_object());
}

TEST(RenderHtmlReport, ReportVerdictsAreUsedWithoutABaseline) {
  json head = report_with("x");
  head["verdicts"] = json::array({{{"id", "kernel=2.6.25/hv=rom-1.12/cfg=default"}, {"verdict", "FIXED"}}});
  json data = json::parse(data_block(render_html_report(head)));
  EXPECT_EQ(data["verdicts"]["kernel=2.6.25/hv=rom-1.12/cfg=default"]["verdict"], "FIXED");
}

TEST(WriteHtmlReport, FailsLoudlyOnAnUnwritablePath) {
  EXPECT_THROW(write_html_report(report_with("x"), "/nonexistent-dir/report.html"), std::runtime_error);
}

}  // namespace
}  // namespace pvm
