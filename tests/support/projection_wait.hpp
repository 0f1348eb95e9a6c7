#pragma once

// For end-to-end tests that read a read model's table (orders, payments, checkouts_open,
// customer_feed) right after a write through the API: the server's projections apply the journal
// after each commit, so the test waits, with a deadline, until the projection has applied every
// event committed before the call. The condition is exact, not a guess at how long the
// projection takes.

#include "tests/support/e2e_env.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <map>
#include <string>

namespace mercato::test {

/// True once projection `name` ("orders", "payments", "checkouts_open") of the database at `dsn`
/// holds every event committed before the call: every transaction that had begun by then has
/// ended, and no row of its kind among them lies after its offset. False after `timeout`.
inline bool projection_caught_up(const std::string& dsn, const std::string& name,
                                 std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
  // The kinds each projection reads (adapters/pg/*_projection.cpp): payments also takes the
  // authorisation an order's `placed` records.
  static const std::map<std::string, std::string> kinds_of{
    {"orders", "'order'"}, {"payments", "'payment', 'order'"}, {"checkouts_open", "'checkout'"}};
  pqxx::connection conn{dsn};
  pqxx::nontransaction txn{conn};
  auto target
    = txn.quote(
        txn.exec1("SELECT pg_snapshot_xmax(pg_current_snapshot())::text")[0].as<std::string>())
      + "::xid8";
  auto sql = "SELECT pg_snapshot_xmin(pg_current_snapshot()) >= " + target
             + " AND NOT EXISTS (SELECT 1 FROM projection_offsets o JOIN journal j ON "
               "(j.tx, j.pos) > (o.last_tx, o.last_pos) WHERE o.name = "
             + txn.quote(name) + " AND j.entity_kind IN (" + kinds_of.at(name) + ")"
             + " AND j.tx < " + target + ")";
  return eventually([&] { return txn.exec1(sql)[0].as<bool>(); }, timeout,
                    std::chrono::milliseconds{5});
}

} // namespace mercato::test
