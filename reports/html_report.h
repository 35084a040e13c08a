// The HTML compatibility report (issue 5): one self-contained report.html rendered from a
// report.json object. The page's template, CSS and JS are reports/html/*, embedded at build
// time; the report data is embedded as a JSON block that guest text cannot break out of.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace pvm {

/// The report as one self-contained HTML document (no network, renders from file://).
/// With a baseline report, each cell also carries its verdict against it (REGRESSION, ...).
std::string render_html_report(const nlohmann::json& report, const nlohmann::json* baseline = nullptr);

/// Writes render_html_report() to `path`; throws std::runtime_error naming the path on failure.
void write_html_report(const nlohmann::json& report, const std::string& path,
                       const nlohmann::json* baseline = nullptr);

/// `value` serialized as JSON that is safe inside an HTML <script> element: `<`, `>`, `&`,
/// U+2028 and U+2029 become \uXXXX escapes (so `</script>` and `<!--` cannot appear), and
/// invalid UTF-8 from a guest becomes U+FFFD instead of an exception.
std::string json_for_script_element(const nlohmann::json& value);

}  // namespace pvm
