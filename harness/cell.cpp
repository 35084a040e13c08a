// Status names and the DESIGN §6 cell object (docs/contracts.md "Cell object").
#include "cell.h"

#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

#include "text_util.h"

namespace pvm {

namespace {

using json = nlohmann::json;

[[noreturn]] void bad_field(const std::string& field, const std::string& what) {
  throw std::runtime_error("cell object: field \"" + field + "\": " + what);
}

const json* find(const json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

/// Reads a string field; `required` fields must be present, others default to "".
std::string get_string(const json& j, const std::string& path, const char* key, bool required = false) {
  const json* v = find(j, key);
  if (!v) {
    if (required) bad_field(path + key, "missing");
    return {};
  }
  if (!v->is_string()) bad_field(path + key, "expected a string, got " + std::string(v->type_name()));
  return v->get<std::string>();
}

uint64_t get_u64(const json& j, const std::string& path, const char* key) {
  const json* v = find(j, key);
  if (!v || v->is_null()) return 0;
  if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0))
    bad_field(path + key, "expected a non-negative integer");
  return v->get<uint64_t>();
}

std::optional<int> get_opt_int(const json& j, const std::string& path, const char* key) {
  const json* v = find(j, key);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_number_integer()) bad_field(path + key, "expected an integer or null");
  return v->get<int>();
}

Status get_status(const json& j, const std::string& path, const char* key, bool required) {
  const json* v = find(j, key);
  if (!v) {
    if (required) bad_field(path + key, "missing");
    return Status::Error;
  }
  if (!v->is_string()) bad_field(path + key, "expected a status string");
  auto s = status_from_string(v->get<std::string>());
  if (!s) bad_field(path + key, "unknown status \"" + v->get<std::string>() + "\"");
  return *s;
}

const json& get_array(const json& j, const std::string& path, const char* key) {
  static const json empty = json::array();
  const json* v = find(j, key);
  if (!v || v->is_null()) return empty;
  if (!v->is_array()) bad_field(path + key, "expected an array");
  return *v;
}

std::vector<std::string> get_string_list(const json& j, const std::string& path, const char* key) {
  std::vector<std::string> out;
  const json& a = get_array(j, path, key);
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string()) bad_field(path + key + "[" + std::to_string(i) + "]", "expected a string");
    out.push_back(a[i].get<std::string>());
  }
  return out;
}

}  // namespace

std::string CellSpec::id() const { return "kernel=" + kernel + "/hv=" + hv + "/cfg=" + config; }

void to_json(json& j, const CellResult& c) {
  json binding = json::object();
  for (const auto& [group, value] : c.binding) binding[group] = value;
  json stages = json::array();
  for (const auto& s : c.stages) stages.push_back({{"name", s.name}, {"status", s.status}, {"detail", s.detail}});
  json probes = json::array();
  for (const auto& p : c.probes) {
    json o = {{"id", p.id}, {"status", p.status}, {"detail", p.detail}};
    o["call"] = p.call ? json(*p.call) : json(nullptr);
    probes.push_back(std::move(o));
  }
  json attempts = json::array();
  for (const auto& a : c.attempts) {
    json o = {{"status", to_string(a.status)}, {"duration_ms", a.duration_ms}, {"reason", a.reason}};
    o["exit_code"] = a.exit_code ? json(*a.exit_code) : json(nullptr);
    o["signal"] = a.signal ? json(*a.signal) : json(nullptr);
    if (a.cpu_ms) o["cpu_ms"] = *a.cpu_ms;
    if (a.starved_ms) o["starved_ms"] = *a.starved_ms;
    attempts.push_back(std::move(o));
  }
  j = json{
      {"id", c.spec.id()},
      {"kernel", c.spec.kernel},
      {"hv", c.spec.hv},
      {"config", c.spec.config},
      {"cmdline", c.spec.cmdline},
      {"status", to_string(c.status)},
      {"outcome", to_string(c.outcome)},
      {"expected", c.expected ? json(*c.expected) : json(nullptr)},
      {"expected_reason", c.expected_reason},
      {"expected_link", c.expected_link},
      {"binding", std::move(binding)},
      {"hv_api", c.hv_api},
      {"hv_features", c.hv_features},
      {"hv_refused", c.hv_refused},
      {"kernel_build", c.kernel_build},
      {"stage", c.stage},
      {"stages", std::move(stages)},
      {"probes", std::move(probes)},
      {"duration_ms", c.duration_ms},
      {"attempts", std::move(attempts)},
      {"reason", c.reason},
      {"evidence", c.evidence},
      {"log", c.log_path},
      {"qemu_cmdline", c.qemu_cmdline},
      {"reproduce", shell_quote(c.qemu_cmdline)},
      {"host", c.host},
      {"backend", c.backend},
  };
}

