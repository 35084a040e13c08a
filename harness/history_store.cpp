#include "history_store.h"

#include <cstdlib>
#include <algorithm>
#include <filesystem>
#include <tuple>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sha256.h"
#include "report_model.h"
#include "run_meta.h"

namespace pvm {
namespace {
using nlohmann::json;
namespace fs = std::filesystem;

/// One forward step of the schema. `{id}` is the dialect's auto-numbered key column,
/// `{clustered}` SQLite's WITHOUT ROWID (PostgreSQL: nothing).
struct Migration {
  int version;
  std::vector<const char*> statements;
};

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> kMigrations = {
      {1,
       {
           "CREATE TABLE runs ("
           " id {id},"
           " run_key TEXT NOT NULL UNIQUE,"  // run_key(meta): importing a report twice changes nothing
           " matrix TEXT NOT NULL,"
           " matrix_sha256 TEXT,"
           " revision TEXT,"
           " dirty INTEGER,"
           " host TEXT,"
           " started_at TEXT,"
           " started_at_ms BIGINT NOT NULL,"
           " ended_at TEXT,"
           " complete INTEGER NOT NULL,"
           " shard TEXT,"
           " only_cells TEXT,"
           " total INTEGER NOT NULL,"
           " unexpected INTEGER NOT NULL,"
           " by_status TEXT NOT NULL,"
           " source TEXT NOT NULL,"
           " recorded_at TEXT NOT NULL)",
           "CREATE INDEX runs_by_matrix ON runs (matrix, started_at_ms)",
           "CREATE TABLE results ("
           " run_id BIGINT NOT NULL REFERENCES runs (id),"
           " cell TEXT NOT NULL,"
           " kernel TEXT NOT NULL,"
           " hv TEXT NOT NULL,"
           " config TEXT NOT NULL,"
           " status TEXT NOT NULL,"
           " stage TEXT,"
           " binding TEXT,"
           " probe TEXT,"
           " probe_detail TEXT,"
           " reason TEXT,"
           " expected_reason TEXT,"
           " duration_ms BIGINT,"
           " attempts INTEGER,"
           " PRIMARY KEY (run_id, cell)){clustered}",
           "CREATE INDEX results_by_cell ON results (cell, run_id)",
       }},
      // 2: what each cell was made of (CellInputs), so that `gate --baseline history` chooses
      // its cells against a recorded run. Kept once per distinct set: a nightly's cells repeat
      // their sets night after night, a result holds only the set's digest.
      {2,
       {
           "CREATE TABLE input_sets ("
           " digest TEXT NOT NULL PRIMARY KEY,"
           " kernel TEXT NOT NULL,"
           " initrd TEXT NOT NULL,"
           " rom TEXT NOT NULL,"
           " hypervisor TEXT NOT NULL,"
           " platform TEXT NOT NULL,"
           " cmdline TEXT NOT NULL){clustered}",
           "ALTER TABLE results ADD COLUMN inputs TEXT",
       }},
  };
  return kMigrations;
}

constexpr const char* kResultColumns =
    "run_id, cell, kernel, hv, config, status, stage, binding, probe, probe_detail, reason, expected_reason, "
    "duration_ms, attempts, inputs";
constexpr size_t kResultColumnCount = 15;
constexpr const char* kInputSetColumns = "digest, kernel, initrd, rom, hypervisor, platform, cmdline";
constexpr size_t kInputSetColumnCount = 7;

/// The key of one set of inputs in `input_sets`.
std::string input_set_digest(const CellInputs& in) {
  return sha256_hex(fmt::format("{}\n{}\n{}\n{}\n{}\n{}", in.kernel, in.initrd, in.rom, in.hypervisor, in.platform,
                                in.cmdline));
}

/// `INSERT INTO table (columns) VALUES (?, ...), ...` for `rows` rows of `columns` values.
std::string insert_sql(const char* table, const char* columns, size_t count, size_t rows, const char* tail = "") {
  std::string one = "(?";
  for (size_t c = 1; c < count; ++c) one += ", ?";
  one += ")";
  std::string sql = fmt::format("INSERT INTO {} ({}) VALUES ", table, columns);
  sql.reserve(sql.size() + rows * (one.size() + 2));
  for (size_t r = 0; r < rows; ++r) sql += (r ? ", " : "") + one;
  return sql + tail;
}
constexpr size_t kRowsPerInsert = 200;  // 2,800 parameters a statement: well under both databases' limits

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

/// An optional text column: NULL for a field the report leaves empty or out.
SqlValue null_if_empty(const std::string& text) { return text.empty() ? SqlValue() : SqlValue(text); }
int64_t number(const SqlValue& v) { return v ? std::strtoll(v->c_str(), nullptr, 10) : 0; }
std::string str(const SqlValue& v) { return v ? *v : ""; }

std::string short_revision(const std::string& rev) { return rev.empty() ? "unknown" : rev.substr(0, 12); }

}  // namespace

