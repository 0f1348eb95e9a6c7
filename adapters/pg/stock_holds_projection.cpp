// The holds a node must wake after a crash or a takeover (table `stock_holds_open`, migration
// 0025), projected from stock events: a `reserved` adds the hold; `committed`, `released` or
// `expired` remove it. A hold's timer lives in its stock item's actor and dies with its node; the
// item's new owner wakes every item listed here, whose recovery re-arms the timers and expires
// the overdue holds at once.

#include "adapters/pg/array_literal.hpp"
#include "adapters/pg/projection.hpp"
#include "adapters/pg/projections.hpp"
#include "adapters/pg/recovery.hpp"

#include <map>
#include <utility>

namespace mercato::pg {

namespace {

// A hold as this batch of events leaves it.
struct hold_row {
  bool open = false;
  int64_t expires_at_ms = 0;
  bool maybe_stored = false; ///< its first event in the batch closes it: a row may exist
};

void on_reserved(hold_row& row, const projection_event& ev) {
  row.open = true;
  row.expires_at_ms = ev.payload.value("expires_at_ms", int64_t{0});
}

void on_closed(hold_row& row, const projection_event&) {
  row.open = false;
}

const event_handlers<hold_row>& handlers() {
  static const event_handlers<hold_row> table{{{"reserved", on_reserved},
                                               {"committed", on_closed},
                                               {"released", on_closed},
                                               {"expired", on_closed}},
                                              nullptr};
  return table;
}

void apply(pqxx::work& txn, const std::vector<projection_event>& events,
           std::vector<committed_event>& /*published: no topics*/) {
  // By (sku, reservation id), in key order (lock order). A hold taken and closed within one
  // batch (a checkout's, typically) never touches the table.
  std::map<std::pair<std::string, std::string>, hold_row> rows;
  for (const auto& ev : events) {
    auto h = handlers().find(ev.type);
    if (!h)
      continue;
    auto key = std::make_pair(ev.entity_id, ev.payload.value("reservation_id", std::string{}));
    auto [i, added] = rows.try_emplace(key);
    if (added)
      i->second.maybe_stored = ev.type != "reserved";
    h(i->second, ev);
  }
  array_literal open_sku, open_id, open_until, closed_sku, closed_id;
  size_t opened = 0;
  size_t closed = 0;
  for (const auto& [key, r] : rows) {
    if (r.open) {
      open_sku.add_quoted(key.first);
      open_id.add_quoted(key.second);
      open_until.add_raw(std::to_string(r.expires_at_ms));
      ++opened;
    } else if (r.maybe_stored) {
      closed_sku.add_quoted(key.first);
      closed_id.add_quoted(key.second);
      ++closed;
    }
  }
  if (opened > 0)
    txn.exec_params("INSERT INTO stock_holds_open (sku, reservation_id, expires_at) "
                    "SELECT r.sku, r.id, to_timestamp(r.until_ms::double precision / 1000) "
                    "FROM unnest($1::text[], $2::text[], $3::bigint[]) AS r (sku, id, until_ms) "
                    "ON CONFLICT (sku, reservation_id) DO UPDATE SET expires_at = "
                    "EXCLUDED.expires_at",
                    open_sku.done(), open_id.done(), open_until.done());
  if (closed > 0)
    txn.exec_params("DELETE FROM stock_holds_open h USING unnest($1::text[], $2::text[]) AS r "
                    "(sku, id) WHERE h.sku = r.sku AND h.reservation_id = r.id",
                    closed_sku.done(), closed_id.done());
}

} // namespace

const projection& stock_holds_projection() {
  // Only a hold's identity and its time are read.
  static const projection p{"stock_holds",
                            {"stock"},
                            {"stock_holds_open"},
                            apply,
                            false,
                            {"{delta}", "{reason}", "{qty}", "{at_ms}"},
                            {}};
  return p;
}

std::vector<std::string> skus_with_holds(const std::string& url) {
  return caught_up_column(url, stock_holds_projection().name,
                          "SELECT DISTINCT sku FROM stock_holds_open ORDER BY sku");
}

} // namespace mercato::pg
