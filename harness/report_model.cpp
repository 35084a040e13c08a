#include "report_model.h"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace pvm {
using nlohmann::json;

std::string string_field(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

namespace {

std::optional<uint64_t> count_field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return std::nullopt;
  return it->is_number_unsigned() ? it->get<uint64_t>() : static_cast<uint64_t>(std::max<int64_t>(0, it->get<int64_t>()));
}

}  // namespace

Binding string_map_field(const json& obj, const char* key) {
  Binding out;
  if (!obj.is_object()) return out;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_object()) return out;
  for (const auto& [k, value] : it->items())
    if (value.is_string()) out[k] = value.get<std::string>();
  return out;
}

void to_json(json& j, const Workaround& w) { j = json{{"mask", w.mask}, {"status", w.status}}; }

void to_json(json& j, const ReportHistory& h) {
  j = json{{"store", h.store},
           {"run", h.run ? json(*h.run) : json(nullptr)},
           {"recorded", h.recorded},
           {"error", h.recorded ? json(nullptr) : json(h.error)},
           {"window", h.window}};
}

std::string report_cell_id(const json& c) { return string_field(c, "id"); }

ReportCell read_report_cell(const json& c) {
  ReportCell r;
  if (!c.is_object()) return r;
  r.id = report_cell_id(c);
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
  r.binding = string_map_field(c, "binding");
  if (auto it = c.find("probes"); it != c.end() && it->is_array())
    for (const json& p : *it)
      if (p.is_object() && string_field(p, "status") == "fail") {
        r.failed_probe = string_field(p, "id");
        r.failed_probe_detail = string_field(p, "detail");
        break;
      }
  if (auto it = c.find("attempts"); it != c.end() && it->is_array())
    for (const json& a : *it) {
      ReportCell::Attempt& t = r.attempts.emplace_back();
      if (!a.is_object()) continue;
      t.status = string_field(a, "status");
      t.duration_ms = count_field(a, "duration_ms").value_or(0);
      t.cpu_ms = count_field(a, "cpu_ms");
      t.starved_ms = count_field(a, "starved_ms");
    }
  r.duration_ms = count_field(c, "duration_ms").value_or(0);
  if (auto it = c.find("history"); it != c.end() && it->is_object())
    r.history = ReportCell::History{string_field(*it, "text"), string_field(*it, "kind")};
  if (auto it = c.find("predicted"); it != c.end()) {
    ReportCell::Predicted& p = r.predicted.emplace();
    if (it->is_object()) {
      if (auto st = it->find("status"); st != it->end() && st->is_string()) p.status = st->get<std::string>();
      p.reason = string_field(*it, "reason");
      p.probe = string_field(*it, "probe");
      if (auto b = it->find("binding"); b != it->end() && b->is_object()) p.binding = string_map_field(*it, "binding");
    }
  }
  if (auto it = c.find("workarounds"); it != c.end() && it->is_array())
    for (const json& w : *it)
      if (w.is_object()) r.workarounds.push_back({string_field(w, "mask"), string_field(w, "status")});
  return r;
}

namespace {

const json* object_field(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_object() ? &*it : nullptr;
}

json null_if_empty(const std::string& v) { return v.empty() ? json(nullptr) : json(v); }

template <typename T>
json null_if_unset(const std::optional<T>& v) { return v ? json(*v) : json(nullptr); }

template <typename T>
std::optional<T> integer_field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<T>();
}

}  // namespace

