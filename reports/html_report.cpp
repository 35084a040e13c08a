#include "html_report.h"

#include <array>
#include <cstdio>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "cell.h"
#include "op_group.h"
#include "report_assets.h"
#include "verdict_view.h"

namespace pvm {
namespace {

using nlohmann::json;

constexpr int kNonceBytes = 16;

// A fresh CSP nonce per report: only the page's own <script> and <style> carry it, so even
// markup that escaped the JSON block could not run (defence in depth behind the escaping).
std::string make_nonce() {
  std::random_device rd;
  std::string hex;
  constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < kNonceBytes; ++i) {
    auto b = static_cast<unsigned>(rd()) & 0xffu;
    hex += kHex[b >> 4];
    hex += kHex[b & 0xf];
  }
  return hex;
}

// Fills {{name}} placeholders of the template in one pass; substituted text is never rescanned.
std::string fill_template(std::string_view tpl, const std::array<std::pair<std::string_view, std::string_view>, 4>& values) {
  std::string out;
  out.reserve(tpl.size() + 64);
  for (const auto& [name, value] : values) out.reserve(out.capacity() + value.size());
  size_t pos = 0;
  while (pos < tpl.size()) {
    size_t open = tpl.find("{{", pos);
    if (open == std::string_view::npos) break;
    size_t close = tpl.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    std::string_view name = tpl.substr(open + 2, close - open - 2);
    const std::string_view* value = nullptr;
    for (const auto& [n, v] : values)
      if (n == name) value = &v;
    out.append(tpl, pos, open - pos);
    if (value) {
      out.append(*value);
    } else {
      out.append(tpl, open, close + 2 - open);  // not ours: keep as written
    }
    pos = close + 2;
  }
  out.append(tpl, pos);
  return out;
}

// The baseline's identity for the page header; its cells are only needed for the verdicts.
json baseline_summary(const json& baseline) {
  json b = json::object();
  for (const char* key : {"meta", "summary", "complete"})
    if (baseline.contains(key)) b[key] = baseline.at(key);
  return b;
}

// The domain tables report.js draws with (it keeps no copy of its own): op groups, statuses
// and the ROM call table.
void add_domain_tables(json& data) {
  data["groups"] = json::array();
  for (const char* g : kOpGroups) data["groups"].push_back(g);
  data["statuses"] = status_table_json();
  json calls = json::array();
  for (const pvrom::CallInfo& c : pvrom::kCalls)
    calls.push_back({{"number", c.number}, {"name", c.name}, {"group", c.group == OpGroup::kNone ? json(nullptr) : json(to_string(c.group))},
                     {"probe", c.probe}, {"first_api", c.first_api}, {"last_api", c.last_api}});
  data["calls"] = std::move(calls);
}

}  // namespace

std::string json_for_script_element(const json& value) {
  std::string raw = value.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(raw.size() + raw.size() / 16);
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    // These characters occur in JSON text only inside strings, where \u escapes mean the same.
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xE2' && i + 2 < raw.size() && raw[i + 1] == '\x80' &&
               (raw[i + 2] == '\xA8' || raw[i + 2] == '\xA9')) {
      out += raw[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";  // line/paragraph separators
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string render_html_report(const json& report, const json* baseline) {
  json data = {{"report", report}, {"verdicts", nullptr}, {"baseline", nullptr}};
  if (baseline) {
    data["verdicts"] = compute_verdict_view(report, *baseline);
    data["baseline"] = baseline_summary(*baseline);
  } else {
    data["verdicts"] = verdict_view_from_report(report);
  }
  add_domain_tables(data);
  std::string nonce = make_nonce();
  std::string payload = json_for_script_element(data);
  return fill_template(report_assets::kTemplateHtml, {{{"nonce", nonce},
                                                       {"css", report_assets::kReportCss},
                                                       {"js", report_assets::kReportJs},
                                                       {"data", payload}}});
}

void write_html_report(const json& report, const std::string& path, const json* baseline) {
  std::string html = render_html_report(report, baseline);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write HTML report " + tmp);
    out.write(html.data(), static_cast<std::streamsize>(html.size()));
    out.close();
    if (!out) throw std::runtime_error("cannot write HTML report " + tmp);
  }
  // Readers (a browser left open, CI artifact upload) never see a half-written file.
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot move HTML report into place at " + path);
  }
}

}  // namespace pvm
