#include "report_cell.h"

#include <nlohmann/json.hpp>

namespace pvm {
namespace {
using nlohmann::json;

std::string str(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

}  // namespace

ReportCell read_report_cell(const json& c) {
  ReportCell r;
  if (!c.is_object()) return r;
  r.id = str(c, "id");
  r.kernel = str(c, "kernel");
  r.hv = str(c, "hv");
  r.config = str(c, "config");
  r.status = str(c, "status");
  r.outcome = str(c, "outcome");
  if (auto it = c.find("expected"); it != c.end() && it->is_string()) r.expected = it->get<std::string>();
  r.expected_reason = str(c, "expected_reason");
  r.expected_link = str(c, "expected_link");
  r.stage = str(c, "stage");
  r.reason = str(c, "reason");
  r.evidence = str(c, "evidence");
  r.log = str(c, "log");
  r.reproduce = str(c, "reproduce");
  r.cmdline = str(c, "cmdline");
  r.verdict = str(c, "verdict");
  if (auto it = c.find("binding"); it != c.end() && it->is_object())
    for (const auto& [group, target] : it->items())
      if (target.is_string()) r.binding[group] = target.get<std::string>();
  if (auto it = c.find("probes"); it != c.end() && it->is_array())
    for (const json& p : *it)
      if (p.is_object() && str(p, "status") == "fail") {
        r.failed_probe = str(p, "id");
        r.failed_probe_detail = str(p, "detail");
        break;
      }
  if (auto it = c.find("attempts"); it != c.end() && it->is_array()) r.attempts = it->size();
  if (auto it = c.find("duration_ms"); it != c.end() && it->is_number()) r.duration_ms = it->get<uint64_t>();
  if (auto it = c.find("history"); it != c.end() && it->is_object())
    r.history = ReportCell::History{str(*it, "text"), str(*it, "kind")};
  r.predicted = c.contains("predicted");
  return r;
}

}  // namespace pvm
