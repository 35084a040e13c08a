// open_postgres: the PostgreSQL backend is a run-time module (sql_connection.h).
#include "module_loader.h"
#include "sql_connection.h"

namespace pvm {

std::unique_ptr<SqlConnection> open_postgres(const std::string& uri, std::string* err) {
  const PostgresModule* m = module_table<PostgresModule>(kPostgresModuleFile, kPostgresModuleSymbol,
                                                         kPostgresModuleAbi, err);
  if (!m) {
    *err = "PostgreSQL support is not available: " + *err;
    return nullptr;
  }
  return m->open(uri, err);
}

}  // namespace pvm
