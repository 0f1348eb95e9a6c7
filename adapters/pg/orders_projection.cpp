// The orders read model (table `orders`, migrations 0002, 0006) behind GET /v1/orders and the
// delay sweeper, projected from order events.

#include "adapters/pg/array_literal.hpp"
#include "adapters/pg/projection.hpp"

#include <map>

namespace mercato::pg {

namespace {

using nlohmann::json;

// An order as this batch of events leaves it.
struct order_row {
  bool placed = false; // the batch holds its `placed`: a new row
  std::string customer_id;
  std::string status;
  int64_t total_minor = 0;
  std::string currency;
  int64_t lines = 0;
  int64_t placed_ms = 0;
  int64_t updated_ms = 0;
  int64_t version = 0; // seq of the last event applied
  int64_t next_check_ms = 0;
};

int64_t at_ms(const projection_event& ev) {
  auto i = ev.payload.find("at_ms");
  return i != ev.payload.end() && i->is_number() ? i->get<int64_t>() : ev.recorded_ms;
}

// Any order event: the status it leaves (what lists show), when, and the next delay check the
// order stamped into it.
void on_change(order_row& row, const projection_event& ev) {
  auto status = ev.payload.value("status_after", std::string{});
  if (!status.empty())
    row.status = std::move(status);
  row.updated_ms = at_ms(ev);
  row.version = ev.seq;
  row.next_check_ms = ev.payload.value("next_check_ms", int64_t{0});
}

void on_placed(order_row& row, const projection_event& ev) {
  static const json none = json::object();
  const auto& placement = ev.payload.contains("placement") ? ev.payload["placement"] : none;
  row.placed = true;
  row.customer_id = placement.value("customer_id", std::string{});
  auto sums = placement.value("sums", json::object());
  row.total_minor = sums.value("total_minor", int64_t{0});
  row.currency = sums.value("currency", std::string{});
  auto lines = placement.find("lines");
  row.lines
    = lines != placement.end() && lines->is_array() ? static_cast<int64_t>(lines->size()) : 0;
  row.placed_ms = at_ms(ev);
  on_change(row, ev);
}

// One function per event type; other order events (confirmations without a status of their own,
// future types) leave the row alone.
const event_handlers<order_row>& handlers() {
  static const event_handlers<order_row> table{{{"placed", on_placed},
                                                {"status_changed", on_change},
                                                {"cancelled", on_change},
                                                {"fact_recorded", on_change},
                                                {"checks_rescheduled", on_change}},
                                               nullptr};
  return table;
}

// A new order is inserted; a known one takes status, time, version and next check, never from an
// older version than it has.
constexpr const char* insert_sql
  = "INSERT INTO orders (order_id, customer_id, status, total_minor, currency, lines, created_at, "
    "updated_at, version, placed_ms, next_check_ms) "
    "SELECT r.order_id, r.customer_id, r.status, r.total_minor, r.currency, r.lines, "
    "to_timestamp(r.placed_ms::double precision / 1000), "
    "to_timestamp(r.updated_ms::double precision / 1000), r.version, r.placed_ms, r.next_check_ms "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::int[], "
    "$7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[]) AS r (order_id, customer_id, status, "
    "total_minor, currency, lines, placed_ms, updated_ms, version, next_check_ms) "
    "ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, "
    "updated_at = EXCLUDED.updated_at, version = EXCLUDED.version, "
    "next_check_ms = EXCLUDED.next_check_ms WHERE orders.version < EXCLUDED.version";

constexpr const char* update_sql
  = "UPDATE orders o SET status = COALESCE(NULLIF(r.status, ''), o.status), "
    "updated_at = to_timestamp(r.updated_ms::double precision / 1000), version = r.version, "
    "next_check_ms = r.next_check_ms "
    "FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) "
    "AS r (order_id, status, updated_ms, version, next_check_ms) "
    "WHERE o.order_id = r.order_id AND o.version < r.version";

void apply(pqxx::work& txn, const std::vector<projection_event>& events,
           std::vector<committed_event>& /*published: no topics*/) {
  std::map<std::string, order_row> rows; // by order id, in key order (lock order)
  for (const auto& ev : events)
    if (auto h = handlers().find(ev.type))
      h(rows[ev.entity_id], ev);
  array_literal n_id, n_customer, n_status, n_total, n_currency, n_lines, n_placed, n_updated,
    n_version, n_check;
  array_literal u_id, u_status, u_updated, u_version, u_check;
  size_t inserts = 0;
  size_t updates = 0;
  for (const auto& [id, r] : rows) {
    if (r.placed) {
      n_id.add_quoted(id);
      n_customer.add_quoted(r.customer_id);
      n_status.add_quoted(r.status);
      n_total.add_raw(std::to_string(r.total_minor));
      n_currency.add_quoted(r.currency);
      n_lines.add_raw(std::to_string(r.lines));
      n_placed.add_raw(std::to_string(r.placed_ms));
      n_updated.add_raw(std::to_string(r.updated_ms));
      n_version.add_raw(std::to_string(r.version));
      n_check.add_raw(std::to_string(r.next_check_ms));
      ++inserts;
    } else {
      u_id.add_quoted(id);
      u_status.add_quoted(r.status);
      u_updated.add_raw(std::to_string(r.updated_ms));
      u_version.add_raw(std::to_string(r.version));
      u_check.add_raw(std::to_string(r.next_check_ms));
      ++updates;
    }
  }
  if (inserts > 0)
    txn.exec_params(insert_sql, n_id.done(), n_customer.done(), n_status.done(), n_total.done(),
                    n_currency.done(), n_lines.done(), n_placed.done(), n_updated.done(),
                    n_version.done(), n_check.done());
  if (updates > 0)
    txn.exec_params(update_sql, u_id.done(), u_status.done(), u_updated.done(), u_version.done(),
                    u_check.done());
}

} // namespace

const projection& orders_projection() {
  // The import behind a marketplace order's event shows in the order's own view, not in lists.
  static const projection p{"orders", {"order"}, {"orders"}, apply, false, {"{market}"}, {}};
  return p;
}

} // namespace mercato::pg
