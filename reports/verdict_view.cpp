#include "verdict_view.h"

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "report_model.h"
#include "verdicts.h"

namespace pvm {

using nlohmann::json;

// The rules are the gate's (reports/verdicts.h): one copy.
json compute_verdict_view(const json& head, const json& base) {
  VerdictSet set;
  std::string err;
  json view = json::object();
  if (!diff(base, head, &set, &err)) return view;  // not comparable (e.g. a duplicate id): no verdicts
  for (const auto& v : set.cells) {
    json e = v;
    e.erase("evidence");  // the cell carries its own; no need to embed it twice
    view[v.id] = std::move(e);
  }
  return view;
}
json verdict_view_from_report(const json& report) {
  auto it = report.find("verdicts");
  if (it == report.end() || !it->is_array()) return nullptr;
  json view = json::object();
  for (const auto& v : *it) {
    if (!v.is_object()) continue;
    std::string id = string_field(v, "id");
    if (id.empty()) id = string_field(v, "cell");
    if (id.empty() || !v.contains("verdict")) continue;
    view[id] = v;
  }
  return view;
}

}  // namespace pvm