std::string run_key(const json& report) {
  json m = report_meta(report);
  m.erase("history");
  return sha256_hex(m.dump());
}

bool HistoryStore::is_postgres(const std::string& location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

std::string HistoryStore::display(const std::string& location) {
  if (!is_postgres(location)) return location.rfind("sqlite:", 0) == 0 ? location.substr(7) : location;
  // postgresql://user:password@host/db -> postgresql://user@host/db
  size_t scheme = location.find("://") + 3;
  size_t at = location.find('@', scheme);
  size_t colon = location.find(':', scheme);
  if (at == std::string::npos || colon == std::string::npos || colon > at) return location;
  return location.substr(0, colon) + location.substr(at);
}

std::unique_ptr<HistoryStore> HistoryStore::open(const std::string& location, bool create, std::string* err,
                                                 HistoryOpenError* why) {
  *why = HistoryOpenError::Unavailable;
  std::unique_ptr<SqlConnection> db;
  std::string shown = display(location);
  if (is_postgres(location)) {
    db = open_postgres(location, err);
    if (!db) return *err = fmt::format("history store {}: {}", shown, *err), nullptr;
  } else {
    std::string path = location.rfind("sqlite:", 0) == 0 ? location.substr(7) : location;
    std::error_code ec;
    if (!create && !fs::exists(path, ec))
      return *err = fmt::format("history store {}: no such file (a run records one; see --history)", path), nullptr;
    if (create && fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path(), ec);
    db = open_sqlite(path, create, err);
    if (!db) return *err = fmt::format("history store {}: {}", path, *err), nullptr;
  }
  std::unique_ptr<HistoryStore> store(new HistoryStore(std::move(db), location));
  if (!store->migrate(err, why)) return *err = fmt::format("history store {}: {}", shown, *err), nullptr;
  *why = HistoryOpenError::None;
  return store;
}

bool HistoryStore::migrate(std::string* err, HistoryOpenError* why) {
  // Read the version first without writing anything: a newer store must stay untouched.
  std::vector<SqlRow> rows;
  std::string probe_err;
  if (db_->exec("SELECT MAX(version) FROM pvmatrix_schema", {}, &rows, &probe_err)) {
    version_ = rows.empty() ? 0 : static_cast<int>(number(rows[0][0]));
    if (version_ > kHistorySchemaVersion) {
      *why = HistoryOpenError::NewerSchema;
      *err = fmt::format("schema version {} is newer than this pvmatrix's (version {}): upgrade pvmatrix; nothing was written",
                         version_, kHistorySchemaVersion);
      return false;
    }
    if (version_ == kHistorySchemaVersion) return true;
  } else if (db_->exec("SELECT 1", {}, nullptr, err) == false) {
    return false;  // not a missing table: the database itself is unreadable
  }
  if (!db_->begin_write(err)) return false;
  auto fail = [&](const std::string& what) {
    db_->rollback();
    *err = what;
    return false;
  };
  if (!db_->exec("CREATE TABLE IF NOT EXISTS pvmatrix_schema (version INTEGER NOT NULL)", {}, nullptr, err))
    return fail(*err);
  rows.clear();
  if (!db_->exec("SELECT MAX(version) FROM pvmatrix_schema", {}, &rows, err)) return fail(*err);
  version_ = rows.empty() ? 0 : static_cast<int>(number(rows[0][0]));  // another writer may have migrated
  if (version_ > kHistorySchemaVersion) {
    *why = HistoryOpenError::NewerSchema;
    return fail(fmt::format("schema version {} is newer than this pvmatrix's (version {}): upgrade pvmatrix; nothing was written",
                            version_, kHistorySchemaVersion));
  }
  const bool pg = std::string(db_->dialect()) == "postgresql";
  const std::string id_column = pg ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY";
  // SQLite: a run's results stored together, in key order (a run's timeline reads are range scans).
  const std::string clustered = pg ? "" : " WITHOUT ROWID";
  for (const Migration& m : migrations()) {
    if (m.version <= version_) continue;
    for (const char* statement : m.statements)
      if (!db_->exec(replace_all(replace_all(statement, "{id}", id_column), "{clustered}", clustered), {}, nullptr, err))
        return fail(fmt::format("migration to version {}: {}", m.version, *err));
    if (!db_->exec("INSERT INTO pvmatrix_schema (version) VALUES (?)", {std::to_string(m.version)}, nullptr, err))
      return fail(*err);
    version_ = m.version;
  }
  return db_->commit(err);
}

bool HistoryStore::record(const json& report, const std::string& source, int64_t* run_id, bool* already,
                          std::string* err, const std::map<std::string, CellInputs>* inputs) {
  *already = false;
  const json* cells = report_cells(report);
  if (!cells) return *err = "not a report (no \"cells\" array)", false;
  const std::string key = run_key(report);
  const ReportHeader h = read_report_header(report);
  json counts = json::object();
  for (const auto& [status, n] : h.by_status)
    if (n > 0) counts[status] = n;
  const int total = h.total.value_or(static_cast<int>(cells->size()));

  if (!db_->begin_write(err)) return false;
  auto fail = [&](const std::string& what) {
    db_->rollback();
    *err = what;
    return false;
  };
  std::vector<SqlRow> rows;
  if (!db_->exec("SELECT id FROM runs WHERE run_key = ?", {key}, &rows, err)) return fail(*err);
  if (!rows.empty()) {
    *run_id = number(rows[0][0]);
    *already = true;
    db_->rollback();
    return true;
  }
  SqlValue dirty;
  if (h.meta.git && h.meta.git->dirty) dirty = *h.meta.git->dirty ? "1" : "0";
  std::vector<SqlValue> run = {
      key,
      h.meta.matrix && !h.meta.matrix->name.empty() ? h.meta.matrix->name : "unknown",
      h.meta.matrix ? h.meta.matrix->sha256 : std::nullopt,
      h.meta.git ? h.meta.git->revision : std::nullopt,
      dirty,
      null_if_empty(h.meta.host),
      null_if_empty(h.meta.started_at),
      std::to_string(h.meta.started_at_ms),
      null_if_empty(h.meta.ended_at),
      h.complete.value_or(false) ? "1" : "0",
      null_if_empty(h.meta.shard),
      null_if_empty(h.meta.only),
      std::to_string(total),
      std::to_string(h.unexpected),
      counts.dump(),
      source,
      utc_now_iso8601(),
  };
  rows.clear();
  if (!db_->exec("INSERT INTO runs (run_key, matrix, matrix_sha256, revision, dirty, host, started_at, started_at_ms,"
                 " ended_at, complete, shard, only_cells, total, unexpected, by_status, source, recorded_at)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                 run, &rows, err))
    return fail(*err);
  if (rows.empty()) return fail("INSERT returned no run id");
  *run_id = number(rows[0][0]);
  const std::string id = std::to_string(*run_id);

  // The inputs first: each distinct set once (a set already stored stays as it is).
  std::unordered_map<std::string, std::string> set_of;  // cell id -> its set's digest
  if (inputs) {
    std::vector<SqlValue> params;
    std::set<std::string> seen;
    size_t pending = 0;
    auto flush_sets = [&]() {
      if (pending == 0) return true;
      bool ok = db_->exec(insert_sql("input_sets", kInputSetColumns, kInputSetColumnCount, pending,
                                     " ON CONFLICT (digest) DO NOTHING"),
                          params, nullptr, err);
      params.clear();
      pending = 0;
      return ok;
    };
    // A cell made of what it was made of in the matrix's previous run keeps that set: no
    // hashing, no insert (night after night, most cells).
    std::unordered_map<std::string, std::pair<CellInputs, std::string>> previous;
    auto on_previous = [&](const SqlRow& r) {
      previous.try_emplace(str(r[0]), CellInputs{str(r[2]), str(r[3]), str(r[4]), str(r[5]), str(r[6]), str(r[7])},
                           str(r[1]));
    };
    if (!db_->each_row("SELECT res.cell, res.inputs, ins.kernel, ins.initrd, ins.rom, ins.hypervisor, ins.platform,"
                       " ins.cmdline FROM results res JOIN input_sets ins ON ins.digest = res.inputs"
                       " WHERE res.run_id = (SELECT id FROM runs WHERE matrix = ? AND id <> ?"
                       " ORDER BY started_at_ms DESC, id DESC LIMIT 1)",
                       {run[1], id}, on_previous, err))
      return fail(*err);
    for (const auto& [cell, in] : *inputs) {
      if (auto p = previous.find(cell); p != previous.end() && p->second.first.differences(in).empty()) {
        set_of.emplace(cell, p->second.second);
        continue;
      }
      std::string digest = input_set_digest(in);
      set_of.emplace(cell, digest);
      if (!seen.insert(digest).second) continue;
      for (const std::string* v : std::initializer_list<const std::string*>{&digest, &in.kernel, &in.initrd, &in.rom, &in.hypervisor, &in.platform, &in.cmdline})
        params.emplace_back(*v);
      if (++pending == kRowsPerInsert && !flush_sets()) return fail(*err);
    }
    if (!flush_sets()) return fail(*err);
  }

  // The cells, kRowsPerInsert to a statement.
  std::vector<SqlValue> params;
  params.reserve(std::min(cells->size(), kRowsPerInsert) * kResultColumnCount);
  size_t pending = 0;
  auto flush = [&]() {
    if (pending == 0) return true;
    bool ok = db_->exec(insert_sql("results", kResultColumns, kResultColumnCount, pending), params, nullptr, err);
    params.clear();
    pending = 0;
    return ok;
  };
  for (size_t i = 0; i < cells->size(); ++i) {
    const ReportCell c = read_report_cell((*cells)[i]);
    if (c.id.empty() || c.status.empty())
      return fail(fmt::format("cells[{}]: not a cell object (no string \"id\" and \"status\")", i));
    SqlValue probe, detail;
    if (!c.failed_probe.empty()) probe = c.failed_probe, detail = c.failed_probe_detail;
    SqlValue set;
    if (auto it = set_of.find(c.id); it != set_of.end()) set = it->second;
    SqlValue binding;
    if (!c.binding.empty()) binding = json(c.binding).dump();
    for (SqlValue v : {SqlValue(id), SqlValue(c.id), SqlValue(c.kernel), SqlValue(c.hv), SqlValue(c.config),
                       SqlValue(c.status), SqlValue(c.stage), binding, probe, detail, SqlValue(c.reason),
                       SqlValue(c.expected_reason), SqlValue(std::to_string(c.duration_ms)),
                       SqlValue(std::to_string(c.attempts.size())), set})
      params.push_back(std::move(v));
    if (++pending == kRowsPerInsert && !flush()) return fail(*err);
  }
  if (!flush()) return fail(*err);
  return db_->commit(err);
}

bool HistoryStore::runs(const std::string& matrix, size_t limit, std::vector<HistoryRun>* out, std::string* err) {
  std::string sql =
      "SELECT id, matrix, revision, dirty, host, started_at, shard, source, complete, total, unexpected, by_status"
      " FROM runs" +
      std::string(matrix.empty() ? "" : " WHERE matrix = ?") + " ORDER BY started_at_ms DESC, id DESC";
  if (limit > 0) sql += fmt::format(" LIMIT {}", limit);
  std::vector<SqlRow> rows;
  std::vector<SqlValue> params;
  if (!matrix.empty()) params.push_back(matrix);
  if (!db_->exec(sql, params, &rows, err)) return false;
  for (const SqlRow& r : rows) {
    HistoryRun run;
    run.id = number(r[0]);
    run.matrix = str(r[1]);
    run.revision = str(r[2]);
    run.dirty = number(r[3]) != 0;
    run.host = str(r[4]);
    run.started_at = str(r[5]);
    run.shard = str(r[6]);
    run.source = str(r[7]);
    run.complete = number(r[8]) != 0;
    run.total = static_cast<int>(number(r[9]));
    run.unexpected = static_cast<int>(number(r[10]));
    json counts = json::parse(str(r[11]), nullptr, false);
    if (counts.is_object())
      for (const auto& [status, n] : counts.items())
        if (n.is_number_integer()) run.by_status[status] = n.get<int>();
    out->push_back(std::move(run));
  }
  return true;
}

bool HistoryStore::timelines(const std::string& matrix, int64_t up_to,
                             std::map<std::string, std::vector<HistoryEntry>>* out, std::string* err,
                             std::set<std::string>* cut, size_t depth) {
  // The matrix's runs in order (a few hundred rows), then the results of the last `depth` of
  // them, unsorted: the database neither joins nor sorts, and a run costs O(depth x cells)
  // however long the history. Cells that did not work in any of those runs get their whole
  // history (their failing streak, "never passed"), a few cells at a time.
  int64_t until_ms = INT64_MAX;
  std::vector<SqlRow> rows;
  if (up_to > 0) {
    if (!db_->exec("SELECT started_at_ms FROM runs WHERE id = ?", {std::to_string(up_to)}, &rows, err)) return false;
    if (rows.empty()) return *err = fmt::format("no run {}", up_to), false;
    until_ms = number(rows[0][0]);
    rows.clear();
  }
  const std::string until = std::to_string(until_ms);
  if (!db_->exec("SELECT id FROM runs WHERE matrix = ? AND started_at_ms <= ? ORDER BY started_at_ms, id",
                 {matrix, until}, &rows, err))
    return false;
  std::unordered_map<int64_t, size_t> ordinal;
  for (const SqlRow& r : rows) ordinal.emplace(number(r[0]), ordinal.size());
  const size_t first_recent = depth > 0 && rows.size() > depth ? rows.size() - depth : 0;
  std::string recent;  // "12, 13, ..." (numbers from the store itself)
  for (size_t i = first_recent; i < rows.size(); ++i) recent += (recent.empty() ? "" : ", ") + str(rows[i][0]);
  const int64_t oldest_recent = rows.empty() ? 0 : number(rows[first_recent][0]);
  rows.clear();
  if (recent.empty()) return true;

  using Entries = std::vector<std::pair<size_t, HistoryEntry>>;
  std::unordered_map<std::string, Entries> by_cell;
  auto on_row = [&](const SqlRow& r) {
    int64_t run = number(r[1]);
    auto it = ordinal.find(run);
    if (it == ordinal.end() || !r[0]) return;  // a run recorded meanwhile
    auto cell = by_cell.find(*r[0]);
    if (cell == by_cell.end()) cell = by_cell.emplace(*r[0], Entries{}).first;
    HistoryEntry e;
    e.run = run;
    e.status = str(r[2]);
    cell->second.emplace_back(it->second, std::move(e));
  };
  if (!db_->each_row("SELECT cell, run_id, status FROM results WHERE run_id IN (" + recent + ")", {}, on_row, err))
    return false;

  if (first_recent > 0) {
    std::vector<std::string> whole;  // never worked in the recent runs: read everything
    for (auto& [cell, entries] : by_cell) {
      bool worked = false, in_oldest = false;
      for (const auto& [n, e] : entries) {
        worked = worked || e.status == "PASS" || e.status == "XPASS" || e.status == "FLAKY";
        in_oldest = in_oldest || e.run == oldest_recent;
      }
      if (!worked) whole.push_back(cell);
      else if (cut && in_oldest) cut->insert(cell);  // older results exist and were not read
    }
    constexpr size_t kCellsPerQuery = 100;
    for (size_t i = 0; i < whole.size(); i += kCellsPerQuery) {
      std::vector<SqlValue> params;
      std::string marks;
      for (size_t j = i; j < std::min(whole.size(), i + kCellsPerQuery); ++j) {
        params.push_back(whole[j]);
        marks += marks.empty() ? "?" : ", ?";
        by_cell[whole[j]].clear();
      }
      params.push_back(matrix);
      params.push_back(until);
      if (!db_->each_row("SELECT cell, run_id, status FROM results WHERE cell IN (" + marks +
                             ") AND run_id IN (SELECT id FROM runs WHERE matrix = ? AND started_at_ms <= ?)",
                         params, on_row, err))
        return false;
    }
  }
  for (auto& [cell, entries] : by_cell) {
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    auto& timeline = (*out)[cell];
    timeline.reserve(entries.size());
    for (auto& [n, e] : entries) timeline.push_back(std::move(e));
  }
  return true;
}

bool HistoryStore::cells(std::vector<std::string>* out, std::string* err) {
  // Answered from the (cell, run_id) index alone.
  return db_->each_row("SELECT DISTINCT cell FROM results", {}, [out](const SqlRow& r) { out->push_back(str(r[0])); }, err);
}

bool HistoryStore::results(const std::string& matrix, std::vector<HistoryResult>* out, std::string* err,
                           const std::vector<std::string>* only_cells, size_t last_runs) {
  std::string where = matrix.empty() ? " WHERE 1 = 1" : " WHERE runs.matrix = ?";
  if (last_runs > 0) {
    std::vector<HistoryRun> recent;
    if (!runs(matrix, last_runs, &recent, err)) return false;
    std::string ids;
    for (const HistoryRun& r : recent) ids += (ids.empty() ? "" : ", ") + std::to_string(r.id);
    if (ids.empty()) return true;
    where += " AND res.run_id IN (" + ids + ")";
  }
  std::vector<std::pair<int64_t, HistoryResult>> found;  // (started_at_ms, result)
  auto on_row = [&](const SqlRow& r) {
    found.emplace_back(number(r[11]), HistoryResult{str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]),
                                                    HistoryEntry{number(r[5]), str(r[6]), str(r[7]), str(r[8])},
                                                    str(r[9]), str(r[10])});
  };
  const std::string select =
      "SELECT res.cell, res.kernel, res.hv, res.config, runs.matrix, res.run_id, res.status, runs.revision,"
      " runs.started_at, res.stage, res.reason, runs.started_at_ms FROM results res JOIN runs ON runs.id = res.run_id";
  std::vector<SqlValue> base;
  if (!matrix.empty()) base.push_back(matrix);
  if (!only_cells) {
    if (!db_->each_row(select + where, base, on_row, err)) return false;
  } else {
    constexpr size_t kCellsPerQuery = 100;
    for (size_t i = 0; i < only_cells->size(); i += kCellsPerQuery) {
      std::vector<SqlValue> params = base;
      std::string marks;
      for (size_t j = i; j < std::min(only_cells->size(), i + kCellsPerQuery); ++j) {
        params.push_back((*only_cells)[j]);
        marks += marks.empty() ? "?" : ", ?";
      }
      if (!db_->each_row(select + where + " AND res.cell IN (" + marks + ")", params, on_row, err)) return false;
    }
  }
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first, a.second.entry.run) < std::tie(b.first, b.second.entry.run);
  });
  out->reserve(out->size() + found.size());
  for (auto& [ms, r] : found) out->push_back(std::move(r));
  return true;
}