void to_json(json& j, const RunMeta& m) {
  j = json{{"tool", m.tool},
           {"host", m.host},
           {"os", m.os},
           {"qemu_version", null_if_empty(m.qemu_version)},
           {"libvirt_version", null_if_empty(m.libvirt_version)},
           {"argv", m.argv},
           {"backend", m.backend},
           {"parallelism", m.parallelism},
           {"retries", m.retries},
           {"timeout_s", m.timeout_s},
           {"only", null_if_empty(m.only)},
           {"shard", null_if_empty(m.shard)},
           {"started_at", null_if_empty(m.started_at)},
           {"started_at_ms", m.started_at_ms},
           {"ended_at", null_if_empty(m.ended_at)},
           {"duration_ms", null_if_unset(m.duration_ms)}};
  if (m.git) j["git"] = {{"revision", null_if_unset(m.git->revision)}, {"dirty", null_if_unset(m.git->dirty)}};
  if (m.matrix) j["matrix"] = {{"path", m.matrix->path}, {"name", m.matrix->name}, {"sha256", null_if_unset(m.matrix->sha256)}};
  if (m.rusage)
    j["rusage"] = {{"self_cpu_ms", m.rusage->self_cpu_ms},
                   {"children_cpu_ms", m.rusage->children_cpu_ms},
                   {"self_max_rss_kib", m.rusage->self_max_rss_kib}};
  if (!m.resumed_from.empty()) j["resumed_from"] = m.resumed_from;
  if (m.cache) j["cache"] = {{"hits", m.cache->hits}, {"boots", m.cache->boots}};
  if (m.history) j["history"] = *m.history;
  if (m.merged_from) {
    json& sources = j["merged_from"] = json::array();
    for (const ReportSource& s : *m.merged_from)
      sources.push_back({{"file", s.file},
                         {"host", null_if_empty(s.host)},
                         {"shard", null_if_empty(s.shard)},
                         {"complete", s.complete},
                         {"cells", s.cells}});
  }
}

RunMeta read_run_meta(const json& meta) {
  RunMeta m;
  if (!meta.is_object()) return m;
  m.tool = string_field(meta, "tool");
  m.host = string_field(meta, "host");
  m.os = string_field(meta, "os");
  m.qemu_version = string_field(meta, "qemu_version");
  m.libvirt_version = string_field(meta, "libvirt_version");
  if (const json* g = object_field(meta, "git")) {
    ReportGit& git = m.git.emplace();
    if (auto it = g->find("revision"); it != g->end() && it->is_string()) git.revision = it->get<std::string>();
    if (auto it = g->find("dirty"); it != g->end() && it->is_boolean()) git.dirty = it->get<bool>();
  }
  if (const json* x = object_field(meta, "matrix")) {
    ReportMatrix& matrix = m.matrix.emplace();
    matrix.path = string_field(*x, "path");
    matrix.name = string_field(*x, "name");
    if (auto it = x->find("sha256"); it != x->end() && it->is_string()) matrix.sha256 = it->get<std::string>();
  }
  if (auto it = meta.find("argv"); it != meta.end() && it->is_array())
    for (const json& a : *it)
      if (a.is_string()) m.argv.push_back(a.get<std::string>());
  m.backend = string_field(meta, "backend");
  m.parallelism = integer_field<int>(meta, "parallelism").value_or(0);
  m.retries = integer_field<int>(meta, "retries").value_or(0);
  if (auto it = meta.find("timeout_s"); it != meta.end() && it->is_number()) m.timeout_s = it->get<double>();
  m.only = string_field(meta, "only");
  m.shard = string_field(meta, "shard");
  m.started_at = string_field(meta, "started_at");
  m.started_at_ms = integer_field<int64_t>(meta, "started_at_ms").value_or(0);
  m.ended_at = string_field(meta, "ended_at");
  m.duration_ms = integer_field<int64_t>(meta, "duration_ms");
  if (const json* u = object_field(meta, "rusage"))
    m.rusage = ReportRusage{integer_field<int64_t>(*u, "self_cpu_ms").value_or(0),
                            integer_field<int64_t>(*u, "children_cpu_ms").value_or(0),
                            integer_field<int64_t>(*u, "self_max_rss_kib").value_or(0)};
  m.resumed_from = string_field(meta, "resumed_from");
  if (const json* c = object_field(meta, "cache")) {
    auto hits = integer_field<int64_t>(*c, "hits"), boots = integer_field<int64_t>(*c, "boots");
    if (hits && boots && *hits >= 0 && *boots >= 0) m.cache = ReportCacheCounts{*hits, *boots};
  }
  if (const json* hist = object_field(meta, "history")) {
    ReportHistory& history = m.history.emplace();
    if (auto it = hist->find("recorded"); it != hist->end() && it->is_boolean()) history.recorded = it->get<bool>();
    history.run = integer_field<int64_t>(*hist, "run");
    history.store = string_field(*hist, "store");
    history.error = string_field(*hist, "error");
    history.window = integer_field<int>(*hist, "window").value_or(0);
  }
  if (auto it = meta.find("merged_from"); it != meta.end() && it->is_array()) {
    auto& sources = m.merged_from.emplace();
    for (const json& s : *it) {
      if (!s.is_object()) continue;
      auto complete = s.find("complete");
      sources.push_back({string_field(s, "file"), string_field(s, "host"), string_field(s, "shard"),
                         complete != s.end() && complete->is_boolean() && complete->get<bool>(),
                         static_cast<size_t>(count_field(s, "cells").value_or(0))});
    }
  }
  return m;
}

