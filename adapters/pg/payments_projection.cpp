// The payments read model (table `payments`, migrations 0004, 0007), projected from payment
// events: every payment event carries the payment as it is after the event, so the newest one
// per payment is upserted, never over a newer version. An authorisation is journaled by the
// order it pays for (`placed` carries placement.payment), not by its payment: it enters as
// version 0, which any event of the payment itself (version = its seq) replaces.

#include "adapters/pg/array_literal.hpp"
#include "adapters/pg/projection.hpp"

#include <map>

namespace mercato::pg {

namespace {

// A payment as this batch of events leaves it.
struct payment_row {
  std::string provider;
  std::string provider_ref;
  std::string status;
  int64_t amount_minor = 0;
  std::string currency;
  std::string customer_id;
  std::string detail;
  int64_t created_ms = 0; // the first event's time (of this batch: a known row keeps its own)
  int64_t at_ms = 0;
  int64_t version = 0; // seq of the last event applied
};

// Every payment event type (requested, answered, captured, voided, imported, ...): the payment
// after the event.
void on_payment_event(payment_row& row, const projection_event& ev) {
  const auto& p = ev.payload;
  row.provider = p.value("provider", std::string{});
  row.provider_ref = p.value("provider_ref", std::string{});
  row.status = p.value("status", std::string{});
  row.amount_minor = p.value("amount_minor", int64_t{0});
  row.currency = p.value("currency", std::string{});
  row.customer_id = p.value("customer_id", std::string{});
  row.detail = p.value("detail", std::string{});
  row.at_ms = p.value("at_ms", ev.recorded_ms);
  if (row.created_ms == 0) // new in this batch (an authorisation its order recorded comes first)
    row.created_ms = row.at_ms;
  row.version = ev.seq;
}

// One function per event type: an entry here overrides the default for its type (e.g. a type
// that carries only part of the payment).
const event_handlers<payment_row>& handlers() {
  static const event_handlers<payment_row> table{{}, on_payment_event};
  return table;
}

// An order's `placed`: the authorisation it records, unless an event of the payment itself came
// first in this batch.
void on_order_placed(std::map<std::string, payment_row>& rows, const projection_event& ev) {
  auto placement = ev.payload.find("placement");
  if (placement == ev.payload.end() || !placement->is_object())
    return;
  auto pay = placement->find("payment");
  if (pay == placement->end() || !pay->is_object())
    return;
  auto id = pay->value("payment_id", std::string{});
  if (id.empty())
    return; // placed before orders recorded their authorisation
  auto& row = rows[id];
  if (row.version > 0)
    return;
  row.provider = pay->value("provider", std::string{});
  row.provider_ref = pay->value("provider_ref", std::string{});
  row.status = pay->value("status", std::string{"authorized"});
  row.amount_minor = pay->value("amount_minor", int64_t{0});
  row.currency = pay->value("currency", std::string{});
  row.customer_id = placement->value("customer_id", std::string{});
  row.detail = pay->value("detail", std::string{});
  row.at_ms = ev.payload.value("at_ms", ev.recorded_ms);
  row.created_ms = row.at_ms;
}

constexpr const char* upsert_sql
  = "INSERT INTO payments (payment_id, provider, provider_ref, status, amount_minor, currency, "
    "customer_id, detail, created_at, updated_at, version) "
    "SELECT r.payment_id, r.provider, r.provider_ref, r.status, r.amount_minor, r.currency, "
    "r.customer_id, r.detail, to_timestamp(r.created_ms::double precision / 1000), "
    "to_timestamp(r.at_ms::double precision / 1000), r.version "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], "
    "$7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[]) AS r (payment_id, "
    "provider, provider_ref, status, amount_minor, currency, customer_id, detail, at_ms, version, "
    "created_ms) "
    "ON CONFLICT (payment_id) DO UPDATE SET provider = EXCLUDED.provider, "
    "provider_ref = EXCLUDED.provider_ref, status = EXCLUDED.status, "
    "amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency, "
    "customer_id = EXCLUDED.customer_id, detail = EXCLUDED.detail, "
    "updated_at = EXCLUDED.updated_at, version = EXCLUDED.version "
    "WHERE payments.version < EXCLUDED.version";

void apply(pqxx::work& txn, const std::vector<projection_event>& events,
           std::vector<committed_event>& /*published: no topics*/) {
  std::map<std::string, payment_row> rows; // by payment id, in key order (lock order)
  for (const auto& ev : events) {
    if (ev.kind == "order") {
      if (ev.type == "placed")
        on_order_placed(rows, ev);
    } else if (auto h = handlers().find(ev.type)) {
      h(rows[ev.entity_id], ev);
    }
  }
  if (rows.empty())
    return;
  array_literal id, provider, ref, status, amount, currency, customer, detail, at, version, created;
  for (const auto& [key, r] : rows) {
    id.add_quoted(key);
    provider.add_quoted(r.provider);
    ref.add_quoted(r.provider_ref);
    status.add_quoted(r.status);
    amount.add_raw(std::to_string(r.amount_minor));
    currency.add_quoted(r.currency);
    customer.add_quoted(r.customer_id);
    detail.add_quoted(r.detail);
    at.add_raw(std::to_string(r.at_ms));
    version.add_raw(std::to_string(r.version));
    created.add_raw(std::to_string(r.created_ms));
  }
  txn.exec_params(upsert_sql, id.done(), provider.done(), ref.done(), status.done(), amount.done(),
                  currency.done(), customer.done(), detail.done(), at.done(), version.done(),
                  created.done());
}

} // namespace

const projection& payments_projection() {
  // The marketplace takes an imported order's payment: its events record none.
  static const projection p{"payments", {"payment", "order"}, {"payments"}, apply, true, {}, {}};
  return p;
}

} // namespace mercato::pg
