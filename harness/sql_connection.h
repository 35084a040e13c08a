// The two databases a history store lives in, behind one small interface (ninja's way: the
// backend is chosen by file, sql_sqlite.cpp or sql_postgres.cpp). SQL is written once, with
// `?` placeholders; the PostgreSQL side numbers them ($1, $2, ...). Every value travels as
// text or NULL; the database converts it to the column's type.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pvm {

/// A parameter or a column value: text, or NULL.
using SqlValue = std::optional<std::string>;
using SqlRow = std::vector<SqlValue>;

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  /// "sqlite" or "postgresql".
  virtual const char* dialect() const = 0;
  /// Runs one statement; its rows (if any) into `rows` (may be null). False with `*err` (the
  /// database's own message).
  virtual bool exec(const std::string& sql, const std::vector<SqlValue>& params, std::vector<SqlRow>* rows,
                    std::string* err) = 0;
  /// Runs one query and hands each row to `on_row` (the same SqlRow object, refilled: a
  /// history's tens of thousands of rows cost no allocation each). False with `*err`.
  virtual bool each_row(const std::string& sql, const std::vector<SqlValue>& params,
                        const std::function<void(const SqlRow&)>& on_row, std::string* err) = 0;
  /// Starts a transaction that excludes every other writer until commit/rollback (SQLite:
  /// BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock).
  virtual bool begin_write(std::string* err) = 0;
  virtual bool commit(std::string* err) = 0;
  /// Rolls back the open transaction, if any. Never fails.
  virtual void rollback() = 0;
};

/// Opens (creating it when `create`) the SQLite file at `path`, in WAL mode with a long busy
/// timeout so concurrent writers wait for each other. A file that is not a database fails here
/// with SQLite's reason ("file is not a database").
std::unique_ptr<SqlConnection> open_sqlite(const std::string& path, bool create, std::string* err);

/// Connects to a PostgreSQL server (`postgresql://...` connection URI) through libpqxx. libpqxx
/// and libpq live in a run-time module (pvmatrix-postgresql.so beside the executable, see
/// module_loader.h), loaded by the first call: a command that never opens a PostgreSQL store
/// does not load them (~25 ms of start-up here). Fails with the reason when the module cannot be
/// loaded.
std::unique_ptr<SqlConnection> open_postgres(const std::string& uri, std::string* err);

/// The PostgreSQL module's interface table (sql_postgres.cpp).
struct PostgresModule {
  int abi;
  size_t size;
  std::unique_ptr<SqlConnection> (*open)(const std::string& uri, std::string* err);
};
inline constexpr int kPostgresModuleAbi = 1;
inline constexpr const char* kPostgresModuleFile = "pvmatrix-postgresql.so";
inline constexpr const char* kPostgresModuleSymbol = "pvmatrix_postgres_module";

}  // namespace pvm
