#include "matrix.h"

#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "json_text.h"
#include "sha256.h"
#include "text_util.h"
#include "world.h"

namespace pvm {
namespace fs = std::filesystem;
using nlohmann::json;

std::string cell_id(const std::string& kernel, const std::string& hv, const std::string& cfg) {
  return "kernel=" + kernel + "/hv=" + hv + "/cfg=" + cfg;
}

// ---------------------------------------------------------------------------------------
// Patterns
// ---------------------------------------------------------------------------------------

namespace {
constexpr std::array<const char*, 3> kPatternKeys{"kernel", "hv", "cfg"};

bool glob_match(const std::string& glob, const std::string& name) {
  return fnmatch(glob.c_str(), name.c_str(), 0) == 0;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return parts;
    start = at + 1;
  }
}

}  // namespace

std::optional<CellPattern> CellPattern::parse(const std::string& text, std::string* err) {
  CellPattern p;
  p.text_ = trim(text);
  if (p.text_.empty()) {
    *err = "empty cell pattern (expected e.g. kernel=2.6.25/hv=rom-1.1*)";
    return std::nullopt;
  }
  for (const std::string& raw : split(p.text_, '/')) {
    size_t eq = raw.find('=');
    if (eq == std::string::npos) {
      *err = fmt::format("cell pattern '{}': clause '{}' is not key=glob (keys: kernel, hv, cfg)", p.text_, raw);
      return std::nullopt;
    }
    Clause c;
    c.key = raw.substr(0, eq);
    if (std::find(kPatternKeys.begin(), kPatternKeys.end(), c.key) == kPatternKeys.end()) {
      *err = fmt::format("cell pattern '{}': unknown key '{}' (keys: kernel, hv, cfg)", p.text_, c.key);
      return std::nullopt;
    }
    for (const std::string& alt : split(raw.substr(eq + 1), '|')) {
      if (alt.empty() || alt.find_first_of("=,") != std::string::npos) {
        *err = fmt::format("cell pattern '{}': bad value in '{}' (expected glob[|glob...])", p.text_, raw);
        return std::nullopt;
      }
      c.globs.push_back(alt);
    }
    p.clauses_.push_back(std::move(c));
  }
  return p;
}

bool CellPattern::matches(const std::string& kernel, const std::string& hv, const std::string& cfg) const {
  for (const Clause& c : clauses_) {
    const std::string& value = c.key == "kernel" ? kernel : c.key == "hv" ? hv : cfg;
    if (std::none_of(c.globs.begin(), c.globs.end(), [&](const std::string& g) { return glob_match(g, value); }))
      return false;
  }
  return true;
}

std::vector<std::string> CellPattern::literal_names(std::string_view key) const {
  std::vector<std::string> out;
  for (const Clause& c : clauses_)
    if (c.key == key)
      for (const std::string& g : c.globs)
        if (g.find_first_of("*?[") == std::string::npos) out.push_back(g);
  return out;
}

bool parse_pattern_list(const std::string& text, std::vector<CellPattern>* out, std::string* err) {
  for (const std::string& part : split(text, ',')) {
    auto p = CellPattern::parse(part, err);
    if (!p) return false;
    out->push_back(std::move(*p));
  }
  return true;
}

bool any_matches(const std::vector<CellPattern>& patterns, const MatrixCell& cell,
                 const std::vector<MatrixConfig>& configs) {
  const std::string& cfg = configs.at(cell.config).name;
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const CellPattern& p) { return p.matches(cell.kernel, cell.hv, cfg); });
}

// ---------------------------------------------------------------------------------------
// Matrix files
// ---------------------------------------------------------------------------------------

