#include "report_cell.h"

#include <nlohmann/json.hpp>

namespace pvm {
using nlohmann::json;

std::string string_field(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

ReportCell read_report_cell(const json& c) {
  ReportCell r;
  if (!c.is_object()) return r;
  r.id = string_field(c, "id");
  r.kernel = string_field(c, "kernel");
  r.hv = string_field(c, "hv");
  r.config = string_field(c, "config");
  r.status = string_field(c, "status");
  r.outcome = string_field(c, "outcome");
  if (auto it = c.find("expected"); it != c.end() && it->is_string()) r.expected = it->get<std::string>();
  r.expected_reason = string_field(c, "expected_reason");
  r.expected_link = string_field(c, "expected_link");
  r.stage = string_field(c, "stage");
  r.reason = string_field(c, "reason");
  r.evidence = string_field(c, "evidence");
  r.log = string_field(c, "log");
  r.reproduce = string_field(c, "reproduce");
  r.cmdline = string_field(c, "cmdline");
  r.verdict = string_field(c, "verdict");
  if (auto it = c.find("binding"); it != c.end() && it->is_object())
    for (const auto& [group, target] : it->items())
      if (target.is_string()) r.binding[group] = target.get<std::string>();
  if (auto it = c.find("probes"); it != c.end() && it->is_array())
    for (const json& p : *it)
      if (p.is_object() && string_field(p, "status") == "fail") {
        r.failed_probe = string_field(p, "id");
        r.failed_probe_detail = string_field(p, "detail");
        break;
      }
  if (auto it = c.find("attempts"); it != c.end() && it->is_array()) r.attempts = it->size();
  if (auto it = c.find("duration_ms"); it != c.end() && it->is_number()) r.duration_ms = it->get<uint64_t>();
  if (auto it = c.find("history"); it != c.end() && it->is_object())
    r.history = ReportCell::History{string_field(*it, "text"), string_field(*it, "kind")};
  r.predicted = c.contains("predicted");
  return r;
}

}  // namespace pvm