bool HistoryStore::baseline(const std::string& matrix, const std::string& revision, const json* exclude,
                            HistoryBaseline* out, std::string* err) {
  const std::string excluded_key = exclude ? run_key(*exclude) : "";
  std::vector<SqlRow> rows;
  std::vector<SqlValue> params = {matrix, excluded_key};
  // A dirty work tree is not a revision: its runs are never a baseline.
  std::string sql =
      "SELECT id, revision, started_at_ms FROM runs WHERE matrix = ? AND complete = 1 AND run_key <> ?"
      " AND (dirty IS NULL OR dirty = 0)";
  if (!revision.empty()) {
    // A revision may be abbreviated: a prefix of the full one.
    sql += " AND revision LIKE ?";
    params.push_back(revision + "%");
  }
  sql += " ORDER BY started_at_ms DESC, id DESC LIMIT 1";
  if (!db_->exec(sql, params, &rows, err)) return false;
  if (rows.empty()) {
    *err = fmt::format("no complete run of matrix {}{} in history store {}", matrix,
                       revision.empty() ? "" : " on revision " + revision, display(location_));
    return false;
  }
  const int64_t run = number(rows[0][0]);
  const SqlValue rev = rows[0][1];
  const std::string until = str(rows[0][2]);
  rows.clear();
  if (!db_->exec("SELECT res.cell, res.kernel, res.hv, res.config, res.status, res.stage, res.binding, res.probe,"
                 " res.probe_detail, res.reason, res.expected_reason, res.run_id, ins.kernel, ins.initrd, ins.rom,"
                 " ins.hypervisor, ins.platform, ins.cmdline FROM results res"
                 " JOIN runs ON runs.id = res.run_id LEFT JOIN input_sets ins ON ins.digest = res.inputs"
                 " WHERE runs.matrix = ? AND runs.complete = 1 AND runs.run_key <> ? AND runs.started_at_ms <= ?"
                 " AND (runs.dirty IS NULL OR runs.dirty = 0)"
                 " AND (runs.revision = ? OR (runs.revision IS NULL AND CAST(? AS TEXT) IS NULL))"
                 " ORDER BY runs.started_at_ms, runs.id",
                 {matrix, excluded_key, until, rev, rev}, &rows, err))
    return false;
  std::map<std::string, json> latest;  // the latest result per cell wins
  std::vector<std::string> order;
  for (const SqlRow& r : rows) {
    json cell = {{"id", str(r[0])},       {"kernel", str(r[1])}, {"hv", str(r[2])},
                 {"config", str(r[3])},   {"status", str(r[4])}, {"stage", str(r[5])},
                 {"binding", json::object()}, {"probes", json::array()}, {"reason", str(r[9])},
                 {"expected_reason", str(r[10])}, {"history_run", number(r[11])}};
    if (r[6]) {
      json b = json::parse(*r[6], nullptr, false);
      if (b.is_object()) cell["binding"] = b;
    }
    if (r[7]) cell["probes"].push_back({{"id", *r[7]}, {"status", "fail"}, {"detail", str(r[8])}});
    // The latest result's inputs, or none when the latest was recorded without them.
    if (r[12]) out->inputs[str(r[0])] = CellInputs{str(r[12]), str(r[13]), str(r[14]), str(r[15]), str(r[16]), str(r[17])};
    else out->inputs.erase(str(r[0]));
    if (!latest.count(str(r[0]))) order.push_back(str(r[0]));
    latest[str(r[0])] = std::move(cell);
  }
  json cells = json::array();
  for (const std::string& id : order) cells.push_back(std::move(latest[id]));
  RunMeta meta;
  meta.matrix = ReportMatrix{"", matrix, std::nullopt};
  meta.git = ReportGit{rev, std::nullopt};
  ReportHistory recorded;
  recorded.recorded = true;
  recorded.run = run;
  recorded.store = display(location_);
  meta.history = recorded;
  out->report = report_document(meta, std::move(cells), /*complete=*/true);
  out->label = fmt::format("history run {} (matrix {}, revision {})", run, matrix, short_revision(str(rev)));
  return true;
}

