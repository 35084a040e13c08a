// SqlConnection over PostgreSQL (libpqxx): a history store a team shares. Built as the run-time
// module pvmatrix-postgresql.so (sql_connection.h: open_postgres loads it).
#include <pqxx/pqxx>

#include "sql_connection.h"

namespace pvm {
namespace {

// Any fixed number: the lock every pvmatrix writer of a database takes (migrations, runs).
constexpr long long kWriterLock = 0x70766d17;

// `?` placeholders -> $1, $2, ... (the store's SQL has no `?` inside string literals).
std::string numbered(const std::string& sql) {
  std::string out;
  int n = 0;
  for (char c : sql) {
    if (c == '?') out += "$" + std::to_string(++n);
    else out += c;
  }
  return out;
}

class PostgresConnection final : public SqlConnection {
 public:
  explicit PostgresConnection(std::unique_ptr<pqxx::connection> c) : conn_(std::move(c)) {}
  ~PostgresConnection() override { rollback(); }
  const char* dialect() const override { return "postgresql"; }

  bool exec(const std::string& sql, const std::vector<SqlValue>& params, std::vector<SqlRow>* rows,
            std::string* err) override {
    return each_row(sql, params, [rows](const SqlRow& row) { if (rows) rows->push_back(row); }, err);
  }

  bool each_row(const std::string& sql, const std::vector<SqlValue>& params,
                const std::function<void(const SqlRow&)>& on_row, std::string* err) override {
    try {
      std::vector<const char*> values;
      values.reserve(params.size());
      for (const SqlValue& p : params) values.push_back(p ? p->c_str() : nullptr);
      pqxx::result r;
      if (work_) {
        r = work_->exec_params(numbered(sql), pqxx::prepare::make_dynamic_params(values));
      } else {
        pqxx::nontransaction tx(*conn_);
        r = tx.exec_params(numbered(sql), pqxx::prepare::make_dynamic_params(values));
      }
      SqlRow out;
      for (const auto& row : r) {
        out.resize(row.size());
        size_t c = 0;
        for (const auto& field : row) {
          if (field.is_null()) out[c].reset();
          else out[c] = std::string(field.c_str(), field.size());
          ++c;
        }
        on_row(out);
      }
      return true;
    } catch (const std::exception& e) {
      *err = trimmed(e.what());
      return false;
    }
  }

  bool begin_write(std::string* err) override {
    try {
      work_ = std::make_unique<pqxx::work>(*conn_);
      work_->exec_params("SELECT pg_advisory_xact_lock($1)", kWriterLock);
      return true;
    } catch (const std::exception& e) {
      work_.reset();
      *err = trimmed(e.what());
      return false;
    }
  }
  bool commit(std::string* err) override {
    try {
      work_->commit();
      work_.reset();
      return true;
    } catch (const std::exception& e) {
      work_.reset();
      *err = trimmed(e.what());
      return false;
    }
  }
  void rollback() override {
    if (!work_) return;
    try {
      work_->abort();
    } catch (...) {
    }
    work_.reset();
  }

 private:
  static std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    for (char& c : s)
      if (c == '\n') c = ' ';
    return s;
  }
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::work> work_;
};

}  // namespace

// A server that does not answer must not hold a finished run for minutes: libpq waits forever
// unless the URI says otherwise.
constexpr const char* kConnectTimeout = "connect_timeout=10";

namespace {

std::unique_ptr<SqlConnection> connect_postgres(const std::string& uri, std::string* err) {
  try {
    std::string with_timeout = uri;
    if (uri.find("connect_timeout=") == std::string::npos)
      with_timeout += (uri.find('?') == std::string::npos ? "?" : "&") + std::string(kConnectTimeout);
    auto c = std::make_unique<pqxx::connection>(with_timeout);
    {
      pqxx::nontransaction tx(*c);
      tx.exec("SET client_min_messages TO WARNING");  // no NOTICE lines from CREATE ... IF NOT EXISTS
    }
    return std::make_unique<PostgresConnection>(std::move(c));
  } catch (const std::exception& e) {
    std::string s = e.what();
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    for (char& ch : s)
      if (ch == '\n') ch = ' ';
    *err = s;
    return nullptr;
  }
}

const PostgresModule kModule{kPostgresModuleAbi, sizeof(PostgresModule), connect_postgres};

}  // namespace

}  // namespace pvm

extern "C" __attribute__((visibility("default"))) const pvm::PostgresModule* pvmatrix_postgres_module() {
  return &pvm::kModule;
}
