#pragma once

// Versioned schema migrations: adapters/pg/migrations/NNNN_name.sql, embedded at build time.

#include <string>
#include <vector>

namespace mercato::pg {

/// One embedded migration file.
struct migration {
  int version;      ///< NNNN of the file name
  std::string name; ///< file name without ".sql", e.g. "0001_init"
  std::string sql;
};

/// Every embedded migration, ascending by version (generated from the .sql files).
const std::vector<migration>& migrations();

/// Brings the database at `url` up to the newest embedded migration and returns "" on success or
/// a description of the failure (without the password). Each missing version runs in its own
/// transaction holding a transaction-level advisory lock and is recorded in schema_migrations,
/// so it is idempotent and safe when several processes start at once. Blocking: call it from
/// main() or a tool, not from an actor on the CAF scheduler.
std::string migrate(const std::string& url);

} // namespace mercato::pg