void to_json(json& j, const ReportAxes& a) {
  json configs = json::array();
  for (const ReportAxisConfig& c : a.configs) {
    json& o = configs.emplace_back(json{{"name", c.name}, {"cmdline", c.cmdline}});
    if (c.memory_mib) o["memory_mib"] = *c.memory_mib;
    if (c.machine) o["machine"] = *c.machine;
  }
  j = json{{"kernels", a.kernels}, {"hypervisors", a.hypervisors}, {"configs", std::move(configs)}};
}

ReportAxes read_report_axes(const json& report) {
  ReportAxes a;
  const json* axes = report.is_object() ? object_field(report, "axes") : nullptr;
  if (!axes) return a;
  auto strings = [&](const char* key, std::vector<std::string>* out) {
    if (auto it = axes->find(key); it != axes->end() && it->is_array())
      for (const json& v : *it)
        if (v.is_string()) out->push_back(v.get<std::string>());
  };
  strings("kernels", &a.kernels);
  strings("hypervisors", &a.hypervisors);
  if (auto it = axes->find("configs"); it != axes->end() && it->is_array())
    for (const json& c : *it) {
      if (!c.is_object()) continue;
      ReportAxisConfig& cfg = a.configs.emplace_back();
      cfg.name = string_field(c, "name");
      cfg.cmdline = string_field(c, "cmdline");
      cfg.memory_mib = integer_field<uint32_t>(c, "memory_mib");
      if (auto m = c.find("machine"); m != c.end() && m->is_string()) cfg.machine = m->get<std::string>();
    }
  return a;
}

ReportHeader read_report_header(const json& r) {
  ReportHeader h;
  if (!r.is_object()) return h;
  if (auto it = r.find("complete"); it != r.end() && it->is_boolean()) h.complete = it->get<bool>();
  h.meta = read_run_meta(report_meta(r));
  if (const json* summary = object_field(r, "summary")) {
    if (auto it = summary->find("total"); it != summary->end() && it->is_number_integer()) h.total = it->get<int>();
    if (auto it = summary->find("unexpected"); it != summary->end() && it->is_number_integer()) h.unexpected = it->get<int>();
    if (const json* by = object_field(*summary, "by_status"))
      for (const auto& [status, n] : by->items())
        if (n.is_number_integer()) h.by_status.emplace_back(status, n.get<int>());
    if (const json* host = object_field(*summary, "host")) {
      ReportHeader::HostPressure& p = h.host_pressure.emplace();
      p.attempts = count_field(*host, "attempts").value_or(0);
      p.wall_ms = count_field(*host, "wall_ms").value_or(0);
      p.qemu_cpu_ms = count_field(*host, "qemu_cpu_ms").value_or(0);
      p.starved_ms = count_field(*host, "starved_ms").value_or(0);
      if (auto it = host->find("starved_fraction"); it != host->end() && it->is_number())
        p.starved_fraction = it->get<double>();
    }
  }
  if (auto it = r.find("findings"); it != r.end() && it->is_array())
    for (const json& f : *it)
      h.findings.push_back({string_field(f, "id"), string_field(f, "kind"), string_field(f, "predicted"),
                            string_field(f, "observed"), string_field(f, "detail")});
  return h;
}