void from_json(const json& j, CellResult& c) {
  if (!j.is_object()) throw std::runtime_error("cell object: expected a JSON object");
  CellResult r;
  r.spec.kernel = get_string(j, "", "kernel", true);
  r.spec.hv = get_string(j, "", "hv", true);
  if (find(j, "config")) r.spec.config = get_string(j, "", "config");
  r.spec.cmdline = get_string(j, "", "cmdline");
  if (const json* id = find(j, "id")) {
    if (!id->is_string()) bad_field("id", "expected a string");
    if (id->get<std::string>() != r.spec.id())
      bad_field("id", "\"" + id->get<std::string>() + "\" does not match kernel/hv/config (\"" + r.spec.id() + "\")");
  }
  r.status = get_status(j, "", "status", true);
  r.outcome = find(j, "outcome") ? get_status(j, "", "outcome", false) : r.status;
  if (const json* e = find(j, "expected"); e && !e->is_null()) {
    if (!e->is_string() || !status_from_string(e->get<std::string>())) bad_field("expected", "expected a status string or null");
    r.expected = e->get<std::string>();
  }
  r.expected_reason = get_string(j, "", "expected_reason");
  r.expected_link = get_string(j, "", "expected_link");
  if (const json* b = find(j, "binding"); b && !b->is_null()) {
    if (!b->is_object()) bad_field("binding", "expected an object");
    for (const auto& [group, value] : b->items()) {
      if (!value.is_string()) bad_field("binding." + group, "expected \"rom\" or \"native\"");
      r.binding[group] = value.get<std::string>();
    }
  }
  r.hv_api = get_string(j, "", "hv_api");
  r.hv_features = get_string_list(j, "", "hv_features");
  r.hv_refused = get_string(j, "", "hv_refused");
  r.kernel_build = get_string(j, "", "kernel_build");
  r.stage = get_string(j, "", "stage");
  const json& stages = get_array(j, "", "stages");
  for (size_t i = 0; i < stages.size(); ++i) {
    std::string path = "stages[" + std::to_string(i) + "].";
    if (!stages[i].is_object()) bad_field(path.substr(0, path.size() - 1), "expected an object");
    r.stages.push_back({get_string(stages[i], path, "name", true), get_string(stages[i], path, "status", true),
                        get_string(stages[i], path, "detail")});
  }
  const json& probes = get_array(j, "", "probes");
  for (size_t i = 0; i < probes.size(); ++i) {
    std::string path = "probes[" + std::to_string(i) + "].";
    if (!probes[i].is_object()) bad_field(path.substr(0, path.size() - 1), "expected an object");
    r.probes.push_back({get_string(probes[i], path, "id", true), get_string(probes[i], path, "status", true),
                        get_string(probes[i], path, "detail"), get_opt_int(probes[i], path, "call")});
  }
  r.duration_ms = get_u64(j, "", "duration_ms");
  const json& attempts = get_array(j, "", "attempts");
  for (size_t i = 0; i < attempts.size(); ++i) {
    std::string path = "attempts[" + std::to_string(i) + "].";
    if (!attempts[i].is_object()) bad_field(path.substr(0, path.size() - 1), "expected an object");
    Attempt a;
    a.status = get_status(attempts[i], path, "status", true);
    a.duration_ms = get_u64(attempts[i], path, "duration_ms");
    a.exit_code = get_opt_int(attempts[i], path, "exit_code");
    a.signal = get_opt_int(attempts[i], path, "signal");
    a.reason = get_string(attempts[i], path, "reason");
    if (find(attempts[i], "cpu_ms")) a.cpu_ms = get_u64(attempts[i], path, "cpu_ms");
    if (find(attempts[i], "starved_ms")) a.starved_ms = get_u64(attempts[i], path, "starved_ms");
    r.attempts.push_back(std::move(a));
  }
  r.reason = get_string(j, "", "reason");
  r.evidence = get_string(j, "", "evidence");
  r.log_path = get_string(j, "", "log");
  r.qemu_cmdline = get_string_list(j, "", "qemu_cmdline");
  r.host = get_string(j, "", "host");
  if (find(j, "backend")) r.backend = get_string(j, "", "backend");
  c = std::move(r);
}

}  // namespace pvm
