#include "adapters/pg/customer_feed.hpp"

#include "actors/protocol/errors.hpp"
#include "adapters/pg/array_literal.hpp"
#include "adapters/pg/connection.hpp"
#include "adapters/pg/pool.hpp"
#include "adapters/pg/read_your_writes.hpp"

#include <caf/all.hpp>

#include <pqxx/pqxx>

namespace mercato::pg {

namespace {

// Orders a snapshot lists, newest change first; the topic's replays hold the rest.
constexpr int snapshot_orders = 200;
// Inbox messages a snapshot lists, newest first; GET /v1/customers/{id}/notifications has all.
constexpr int snapshot_inbox = 20;

inbox_item inbox_item_of(const pqxx::row& row, int first) {
  return {row[first].as<std::string>(),     row[first + 1].as<std::string>(),
          row[first + 2].as<std::string>(), row[first + 3].as<std::string>(),
          row[first + 4].as<std::string>(), row[first + 5].as<std::string>(),
          row[first + 6].as<int64_t>()};
}

constexpr const char* inbox_columns
  = "n.id::text, n.order_id, n.kind, n.locale, n.subject, n.body, (extract(epoch FROM "
    "n.created_at) * 1000)::bigint";

customer_view snapshot(pqxx::connection& conn, const std::string& customer_id) {
  // One snapshot of the tables for the seq, the orders and the inbox.
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> txn{
    conn, "customer-snapshot"};
  auto rows = txn.exec_params(
    "SELECT h.seq, o.order_id, o.status, o.order_seq, o.updated_at_ms FROM (SELECT "
    "COALESCE(max(seq), 0) AS seq FROM customer_feed WHERE customer_id = $1) h LEFT JOIN LATERAL "
    "(SELECT * FROM customer_feed_orders WHERE customer_id = $1 ORDER BY feed_seq DESC LIMIT $2) "
    "o ON true",
    customer_id, snapshot_orders);
  auto inbox = txn.exec_params(std::string{"SELECT "} + inbox_columns
                                 + " FROM customer_feed f JOIN notifications n ON n.id = "
                                   "f.notification_id WHERE f.customer_id = $1 AND "
                                   "f.notification_id IS NOT NULL ORDER BY f.seq DESC LIMIT $2",
                               customer_id, snapshot_inbox);
  txn.commit();
  customer_view v;
  v.customer.customer_id = customer_id;
  for (const auto& row : rows) {
    v.version = row[0].as<uint64_t>();
    if (row[1].is_null())
      continue;
    v.customer.orders.push_back({row[1].as<std::string>(), row[2].as<std::string>(),
                                 row[3].as<uint64_t>(), row[4].as<int64_t>()});
  }
  for (const auto& row : inbox)
    v.customer.inbox.push_back(inbox_item_of(row, 0));
  return v;
}

recovery_data replay(pqxx::connection& conn, const std::string& customer_id, uint64_t after,
                     uint64_t limit) {
  pqxx::nontransaction txn{conn};
  // The newest seq (part 'h') and up to `limit` rows after `after` (part 'e'), an inbox row with
  // its message.
  auto rows = txn.exec_params(
    std::string{"SELECT 'h' AS part, COALESCE(max(seq), 0) AS seq, NULL, NULL, NULL::bigint, "
                "NULL, NULL, NULL::bigint, NULL, NULL, NULL, NULL, NULL, NULL, NULL::bigint FROM "
                "customer_feed WHERE customer_id = $1 UNION ALL (SELECT 'e', f.seq, f.order_id, "
                "f.status, f.order_seq, f.change, f.fact_type, f.at_ms, "}
      + inbox_columns
      + " FROM customer_feed f LEFT JOIN notifications n ON n.id = f.notification_id WHERE "
        "f.customer_id = $1 AND f.seq > $2 ORDER BY f.seq LIMIT $3)",
    customer_id, static_cast<int64_t>(after), static_cast<int64_t>(limit));
  recovery_data out;
  for (const auto& row : rows) {
    if (row[0].as<std::string>() == "h") {
      out.last_seq = row[1].as<uint64_t>();
      continue;
    }
    auto at = row[7].as<int64_t>();
    bool message = !row[8].is_null();
    customer_event e{
      message ? "notification" : "order_updated",
      {row[2].as<std::string>(), row[3].as<std::string>(), row[4].as<uint64_t>(), at},
      row[5].as<std::string>(),
      row[6].as<std::string>(),
      at,
      message ? inbox_item_of(row, 8) : inbox_item{}};
    out.events.push_back(caf::make_message(std::move(e)));
  }
  return out;
}

struct worker_state {
  static inline const char* name = "pg.customer_feed";
  std::unique_ptr<session> db;
  projection_actor projection;
  std::chrono::milliseconds wait{0};
};

using worker_self = customer_feed_actor::stateful_pointer<worker_state>;

template <class T, class Promise, class F>
void deliver(worker_self self, Promise& rp, F&& query) {
  auto res = self->state.db->run<T>(std::forward<F>(query));
  if (res)
    rp.deliver(std::move(*res));
  else
    rp.deliver(std::move(res.error()));
}

customer_feed_actor::behavior_type worker(worker_self self, std::string url,
                                          projection_actor projection,
                                          std::chrono::milliseconds wait, int index) {
  self->state.db
    = std::make_unique<session>(std::move(url), "customer-feed-" + std::to_string(index), nullptr);
  self->state.projection = std::move(projection);
  self->state.wait = wait;
  return {
    [self](atom::get, const std::string& customer_id) -> caf::result<customer_view> {
      auto rp = self->make_response_promise<customer_view>();
      after_projection(self, self->state.projection, self->state.wait, "customer feed",
                       [self, rp, customer_id]() mutable {
                         deliver<customer_view>(self, rp, [&](pqxx::connection& conn) {
                           return snapshot(conn, customer_id);
                         });
                       });
      return rp;
    },
    // Replays read what a snapshot or a live frame already announced: committed rows, no wait.
    [self](atom::read, const std::string& kind, const std::string& customer_id, uint64_t after,
           uint64_t limit) -> caf::result<recovery_data> {
      if (kind != "customer")
        return caf::make_error(mercato_errc::invalid_request, "the customer feed has no " + kind);
      auto rp = self->make_response_promise<recovery_data>();
      deliver<recovery_data>(
        self, rp, [&](pqxx::connection& conn) { return replay(conn, customer_id, after, limit); });
      return rp;
    },
  };
}

} // namespace

std::map<std::string, int64_t> lock_feed_heads(pqxx::transaction_base& txn,
                                               const std::set<std::string>& customers) {
  std::map<std::string, int64_t> out;
  if (customers.empty())
    return out;
  array_literal ids;
  for (const auto& c : customers) {
    ids.add_quoted(c);
    out[c] = 0;
  }
  auto list = ids.done();
  // The locks in the order of their keys (the subquery's order feeds the aggregate).
  txn.exec_params("SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT hashtextextended('feed:' "
                  "|| c, 0) AS k FROM unnest($1::text[]) AS c ORDER BY 1) s",
                  list);
  auto rows = txn.exec_params("SELECT c, (SELECT max(seq) FROM customer_feed f WHERE "
                              "f.customer_id = c) FROM unnest($1::text[]) AS c",
                              list);
  for (const auto& row : rows)
    if (!row[1].is_null())
      out[row[0].as<std::string>()] = row[1].as<int64_t>();
  return out;
}

customer_feed_actor spawn_customer_feed(caf::actor_system& sys, std::string url, int workers,
                                        projection_actor projection,
                                        std::chrono::milliseconds wait) {
  return spawn_pool<customer_feed_actor>(sys, "pg.customer_feed", workers, worker, std::move(url),
                                         std::move(projection), wait);
}

} // namespace mercato::pg
