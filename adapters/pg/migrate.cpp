#include "adapters/pg/migrate.hpp"

#include "adapters/pg/connection.hpp"
#include "runtime/logging.hpp"

#include <pqxx/pqxx>

#include <set>

namespace mercato::pg {

namespace {

// Any constant works as long as every Mercato process uses the same one ('mrct').
constexpr const char* lock_key = "1836217204";

void lock(pqxx::work& txn) {
  txn.exec(std::string{"SELECT pg_advisory_xact_lock("} + lock_key + ")");
}

std::set<int> applied_versions(pqxx::work& txn) {
  std::set<int> out;
  for (const auto& row : txn.exec("SELECT version FROM schema_migrations"))
    out.insert(row[0].as<int>());
  return out;
}

} // namespace

std::string migrate(const std::string& url) {
  auto log = runtime::logger("pg");
  try {
    pqxx::connection conn{with_connect_timeout(url, 5)};
    {
      pqxx::work txn{conn};
      lock(txn);
      txn.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
               "version int PRIMARY KEY, name text NOT NULL, "
               "applied_at timestamptz NOT NULL DEFAULT now())");
      txn.commit();
    }
    int applied = 0;
    for (const auto& m : migrations()) {
      pqxx::work txn{conn};
      // Re-check under the lock: another process may have applied it since we last looked.
      lock(txn);
      if (applied_versions(txn).count(m.version) > 0)
        continue;
      log->info("pg migration {} applies", m.name);
      txn.exec(m.sql);
      txn.exec("INSERT INTO schema_migrations (version, name) VALUES (" + txn.quote(m.version)
               + ", " + txn.quote(m.name) + ")");
      txn.commit();
      ++applied;
    }
    if (applied > 0)
      log->info("pg schema is at version {} ({} migrations applied)",
                migrations().empty() ? 0 : migrations().back().version, applied);
    return {};
  } catch (const std::exception& e) {
    auto what = std::string{e.what()};
    what = what.substr(0, what.find('\n'));
    auto msg = "migration of " + redact_dsn(url) + " fails: " + what;
    log->error("{}", msg);
    return msg;
  }
}

} // namespace mercato::pg
