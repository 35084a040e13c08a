// The status table (cell.h kStatuses) and what reads it. Apart from cell.cpp so the standalone
// HTML renderer (reports/, html_report_render) links it without the rest of the harness.
#include <nlohmann/json.hpp>

#include "cell.h"

namespace pvm {

using json = nlohmann::json;

static_assert([] {
  int i = 0;
  for (const StatusInfo& row : kStatuses)
    if (static_cast<int>(row.status) != i++) return false;
  return i == static_cast<int>(Status::Flaky) + 1;
}(), "kStatuses lists every Status once, in the enum's order");

const StatusInfo& info(Status s) {
  for (const StatusInfo& i : kStatuses)
    if (i.status == s) return i;
  return kStatuses[static_cast<int>(Status::Error)];
}

json status_table_json() {
  json t = json::array();
  for (const StatusInfo& i : kStatuses)
    t.push_back({{"name", i.name}, {"works", i.works}, {"unexpected", i.unexpected}, {"broken", i.broken}});
  return t;
}

const char* to_string(Status s) { return info(s).name; }

std::optional<Status> status_from_string(const std::string& s) {
  for (const StatusInfo& i : kStatuses)
    if (s == i.name) return i.status;
  return std::nullopt;
}

bool is_unexpected_failure(Status s) { return info(s).unexpected; }

bool works(Status s) { return info(s).works; }

}  // namespace pvm