bool history_baseline_for(const std::string& location, const json& head, const std::string& revision,
                          HistoryBaseline* base, std::string* err) {
  HistoryOpenError why;
  auto store = HistoryStore::open(location, /*create=*/false, err, &why);
  if (!store) return false;
  const ReportHeader h = read_report_header(head);
  const std::string name = h.meta.matrix ? h.meta.matrix->name : "";
  if (name.empty()) return *err = "meta.matrix.name is missing: which matrix's history?", false;
  return store->baseline(name, revision, &head, base, err);
}

std::string default_history_location(const std::string& out_dir) {
  if (const char* env = std::getenv("PVMATRIX_HISTORY"); env && *env) return env;
  std::string out = out_dir;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  fs::path parent = fs::path(out).parent_path();
  return (parent.empty() ? fs::path("history.sqlite") : parent / "history.sqlite").string();
}

void annotate_history(json* report, const std::map<std::string, std::vector<HistoryEntry>>& timelines,
                      const std::set<std::string>& cut, const std::string& store_display, int64_t run_id) {
  for_each_report_cell(report, [&](json& cell, const std::string& id) {
    if (auto it = timelines.find(id); it != timelines.end())
      set_cell_history(&cell, history_words(it->second, kHistoryWindow, cut.count(id) > 0));
  });
  set_report_history(report, ReportHistory{true, run_id, store_display, "", kHistoryWindow});
}

void annotate_history_failure(json* report, const std::string& store_display, const std::string& error) {
  set_report_history(report, ReportHistory{false, std::nullopt, store_display, error, kHistoryWindow});
}

CellTimelines group_by_cell(const std::vector<HistoryResult>& results) {
  CellTimelines t;
  for (const HistoryResult& r : results) {
    auto key = std::pair{r.matrix, r.cell};
    auto [it, fresh] = t.by_cell.try_emplace(key);
    if (fresh) t.order.push_back(key);
    it->second.push_back(&r);
  }
  return t;
}

}  // namespace pvm
