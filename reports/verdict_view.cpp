#include "verdict_view.h"

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

// The gate's verdicts (reports/verdicts.h, issue 4) are the authority; the rules below are
// the same rules, kept only so the report builds while that file is absent.
#if __has_include("verdicts.h")
#include "verdicts.h"
#define PVM_HAVE_GATE_VERDICTS 1
#endif

namespace pvm {
namespace {

using nlohmann::json;

std::string str_field(const json& cell, const char* key) {
  auto it = cell.find(key);
  return it != cell.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

// A cell that ended up working: FLAKY failed once but passed on retry, XPASS passed against
// an expectation. Both are reported on their own; neither is a regression.
bool works(const std::string& status) { return status == "PASS" || status == "XPASS" || status == "FLAKY"; }

json index_cells(const json& report) {
  json by_id = json::object();
  auto it = report.find("cells");
  if (it == report.end() || !it->is_array()) return by_id;
  for (const auto& cell : *it) {
    if (!cell.is_object()) continue;
    std::string id = str_field(cell, "id");
    if (!id.empty()) by_id[id] = cell;
  }
  return by_id;
}

const char* verdict_of(const json* base, const json* head) {
  if (!base) return "NEW";
  if (!head) return "GONE";
  std::string b = str_field(*base, "status"), h = str_field(*head, "status");
  // Infrastructure failures are never blamed on the kernel.
  if (b == "ERROR" || h == "ERROR") return "ERROR";
  if (b == "SKIP" || h == "SKIP") return "UNCHANGED";
  bool bw = works(b), hw = works(h);
  if (bw && !hw) return "REGRESSION";
  if (!bw && hw) return "FIXED";
  if (!bw && !hw) return "STILL_FAILING";
  json none = json::object();
  const json& bb = base->contains("binding") ? base->at("binding") : none;
  const json& hb = head->contains("binding") ? head->at("binding") : none;
  return bb == hb ? "UNCHANGED" : "BINDING_CHANGED";
}

json entry(const json* base, const json* head) {
  const json& any = head ? *head : *base;
  json e = {{"verdict", verdict_of(base, head)},
            {"kernel", str_field(any, "kernel")},
            {"hv", str_field(any, "hv")},
            {"config", str_field(any, "config")},
            {"base_status", base ? json(str_field(*base, "status")) : json(nullptr)},
            {"head_status", head ? json(str_field(*head, "status")) : json(nullptr)},
            {"base_binding", base ? base->value("binding", json(nullptr)) : json(nullptr)},
            {"head_binding", head ? head->value("binding", json(nullptr)) : json(nullptr)}};
  if (base) e["base_reason"] = str_field(*base, "reason");
  return e;
}

}  // namespace

json compute_verdict_view(const json& head, const json& base) {
#ifdef PVM_HAVE_GATE_VERDICTS
  VerdictSet set;
  std::string err;
  if (diff(base, head, &set, &err)) {
    json view = json::object();
    for (const auto& v : set.cells) {
      json e = v;
      e.erase("evidence");  // the cell carries its own; no need to embed it twice
      view[v.id] = std::move(e);
    }
    return view;
  }
  // Not comparable as a whole (e.g. a duplicate id): fall through to the per-cell rules.
#endif
  json head_cells = index_cells(head), base_cells = index_cells(base);
  json view = json::object();
  for (const auto& [id, cell] : head_cells.items()) {
    auto b = base_cells.find(id);
    view[id] = entry(b != base_cells.end() ? &*b : nullptr, &cell);
  }
  for (const auto& [id, cell] : base_cells.items())
    if (!head_cells.contains(id)) view[id] = entry(&cell, nullptr);
  return view;
}

json verdict_view_from_report(const json& report) {
  auto it = report.find("verdicts");
  if (it == report.end() || !it->is_array()) return nullptr;
  json view = json::object();
  for (const auto& v : *it) {
    if (!v.is_object()) continue;
    std::string id = str_field(v, "id");
    if (id.empty()) id = str_field(v, "cell");
    if (id.empty() || !v.contains("verdict")) continue;
    view[id] = v;
  }
  return view;
}

}  // namespace pvm
