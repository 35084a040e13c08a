// html_report_render REPORT.json [--baseline BASE.json] -o OUT.html
// The HTML renderer alone, for the browser tests and bench/html_first_paint.py; users run
// `pvmatrix report REPORT.json [--baseline BASE.json] -o OUT.html`, which calls the same code.
#include <cstdio>
#include <exception>
#include <fstream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "html_report.h"

namespace {

std::optional<nlohmann::json> load(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "html_report_render: cannot read %s\n", path.c_str());
    return std::nullopt;
  }
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    std::fprintf(stderr, "html_report_render: %s: %s\n", path.c_str(), e.what());
    return std::nullopt;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string report_path, baseline_path, out_path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-o" || a == "--baseline") && i + 1 < argc) {
      (a == "-o" ? out_path : baseline_path) = argv[++i];
    } else if (report_path.empty() && !a.empty() && a[0] != '-') {
      report_path = a;
    } else {
      report_path.clear();
      break;
    }
  }
  if (report_path.empty() || out_path.empty()) {
    std::fprintf(stderr, "usage: html_report_render REPORT.json [--baseline BASE.json] -o OUT.html\n");
    return 2;
  }
  auto report = load(report_path);
  if (!report) return 2;
  std::optional<nlohmann::json> baseline;
  if (!baseline_path.empty() && !(baseline = load(baseline_path))) return 2;
  try {
    pvm::write_html_report(*report, out_path, baseline ? &*baseline : nullptr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "html_report_render: %s\n", e.what());
    return 2;
  }
  return 0;
}
