// The checkouts a restarted node must wake (table `checkouts_open`, migration 0008), projected
// from checkout events: a `started` adds the checkout; `completed`, `failed` or `compensated`
// remove it, except a failure that still owes compensation steps, which keeps it open until
// `compensated`.

#include "adapters/pg/array_literal.hpp"
#include "adapters/pg/projection.hpp"
#include "adapters/pg/projections.hpp"
#include "adapters/pg/recovery.hpp"

#include <map>

namespace mercato::pg {

namespace {

// A checkout as this batch of events leaves it.
struct checkout_row {
  bool open = false;
  int64_t since_ms = 0; // when it started (the journal's clock: the same on a rebuild)
};

void on_started(checkout_row& row, const projection_event& ev) {
  row.open = true;
  row.since_ms = ev.recorded_ms;
}

void on_ended(checkout_row& row, const projection_event&) {
  row.open = false;
}

void on_failed(checkout_row& row, const projection_event& ev) {
  auto owed = ev.payload.find("owed");
  row.open = owed != ev.payload.end() && owed->is_array() && !owed->empty();
}

// One function per event type; steps in between (order placed, payment answered) change nothing.
const event_handlers<checkout_row>& handlers() {
  static const event_handlers<checkout_row> table{{{"started", on_started},
                                                   {"completed", on_ended},
                                                   {"failed", on_failed},
                                                   {"compensated", on_ended}},
                                                  nullptr};
  return table;
}

void apply(pqxx::work& txn, const std::vector<projection_event>& events,
           std::vector<committed_event>& /*published: no topics*/) {
  std::map<std::string, checkout_row> rows; // by checkout id, in key order (lock order)
  for (const auto& ev : events)
    if (auto h = handlers().find(ev.type))
      h(rows[ev.entity_id], ev);
  array_literal started_id, started_since, kept_id, closed_id;
  size_t started = 0;
  size_t kept = 0;
  size_t closed = 0;
  for (const auto& [id, r] : rows) {
    if (r.open && r.since_ms > 0) {
      started_id.add_quoted(id);
      started_since.add_raw(std::to_string(r.since_ms));
      ++started;
    } else if (r.open) {
      kept_id.add_quoted(id);
      ++kept;
    } else {
      closed_id.add_quoted(id);
      ++closed;
    }
  }
  // Open since its newest start (a retried checkout starts again).
  if (started > 0)
    txn.exec_params("INSERT INTO checkouts_open (checkout_id, since) SELECT r.id, "
                    "to_timestamp(r.since_ms::double precision / 1000) "
                    "FROM unnest($1::text[], $2::bigint[]) AS r (id, since_ms) "
                    "ON CONFLICT (checkout_id) DO UPDATE SET since = EXCLUDED.since",
                    started_id.done(), started_since.done());
  // Open without a start in this batch (a failure that owes steps): the row is there already.
  if (kept > 0)
    txn.exec_params("INSERT INTO checkouts_open (checkout_id) SELECT unnest($1::text[]) "
                    "ON CONFLICT (checkout_id) DO NOTHING",
                    kept_id.done());
  if (closed > 0)
    txn.exec_params("DELETE FROM checkouts_open WHERE checkout_id = ANY($1::text[])",
                    closed_id.done());
}

} // namespace

const projection& open_checkouts_projection() {
  static const projection p{
    "checkouts_open", {"checkout"}, {"checkouts_open"}, apply, false, {}, {}};
  return p;
}

std::vector<std::string> open_checkouts(const std::string& url) {
  return caught_up_column(url, open_checkouts_projection().name,
                          "SELECT checkout_id FROM checkouts_open ORDER BY since, checkout_id");
}

} // namespace mercato::pg