namespace {

bool valid_name(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

/// Errors about one document, as "file:line:col: field: message" (json_text.h).
class Reader {
 public:
  explicit Reader(const JsonText& doc) : doc_(doc) {}

  std::string error(const std::string& ptr, std::string message) const {
    return doc_.error_at(ptr, std::move(message)).to_string();
  }

  /// Fails on the first key of the object at `ptr` not in `allowed`, naming it and the allowed ones.
  bool check_keys(const std::string& ptr, std::initializer_list<std::string_view> allowed, std::string* err) const {
    JsonError e;
    if (doc_.check_keys(ptr, allowed, &e)) return true;
    std::string names;
    for (std::string_view k : allowed) names += (names.empty() ? "" : ", ") + std::string(k);
    e.message += " (expected one of: " + names + ")";
    *err = e.to_string();
    return false;
  }

 private:
  const JsonText& doc_;
};

/// Expands an axis of names/globs against what exists; order: file order, globs in world order.
bool expand_axis(const Reader& r, const json& doc, const char* key, const std::vector<std::string>& exists,
                 const char* what, std::vector<std::string>* out, std::string* err) {
  std::string ptr = std::string("/") + key;
  if (!doc.contains(key)) {
    *err = r.error("", fmt::format("missing key '{}' (a list of {} names or globs; known: {})", key, what,
                                   join(exists, ", ")));
    return false;
  }
  const json& axis = doc.at(key);
  if (!axis.is_array() || axis.empty()) {
    *err = r.error(ptr, fmt::format("'{}' must be a non-empty array of {} names or globs", key, what));
    return false;
  }
  for (size_t i = 0; i < axis.size(); ++i) {
    std::string iptr = ptr + "/" + std::to_string(i);
    if (!axis[i].is_string()) {
      *err = r.error(iptr, fmt::format("expected a string ({} name or glob)", what));
      return false;
    }
    std::string glob = axis[i].get<std::string>();
    bool any = false;
    for (const std::string& name : exists) {
      if (!glob_match(glob, name)) continue;
      any = true;
      if (std::find(out->begin(), out->end(), name) == out->end()) out->push_back(name);
    }
    if (!any) {
      *err = r.error(iptr, fmt::format("{} '{}' {} (known: {})", what, glob,
                         glob.find_first_of("*?[") == std::string::npos ? "does not exist" : "matches nothing",
                         join(exists, ", ")));
      return false;
    }
  }
  return true;
}

bool read_patterns(const Reader& r, const json& doc, const char* key, std::vector<CellPattern>* out,
                   std::string* err) {
  if (!doc.contains(key)) return true;
  std::string ptr = std::string("/") + key;
  const json& list = doc.at(key);
  if (!list.is_array()) {
    *err = r.error(ptr, fmt::format("'{}' must be an array of cell patterns", key));
    return false;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    std::string iptr = ptr + "/" + std::to_string(i);
    std::string perr;
    std::optional<CellPattern> p;
    if (!list[i].is_string() || !(p = CellPattern::parse(list[i].get<std::string>(), &perr))) {
      *err = r.error(iptr, list[i].is_string() ? perr : "expected a cell pattern string");
      return false;
    }
    out->push_back(std::move(*p));
  }
  return true;
}

bool read_configs(const Reader& r, const json& doc, std::vector<MatrixConfig>* out, std::string* err) {
  if (!doc.contains("configs")) {
    out->push_back({"default", "", std::nullopt, std::nullopt, std::nullopt});
    return true;
  }
  const json& list = doc.at("configs");
  if (!list.is_array() || list.empty()) {
    *err = r.error("/configs", "'configs' must be a non-empty array of {name, cmdline, memory_mib, machine}");
    return false;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    std::string ptr = "/configs/" + std::to_string(i);
    const json& c = list[i];
    if (!c.is_object()) {
      *err = r.error(ptr, "expected a config object {\"name\": ..., \"cmdline\": ...}");
      return false;
    }
    if (!r.check_keys(ptr, {"name", "cmdline", "memory_mib", "machine", "dom0", "description"}, err)) return false;
    MatrixConfig mc;
    if (!c.contains("name") || !c["name"].is_string() || !valid_name(c["name"].get<std::string>())) {
      *err = r.error(c.contains("name") ? ptr + "/name" : ptr, "config needs a \"name\" of letters, digits, '.', '_' or '-'");
      return false;
    }
    mc.name = c["name"].get<std::string>();
    for (const MatrixConfig& prev : *out) {
      if (prev.name == mc.name) {
        *err = r.error(ptr + "/name", fmt::format("config '{}' is defined twice", mc.name));
        return false;
      }
    }
    if (c.contains("cmdline")) {
      if (!c["cmdline"].is_string()) {
        *err = r.error(ptr + "/cmdline", "\"cmdline\" must be a string");
        return false;
      }
      mc.cmdline = c["cmdline"].get<std::string>();
    }
    if (c.contains("memory_mib")) {
      const json& m = c["memory_mib"];
      if (!m.is_number_unsigned() || m.get<uint64_t>() < 1 || m.get<uint64_t>() > 4096) {
        *err = r.error(ptr + "/memory_mib", "\"memory_mib\" must be an integer in 1..4096");
        return false;
      }
      mc.memory_mib = m.get<uint32_t>();
    }
    if (c.contains("machine")) {
      if (!c["machine"].is_string() || c["machine"].get<std::string>().empty()) {
        *err = r.error(ptr + "/machine", "\"machine\" must be a QEMU machine type, e.g. \"pc\" or \"microvm\"");
        return false;
      }
      mc.machine = c["machine"].get<std::string>();
    }
    if (c.contains("dom0")) {
      if (!c["dom0"].is_string() || (c["dom0"] != "pvh" && c["dom0"] != "pv")) {
        *err = r.error(ptr + "/dom0", "\"dom0\" must be \"pvh\" or \"pv\" (the mode Xen builds dom0 in)");
        return false;
      }
      mc.dom0 = c["dom0"].get<std::string>();
    }
    if (c.contains("description") && !c["description"].is_string()) {
      *err = r.error(ptr + "/description", "\"description\" must be a string");
      return false;
    }
    out->push_back(std::move(mc));
  }
  return true;
}

}  // namespace

bool parse_matrix(const std::string& text, const std::string& path, const MatrixUniverse& universe,
                  Matrix* out, std::string* err) {
  JsonError jerr;
  std::optional<JsonText> parsed = JsonText::parse(text, path, &jerr);
  if (!parsed) {
    *err = jerr.to_string();
    return false;
  }
  Reader r(*parsed);
  const json& doc = parsed->root();
  if (!doc.is_object()) {
    *err = r.error("", "a matrix is a JSON object with kernels, hypervisors, configs, ...");
    return false;
  }
  if (!r.check_keys("",
                    {"name", "description", "kernels", "hypervisors", "configs", "only", "exclude", "timeout",
                     "retries", "known_issues"},
                    err))
    return false;

  Matrix m;
  m.path = path;
  m.sha256 = sha256_hex(text);
  m.name = fs::path(path).stem().string();
  if (doc.contains("name")) {
    if (!doc["name"].is_string()) return *err = r.error("/name", "\"name\" must be a string"), false;
    m.name = doc["name"].get<std::string>();
  }
  if (doc.contains("description")) {
    if (!doc["description"].is_string())
      return *err = r.error("/description", "\"description\" must be a string"), false;
    m.description = doc["description"].get<std::string>();
  }
  if (!expand_axis(r, doc, "kernels", universe.kernels, "kernel release", &m.kernels, err)) return false;
  if (!expand_axis(r, doc, "hypervisors", universe.hypervisors, "hypervisor version", &m.hypervisors, err))
    return false;
  if (!read_configs(r, doc, &m.configs, err)) return false;
  if (!read_patterns(r, doc, "only", &m.only, err)) return false;
  if (!read_patterns(r, doc, "exclude", &m.exclude, err)) return false;
  if (doc.contains("timeout")) {
    const json& t = doc["timeout"];
    if (!t.is_number() || t.get<double>() <= 0 || t.get<double>() > 3600)
      return *err = r.error("/timeout", "\"timeout\" must be seconds per attempt, in (0, 3600]"), false;
    m.timeout_s = t.get<double>();
  }
  if (doc.contains("retries")) {
    const json& t = doc["retries"];
    if (!t.is_number_unsigned() || t.get<uint64_t>() > 10)
      return *err = r.error("/retries", "\"retries\" must be an integer in 0..10"), false;
    m.retries = t.get<int>();
  }
  if (doc.contains("known_issues")) {
    const json& k = doc["known_issues"];
    if (!k.is_array())
      return *err = r.error("/known_issues", "\"known_issues\" must be an array of file paths"), false;
    fs::path base = fs::path(path).parent_path();
    for (size_t i = 0; i < k.size(); ++i) {
      std::string ptr = "/known_issues/" + std::to_string(i);
      if (!k[i].is_string()) return *err = r.error(ptr, "expected a file path (relative to the matrix)"), false;
      fs::path p = base / k[i].get<std::string>();
      std::error_code ec;  // e.g. a name too long: an error about this field, not an exception
      if (!fs::exists(p, ec))
        return *err = r.error(ptr, fmt::format("known-issue file {} {}", p.string(),
                                               ec ? "cannot be read: " + ec.message() : "does not exist")),
               false;
      m.known_issue_files.push_back(p.lexically_normal().string());
    }
  }

  for (const std::string& k : m.kernels)
    for (const std::string& hv : m.hypervisors)
      for (size_t c = 0; c < m.configs.size(); ++c) {
        MatrixCell cell{k, hv, c, cell_id(k, hv, m.configs[c].name)};
        if (!m.only.empty() && !any_matches(m.only, cell, m.configs)) continue;
        if (any_matches(m.exclude, cell, m.configs)) continue;
        m.cells.push_back(std::move(cell));
      }
  // The axes are what the cells span: a value that only/exclude removed entirely goes too.
  std::erase_if(m.kernels, [&](const std::string& k) {
    return std::none_of(m.cells.begin(), m.cells.end(), [&](const MatrixCell& c) { return c.kernel == k; });
  });
  std::erase_if(m.hypervisors, [&](const std::string& hv) {
    return std::none_of(m.cells.begin(), m.cells.end(), [&](const MatrixCell& c) { return c.hv == hv; });
  });
  if (m.cells.empty()) {
    // Located at the filter that removed the last cell ("only" is applied first).
    *err = r.error(doc.contains("exclude") ? "/exclude" : "/only",
                   fmt::format("the matrix expands to no cells ({} kernels x {} hypervisors x {} configs, "
                               "then only/exclude removed every one)",
                               m.kernels.size(), m.hypervisors.size(), m.configs.size()));
    return false;
  }
  *out = std::move(m);
  return true;
}

bool load_matrix(const std::string& path, const MatrixUniverse& universe, Matrix* out, std::string* err) {
  std::string text;
  if (!read_text_file(path, &text, err)) return false;
  return parse_matrix(text, path, universe, out, err);
}

bool apply_only(const std::string& expr, Matrix* matrix, std::string* err) {
  std::vector<CellPattern> patterns;
  std::string perr;
  if (!parse_pattern_list(expr, &patterns, &perr)) {
    *err = "--only: " + perr;
    return false;
  }
  std::erase_if(matrix->cells, [&](const MatrixCell& c) { return !any_matches(patterns, c, matrix->configs); });
  if (matrix->cells.empty()) {
    *err = fmt::format("--only '{}' selects no cell of {}", expr, matrix->path);
    return false;
  }
  return true;
}

std::optional<Shard> parse_shard(const std::string& text, std::string* err) {
  Shard s;
  char slash = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &s.index, &slash, &s.count, &extra) != 3 || slash != '/' ||
      s.count < 1 || s.index < 1 || s.index > s.count) {
    *err = fmt::format("--shard '{}': expected K/N with 1 <= K <= N, e.g. 2/4", text);
    return std::nullopt;
  }
  return s;
}

