// The customer feed (tables customer_feed and customer_feed_orders, migration 0011): the
// customer:{id} topic, projected from order events. Every change of any of a customer's orders
// is one feed row, numbered per customer in commit order without gaps, and announced to the
// topic hub once its round has committed. Only an order's `placed` names its customer; its later
// events find the customer in customer_feed_orders.

#include "actors/protocol/commerce.hpp"
#include "adapters/pg/array_literal.hpp"
#include "adapters/pg/customer_feed.hpp"
#include "adapters/pg/projection.hpp"

#include <caf/make_message.hpp>

#include <map>
#include <set>

namespace mercato::pg {

namespace {

using nlohmann::json;

// An order as the feed knows it.
struct feed_order {
  std::string customer_id;
  std::string status;
  int64_t order_seq = 0;
  int64_t updated_at_ms = 0;
  int64_t feed_seq = 0;
  bool changed = false; // by this round
};

// One change on its way into the feed.
struct feed_change {
  std::string customer_id;
  std::string order_id;
  int64_t order_seq = 0;
  std::string change;
  std::string status;
  std::string fact_type;
  int64_t at_ms = 0;
};

int64_t at_ms(const projection_event& ev) {
  auto i = ev.payload.find("at_ms");
  return i != ev.payload.end() && i->is_number() ? i->get<int64_t>() : ev.recorded_ms;
}

std::string customer_of_placed(const projection_event& ev) {
  auto p = ev.payload.find("placement");
  return p != ev.payload.end() && p->is_object() ? p->value("customer_id", std::string{})
                                                 : std::string{};
}

std::string fact_type_of(const projection_event& ev) {
  auto f = ev.payload.find("fact");
  return f != ev.payload.end() && f->is_object() ? f->value("type", std::string{}) : std::string{};
}

// The orders of `events` placed in an earlier round, as the feed left them.
std::map<std::string, feed_order> known_orders(pqxx::work& txn,
                                               const std::vector<projection_event>& events) {
  std::set<std::string> placed_here;
  std::set<std::string> wanted;
  for (const auto& ev : events)
    if (ev.type == "placed")
      placed_here.insert(ev.entity_id);
    else if (placed_here.count(ev.entity_id) == 0)
      wanted.insert(ev.entity_id);
  std::map<std::string, feed_order> out;
  if (wanted.empty())
    return out;
  array_literal ids;
  for (const auto& id : wanted)
    ids.add_quoted(id);
  auto rows = txn.exec_params("SELECT order_id, customer_id, status, order_seq, updated_at_ms, "
                              "feed_seq FROM customer_feed_orders WHERE order_id = ANY($1::text[])",
                              ids.done());
  for (const auto& row : rows)
    out[row[0].as<std::string>()]
      = {row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<int64_t>(),
         row[4].as<int64_t>(),     row[5].as<int64_t>(),     false};
  return out;
}

constexpr const char* insert_feed_sql
  = "INSERT INTO customer_feed (customer_id, seq, order_id, order_seq, change, status, "
    "fact_type, at_ms) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], "
    "$5::text[], $6::text[], $7::text[], $8::bigint[])";

constexpr const char* upsert_orders_sql
  = "INSERT INTO customer_feed_orders (order_id, customer_id, status, order_seq, updated_at_ms, "
    "feed_seq) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], "
    "$5::bigint[], $6::bigint[]) ON CONFLICT (order_id) DO UPDATE SET "
    "status = EXCLUDED.status, order_seq = EXCLUDED.order_seq, "
    "updated_at_ms = EXCLUDED.updated_at_ms, feed_seq = EXCLUDED.feed_seq";

void apply(pqxx::work& txn, const std::vector<projection_event>& events,
           std::vector<committed_event>& published) {
  auto orders = known_orders(txn, events);
  std::vector<feed_change> changes;
  for (const auto& ev : events) {
    if (ev.type == "placed")
      orders[ev.entity_id].customer_id = customer_of_placed(ev);
    auto it = orders.find(ev.entity_id);
    // An order without a customer (or whose `placed` the journal lacks) has no feed; an event
    // the feed already holds is not told twice.
    if (it == orders.end() || it->second.customer_id.empty() || ev.seq <= it->second.order_seq)
      continue;
    auto& o = it->second;
    auto status = ev.payload.value("status_after", std::string{});
    if (!status.empty())
      o.status = std::move(status);
    o.order_seq = ev.seq;
    o.updated_at_ms = at_ms(ev);
    o.changed = true;
    changes.push_back(
      {o.customer_id, ev.entity_id, ev.seq, ev.type, o.status, fact_type_of(ev), o.updated_at_ms});
  }
  if (changes.empty())
    return;
  std::set<std::string> customers;
  for (const auto& c : changes)
    customers.insert(c.customer_id);
  auto head = lock_feed_heads(txn, customers);
  array_literal f_customer, f_seq, f_order, f_order_seq, f_change, f_status, f_fact, f_at;
  for (auto& c : changes) {
    auto seq = ++head[c.customer_id];
    orders[c.order_id].feed_seq = seq;
    f_customer.add_quoted(c.customer_id);
    f_seq.add_raw(std::to_string(seq));
    f_order.add_quoted(c.order_id);
    f_order_seq.add_raw(std::to_string(c.order_seq));
    f_change.add_quoted(c.change);
    f_status.add_quoted(c.status);
    f_fact.add_quoted(c.fact_type);
    f_at.add_raw(std::to_string(c.at_ms));
    customer_event e{"order_updated",
                     {c.order_id, c.status, static_cast<uint64_t>(c.order_seq), c.at_ms},
                     std::move(c.change),
                     std::move(c.fact_type),
                     c.at_ms,
                     {}};
    published.push_back(
      {"customer", c.customer_id, static_cast<uint64_t>(seq), caf::make_message(std::move(e))});
  }
  txn.exec_params(insert_feed_sql, f_customer.done(), f_seq.done(), f_order.done(),
                  f_order_seq.done(), f_change.done(), f_status.done(), f_fact.done(), f_at.done());
  // Each order once, in key order (lock order), as the batch leaves it.
  array_literal o_id, o_customer, o_status, o_seq, o_at, o_feed;
  for (const auto& [id, o] : orders) {
    if (!o.changed)
      continue;
    o_id.add_quoted(id);
    o_customer.add_quoted(o.customer_id);
    o_status.add_quoted(o.status);
    o_seq.add_raw(std::to_string(o.order_seq));
    o_at.add_raw(std::to_string(o.updated_at_ms));
    o_feed.add_raw(std::to_string(o.feed_seq));
  }
  txn.exec_params(upsert_orders_sql, o_id.done(), o_customer.done(), o_status.done(), o_seq.done(),
                  o_at.done(), o_feed.done());
}

// A rebuild replays order events only; the inbox messages of the feed (rows the notification
// feeder adds, migration 0020) are kept aside with their seqs, and the replayed order changes,
// numbered 1..n per customer, take the seqs the messages leave free, in order. A feed rebuilt
// from the same events is then the feed it was, row for row and seq for seq.
void keep_inbox(pqxx::work& txn) {
  txn.exec("CREATE TEMP TABLE feed_inbox ON COMMIT DROP AS SELECT * FROM customer_feed "
           "WHERE notification_id IS NOT NULL");
}

void restore_inbox(pqxx::work& txn) {
  // The k-th seq of each customer that no message holds.
  txn.exec(
    "CREATE TEMP TABLE feed_free ON COMMIT DROP AS "
    "SELECT c.customer_id, s AS seq, row_number() OVER (PARTITION BY c.customer_id "
    "ORDER BY s) AS k FROM (SELECT customer_id, count(*) AS n FROM customer_feed GROUP BY 1) "
    "c LEFT JOIN (SELECT customer_id, count(*) AS m FROM feed_inbox GROUP BY 1) i USING "
    "(customer_id) CROSS JOIN LATERAL generate_series(1, c.n + coalesce(i.m, 0)) s "
    "WHERE NOT EXISTS (SELECT 1 FROM feed_inbox b WHERE b.customer_id = c.customer_id AND "
    "b.seq = s)");
  txn.exec("CREATE TEMP TABLE feed_replayed ON COMMIT DROP AS SELECT * FROM customer_feed; "
           "DELETE FROM customer_feed; "
           "INSERT INTO customer_feed (customer_id, seq, order_id, order_seq, change, status, "
           "fact_type, at_ms, notification_id) SELECT r.customer_id, f.seq, r.order_id, "
           "r.order_seq, r.change, r.status, r.fact_type, r.at_ms, NULL FROM feed_replayed r JOIN "
           "feed_free f ON f.customer_id = r.customer_id AND f.k = r.seq; "
           "INSERT INTO customer_feed SELECT * FROM feed_inbox; "
           "UPDATE customer_feed_orders o SET feed_seq = f.seq FROM feed_free f "
           "WHERE f.customer_id = o.customer_id AND f.k = o.feed_seq");
}

} // namespace

const projection& customer_feed_projection() {
  // A marketplace buyer is no Mercato customer: imported orders have no feed.
  static const projection p{"customer_feed",
                            {"order"},
                            {"customer_feed", "customer_feed_orders"},
                            apply,
                            true,
                            {},
                            {keep_inbox, restore_inbox}};
  return p;
}

} // namespace mercato::pg
