// SqlConnection over SQLite (libsqlite3): the history store's default, one file.
#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "sql_connection.h"

namespace pvm {
namespace {

constexpr int kBusyTimeoutMs = 120000;  // another writer's transaction: wait, do not fail

class SqliteConnection final : public SqlConnection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override {
    rollback();
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  const char* dialect() const override { return "sqlite"; }

  bool exec(const std::string& sql, const std::vector<SqlValue>& params, std::vector<SqlRow>* rows,
            std::string* err) override {
    return each_row(sql, params, [rows](const SqlRow& row) { if (rows) rows->push_back(row); }, err);
  }

  bool each_row(const std::string& sql, const std::vector<SqlValue>& params,
                const std::function<void(const SqlRow&)>& on_row, std::string* err) override {
    sqlite3_stmt* stmt = prepared(sql, err);
    if (!stmt) return false;
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    for (size_t i = 0; i < params.size(); ++i) {
      int rc = params[i] ? sqlite3_bind_text(stmt, static_cast<int>(i + 1), params[i]->data(),
                                             static_cast<int>(params[i]->size()), SQLITE_TRANSIENT)
                         : sqlite3_bind_null(stmt, static_cast<int>(i + 1));
      if (rc != SQLITE_OK) return fail(err);
    }
    SqlRow row;
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        std::string message = sqlite3_errmsg(db_);
        sqlite3_reset(stmt);
        *err = message;
        return false;
      }
      const auto columns = static_cast<size_t>(sqlite3_column_count(stmt));
      row.resize(columns);
      for (size_t c = 0; c < columns; ++c) {
        const int col = static_cast<int>(c);
        const int type = sqlite3_column_type(stmt, col);
        if (type == SQLITE_NULL) {
          row[c].reset();
        } else if (type == SQLITE_INTEGER) {  // no text conversion (and allocation) inside SQLite
          char digits[24];
          auto [end, ec] = std::to_chars(digits, digits + sizeof digits, sqlite3_column_int64(stmt, col));
          if (row[c]) row[c]->assign(digits, end);
          else row[c].emplace(digits, end);
        } else {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
          const auto size = static_cast<size_t>(sqlite3_column_bytes(stmt, col));
          if (row[c]) row[c]->assign(text, size);  // reuses the string's buffer
          else row[c].emplace(text, size);
        }
      }
      on_row(row);
    }
    sqlite3_reset(stmt);
    return true;
  }

  bool begin_write(std::string* err) override {
    if (!exec("BEGIN IMMEDIATE", {}, nullptr, err)) return false;
    in_transaction_ = true;
    return true;
  }
  bool commit(std::string* err) override {
    if (!exec("COMMIT", {}, nullptr, err)) return false;
    in_transaction_ = false;
    return true;
  }
  void rollback() override {
    if (!in_transaction_) return;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    in_transaction_ = false;
  }

 private:
  bool fail(std::string* err) {
    *err = sqlite3_errmsg(db_);
    return false;
  }
  // Statements are kept: a run's results are inserted with the same few statements.
  sqlite3_stmt* prepared(const std::string& sql, std::string* err) {
    if (auto it = statements_.find(sql); it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
      *err = sqlite3_errmsg(db_);
      return nullptr;
    }
    statements_[sql] = stmt;
    return stmt;
  }

  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*> statements_;
  bool in_transaction_ = false;
};

}  // namespace

std::unique_ptr<SqlConnection> open_sqlite(const std::string& path, bool create, std::string* err) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    *err = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return nullptr;
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  auto conn = std::make_unique<SqliteConnection>(db);
  // WAL: readers never wait for a writer; the first statement also tells a non-database file.
  // Switching a new file to WAL upgrades a read transaction to a write one, and SQLite does not
  // call the busy handler for that upgrade (it could deadlock): two runs creating the same store
  // at once get SQLITE_BUSY at once. So that one statement waits here, as the busy handler would.
  for (int waited_ms = 0, step_ms = 1;; waited_ms += step_ms, step_ms = std::min(step_ms * 2, 100)) {
    int rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) break;
    if ((rc & 0xff) != SQLITE_BUSY || waited_ms >= kBusyTimeoutMs) {
      *err = sqlite3_errmsg(db);
      return nullptr;
    }
    sqlite3_sleep(step_ms);
  }
  if (!conn->exec("PRAGMA foreign_keys=ON", {}, nullptr, err)) return nullptr;
  // WAL with NORMAL: a crash never corrupts the store or splits a run; the last runs before a
  // power loss may be missing (import their reports again).
  if (!conn->exec("PRAGMA synchronous=NORMAL", {}, nullptr, err)) return nullptr;
  // Reads through a memory map and a larger cache: a run reads its matrix's recent results.
  std::vector<SqlRow> ignored;
  if (!conn->exec("PRAGMA mmap_size=268435456", {}, &ignored, err)) return nullptr;
  if (!conn->exec("PRAGMA cache_size=-16384", {}, nullptr, err)) return nullptr;
  return conn;
}

}  // namespace pvm
