#include "cell_record.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace pvm {
using nlohmann::json;

void to_json(json& j, const CellRecord& c) {
  j = json(c.result);
  if (!c.workarounds.empty()) j["workarounds"] = c.workarounds;
  if (c.predicted) j["predicted"] = *c.predicted;
}

void from_json(const json& j, CellRecord& c) {
  CellRecord r;
  from_json(j, r.result);
  if (auto it = j.find("workarounds"); it != j.end()) {
    if (!it->is_array()) throw std::runtime_error("field \"workarounds\": expected an array");
    for (const json& w : *it) {
      if (!w.is_object() || !w.contains("mask") || !w["mask"].is_string() || !w.contains("status") ||
          !w["status"].is_string())
        throw std::runtime_error("field \"workarounds\": expected objects with string \"mask\" and \"status\"");
      r.workarounds.push_back({w["mask"].get<std::string>(), w["status"].get<std::string>()});
    }
  }
  if (auto it = j.find("predicted"); it != j.end() && !it->is_null()) r.predicted = it->get<Prediction>();
  c = std::move(r);
}

}  // namespace pvm
