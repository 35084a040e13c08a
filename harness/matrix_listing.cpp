#include "matrix_listing.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cell.h"
#include "report_model.h"

namespace pvm {
using nlohmann::json;

void to_json(json& j, const MatrixListing& l) {
  json cells = json::array();
  for (const ListedCell& c : l.cells) {
    json& o = cells.emplace_back(json{
        {"id", c.id},
        {"kernel", c.kernel},
        {"hv", c.hv},
        {"config", c.config},
        {"cmdline", c.cmdline},
        {"machine", c.machine},
        {"cpu", c.cpu},
        {"memory_mib", c.memory_mib},
        {"timeout_s", c.timeout_s},
        {"retries", c.retries},
        {"expected", c.expected_any.empty() ? json(nullptr) : json(c.expected_any.front())},
        {"expected_any", c.expected_any},
        {"expected_reason", c.expected_reason},
        {"expected_link", c.expected_link},
    });
    if (c.inputs) o["inputs"] = *c.inputs;
  }
  j = json{{"matrix", l.matrix},       {"name", l.name},         {"sha256", l.sha256},
           {"count", l.cells.size()}, {"cells", std::move(cells)}, {"statuses", status_table_json()}};
}

bool read_matrix_listing(const json& doc, MatrixListing* out, std::string* err) {
  MatrixListing l;
  auto cells = doc.is_object() ? doc.find("cells") : json::const_iterator{};
  if (!doc.is_object() || cells == doc.end() || !cells->is_array())
    return *err = "not a matrix listing: no \"cells\" array", false;
  l.matrix = string_field(doc, "matrix");
  l.name = string_field(doc, "name");
  l.sha256 = string_field(doc, "sha256");
  for (size_t i = 0; i < cells->size(); ++i) {
    const json& c = (*cells)[i];
    ListedCell& cell = l.cells.emplace_back();
    cell.id = string_field(c, "id");
    if (cell.id.empty()) return *err = fmt::format("cells[{}]: no string \"id\"", i), false;
    cell.kernel = string_field(c, "kernel");
    cell.hv = string_field(c, "hv");
    cell.config = string_field(c, "config");
    cell.cmdline = string_field(c, "cmdline");
    cell.machine = string_field(c, "machine");
    cell.cpu = string_field(c, "cpu");
    if (auto it = c.find("memory_mib"); it != c.end() && it->is_number_unsigned()) cell.memory_mib = it->get<uint32_t>();
    if (auto it = c.find("timeout_s"); it != c.end() && it->is_number()) cell.timeout_s = it->get<double>();
    if (auto it = c.find("retries"); it != c.end() && it->is_number_integer()) cell.retries = it->get<int>();
    if (auto it = c.find("expected_any"); it != c.end() && it->is_array())
      for (const json& e : *it)
        if (e.is_string()) cell.expected_any.push_back(e.get<std::string>());
    cell.expected_reason = string_field(c, "expected_reason");
    cell.expected_link = string_field(c, "expected_link");
    if (auto it = c.find("inputs"); it != c.end()) {
      if (!it->is_object())
        return *err = fmt::format("cells[{}] ({}): field \"inputs\": expected an object", i, cell.id), false;
      cell.inputs = it->get<CellInputs>();
    }
  }
  *out = std::move(l);
  return true;
}

}  // namespace pvm