void apply_shard(const Shard& shard, Matrix* matrix) {
  std::vector<MatrixCell> kept;
  for (size_t i = 0; i < matrix->cells.size(); ++i)
    if (static_cast<int>(i % shard.count) + 1 == shard.index) kept.push_back(matrix->cells[i]);
  matrix->cells = std::move(kept);
}

bool load_selected_matrix(const std::string& path, const World& world, const std::string& only,
                          const std::string& shard, Matrix* out, std::string* err) {
  if (!load_matrix(path, universe_of(world), out, err)) return false;
  if (!only.empty() && !apply_only(only, out, err)) return false;
  if (!shard.empty()) {
    auto s = parse_shard(shard, err);
    if (!s) return false;
    apply_shard(*s, out);
  }
  return true;
}

MatrixUniverse universe_of(const World& world) {
  MatrixUniverse u;
  u.kernels = world.releases();
  u.kernels.insert(u.kernels.end(), world.fixtures().begin(), world.fixtures().end());
  for (const HypervisorVersion& v : world.versions()) u.hypervisors.push_back(v.name);
  return u;
}

bool make_cell_specs(const Matrix& matrix, const World& world, std::vector<CellSpec>* out, std::string* err) {
  out->clear();
  out->reserve(matrix.cells.size());
  for (const MatrixCell& cell : matrix.cells) {
    const MatrixConfig& mc = matrix.configs.at(cell.config);
    CellConfig config;
    config.name = mc.name;
    config.cmdline = mc.cmdline;
    config.memory_mib = mc.memory_mib;
    config.machine = mc.machine;
    config.dom0 = mc.dom0;
    config.timeout_s = matrix.timeout_s;
    std::optional<CellSpec> spec = world.make_spec(cell.kernel, cell.hv, config, err);
    if (!spec) return false;
    out->push_back(std::move(*spec));
  }
  return true;
}

}  // namespace pvm