json report_document(json meta, json cells, bool complete) {
  return json{{"schema", kReportSchema},
              {"schema_version", kReportSchemaVersion},
              {"complete", complete},
              {"meta", std::move(meta)},
              {"cells", std::move(cells)}};
}

void set_report_parts(json* report, json axes, json summary, json findings) {
  (*report)["axes"] = std::move(axes);
  (*report)["summary"] = std::move(summary);
  (*report)["findings"] = std::move(findings);
  (*report)["verdicts"] = nullptr;
}

std::string cell_shape_error(const json& c) {
  if (!c.is_object()) return "not an object";
  for (const char* key : {"id", "kernel", "hv", "config", "status"})
    if (!c.contains(key) || !c[key].is_string()) return fmt::format("field \"{}\" must be a string", key);
  if (c.contains("binding")) {
    if (!c["binding"].is_object()) return "field \"binding\" must be an object";
    for (const auto& [group, target] : c["binding"].items())
      if (!target.is_string()) return fmt::format("field \"binding.{}\" must be a string", group);
  }
  if (c.contains("attempts") && !c["attempts"].is_array()) return "field \"attempts\" must be an array";
  return "";
}

bool read_report(const std::string& path, json* out, std::string* err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return *err = "cannot read " + path, false;
  try {
    *out = json::parse(in);
  } catch (const json::parse_error& e) {
    *err = fmt::format("{}: not JSON: {}", path, e.what());
    return false;
  }
  if (!out->is_object() || out->value("schema", "") != kReportSchema || !out->contains("cells") ||
      !(*out)["cells"].is_array() || !out->contains("axes")) {
    *err = fmt::format("{}: not a pvmatrix report (expected \"schema\": \"{}\", axes, cells)", path, kReportSchema);
    return false;
  }
  if (out->value("schema_version", 0) != kReportSchemaVersion) {
    *err = fmt::format("{}: schema_version {} (this pvmatrix reads {})", path, (*out)["schema_version"].dump(),
                       kReportSchemaVersion);
    return false;
  }
  const json& cells = (*out)["cells"];
  for (size_t i = 0; i < cells.size(); ++i) {
    if (std::string why = cell_shape_error(cells[i]); !why.empty()) {
      const json& id = cells[i].is_object() ? cells[i].value("id", json()) : json();
      *err = fmt::format("{}: cells[{}]{}: {}", path, i, id.is_string() ? " (" + id.get<std::string>() + ")" : "", why);
      return false;
    }
  }
  return true;
}

void set_report_history(json* report, const ReportHistory& h) { (*report)["meta"]["history"] = h; }
void set_report_gate(json* report, json gate) { (*report)["meta"]["gate"] = std::move(gate); }
void set_report_verdicts(json* report, json verdicts) { (*report)["verdicts"] = std::move(verdicts); }

void for_each_report_cell(json* report, const std::function<void(json& cell, const std::string& id)>& f) {
  auto it = report->find("cells");
  if (it == report->end() || !it->is_array()) return;
  for (json& cell : *it)
    if (cell.is_object()) f(cell, report_cell_id(cell));
}

void set_cell_history(json* cell, json words) { (*cell)["history"] = std::move(words); }

void rebase_cell_log(json* cell, const std::string& run_dir) {
  const std::string log = string_field(*cell, "log");
  if (!log.empty() && log[0] != '/') (*cell)["log"] = run_dir + "/" + log;
}

void set_cell_verdict(json* cell, const std::string& verdict, const std::vector<Workaround>& workarounds) {
  (*cell)["verdict"] = verdict;
  if (!workarounds.empty()) (*cell)["workarounds"] = workarounds;
}

const json* report_cells(const json& report) {
  if (!report.is_object()) return nullptr;
  auto it = report.find("cells");
  return it != report.end() && it->is_array() ? &*it : nullptr;
}

const json& report_meta(const json& report) {
  static const json kNoMeta = json::object();
  if (!report.is_object()) return kNoMeta;
  auto it = report.find("meta");
  return it != report.end() && it->is_object() ? *it : kNoMeta;
}

}  // namespace pvm
