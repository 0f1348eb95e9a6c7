// The daily statistics (tables `daily_stats` and `order_stat_contributions`, migration 0012),
// projected from order events. An order contributes to one bucket (its creation day in the shop's
// time zone, table stats_settings, UTC when unset; its platform and currency) according to its
// latest status; each event that changes the contribution takes it out of the old bucket and adds
// it to the new one, in the same transaction as the projection's offset. Marketplace orders follow
// their imports (the `market` of an event); web orders their placement and the status each event
// leaves them in.

#include "adapters/pg/array_literal.hpp"
#include "adapters/pg/projection.hpp"

#include <map>
#include <optional>
#include <tuple>

namespace mercato::pg {

namespace {

using nlohmann::json;

struct contribution {
  std::string stat_date;
  std::string platform;
  std::string currency;
  std::string status; // pending | completed | cancelled | returned
  int64_t gross_minor = 0;
  int64_t discount_minor = 0;
  int64_t final_minor = 0;
  int64_t version = 0;

  bool operator==(const contribution&) const = default;
};

using bucket_key = std::tuple<std::string, std::string, std::string>; // date, platform, currency

// What one bucket's row changes by.
struct bucket_delta {
  int64_t total = 0;
  int64_t completed = 0;
  int64_t cancelled = 0;
  int64_t returned = 0;
  int64_t pending = 0;
  int64_t gmv = 0;
  int64_t revenue = 0;
  int64_t discount = 0;

  // Adds (sign 1) or removes (sign -1) one order's contribution; the definitions of API.md's
  // fields live here and in tests/pg/daily_stats_projection_pgtest.cpp's from-scratch query.
  void add(const contribution& c, int64_t sign) {
    total += sign;
    bool lost = c.status == "cancelled" || c.status == "returned";
    if (c.status == "completed") {
      completed += sign;
      revenue += sign * c.final_minor;
    } else if (c.status == "cancelled") {
      cancelled += sign;
    } else if (c.status == "returned") {
      returned += sign;
    } else {
      pending += sign;
    }
    if (!lost) {
      gmv += sign * c.gross_minor;
      discount += sign * c.discount_minor;
    }
  }
};

int64_t int_of(const json& obj, const char* key) {
  auto i = obj.find(key);
  return i != obj.end() && i->is_number_integer() ? i->get<int64_t>() : 0;
}

std::string text_of(const json& obj, const char* key) {
  auto i = obj.find(key);
  return i != obj.end() && i->is_string() ? i->get<std::string>() : std::string{};
}

// A web order's status as the statistics count it.
std::string bucket_of_status(const std::string& status) {
  if (status == "delivered")
    return "completed";
  if (status == "cancelled")
    return "cancelled";
  if (status == "returned" || status == "refunded")
    return "returned";
  return "pending";
}

// The instant whose day (in the shop's zone) is an order's bucket, by order id; filled by fold().
using instants = std::map<std::string, int64_t>;

// Folds one order event into the order's contribution (absent: none yet). A contribution that
// starts anew leaves its day to `days`, named in one query per batch.
void fold(std::optional<contribution>& c, const projection_event& ev, instants& days) {
  const auto& p = ev.payload;
  if (auto m = p.find("market"); m != p.end() && m->is_object()) {
    contribution next;
    days[ev.entity_id] = int_of(*m, "order_date_ms");
    next.platform = text_of(*m, "platform");
    next.currency = text_of(*m, "currency");
    next.status = text_of(*m, "status");
    next.gross_minor = int_of(*m, "gross_minor");
    next.discount_minor
      = int_of(*m, "seller_discount_minor") + int_of(*m, "platform_discount_minor");
    next.final_minor = int_of(*m, "final_minor");
    if (next.status.empty() || next.platform.empty())
      return; // not an import this projection understands: leave the order as it was
    next.version = ev.seq;
    c = std::move(next);
    return;
  }
  if (ev.type == "placed") {
    static const json none = json::object();
    const auto& placement = p.contains("placement") ? p["placement"] : none;
    auto sums = placement.value("sums", json::object());
    contribution next;
    days[ev.entity_id] = p.contains("at_ms") ? int_of(p, "at_ms") : ev.recorded_ms;
    next.platform = "web";
    next.currency = text_of(sums, "currency");
    next.status = bucket_of_status(text_of(p, "status_after"));
    next.gross_minor = int_of(sums, "subtotal_minor");
    next.discount_minor = int_of(sums, "discount_minor");
    next.final_minor = int_of(sums, "total_minor");
    next.version = ev.seq;
    c = std::move(next);
    return;
  }
  // Any other event of a web order: the status it leaves. A marketplace order's status is the
  // platform's, moved only by its imports.
  if (!c || c->platform != "web")
    return;
  auto status = text_of(p, "status_after");
  if (!status.empty())
    c->status = bucket_of_status(status);
  c->version = ev.seq;
}

constexpr const char* select_sql
  = "SELECT order_id, stat_date::text, platform, currency, status, gross_minor, discount_minor, "
    "final_minor, version FROM order_stat_contributions WHERE order_id = ANY($1::text[]) "
    "ORDER BY order_id FOR UPDATE";

// One statement per table and round, rows as arrays (in key order: lock order).
constexpr const char* upsert_contributions_sql
  = "INSERT INTO order_stat_contributions (order_id, stat_date, platform, currency, status, "
    "gross_minor, discount_minor, final_minor, version) "
    "SELECT o, d::date, p, c, s, g, di, f, v FROM unnest($1::text[], $2::text[], $3::text[], "
    "$4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[]) "
    "AS t(o, d, p, c, s, g, di, f, v) "
    "ON CONFLICT (order_id) DO UPDATE SET stat_date = EXCLUDED.stat_date, "
    "platform = EXCLUDED.platform, currency = EXCLUDED.currency, status = EXCLUDED.status, "
    "gross_minor = EXCLUDED.gross_minor, discount_minor = EXCLUDED.discount_minor, "
    "final_minor = EXCLUDED.final_minor, version = EXCLUDED.version";

constexpr const char* add_buckets_sql
  = "INSERT INTO daily_stats AS d (stat_date, platform, currency, total_orders, completed_orders, "
    "cancelled_orders, returned_orders, pending_orders, gross_merchandise_value_minor, "
    "total_revenue_minor, total_discount_minor) "
    "SELECT sd::date, p, c, t, co, ca, r, pe, g, rv, di FROM unnest($1::text[], $2::text[], "
    "$3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], "
    "$9::bigint[], $10::bigint[], $11::bigint[]) AS x(sd, p, c, t, co, ca, r, pe, g, rv, di) "
    "ON CONFLICT (stat_date, platform, currency) DO UPDATE SET "
    "total_orders = d.total_orders + EXCLUDED.total_orders, "
    "completed_orders = d.completed_orders + EXCLUDED.completed_orders, "
    "cancelled_orders = d.cancelled_orders + EXCLUDED.cancelled_orders, "
    "returned_orders = d.returned_orders + EXCLUDED.returned_orders, "
    "pending_orders = d.pending_orders + EXCLUDED.pending_orders, "
    "gross_merchandise_value_minor = d.gross_merchandise_value_minor "
    "+ EXCLUDED.gross_merchandise_value_minor, "
    "total_revenue_minor = d.total_revenue_minor + EXCLUDED.total_revenue_minor, "
    "total_discount_minor = d.total_discount_minor + EXCLUDED.total_discount_minor";

// A bucket every order left holds nothing: it goes, as a rebuild would never write it.
constexpr const char* drop_empty_sql
  = "DELETE FROM daily_stats d USING unnest($1::text[], $2::text[], $3::text[]) AS x(sd, p, c) "
    "WHERE d.stat_date = x.sd::date AND d.platform = x.p AND d.currency = x.c "
    "AND d.total_orders = 0";

constexpr const char* local_days_sql
  = "SELECT ms, (to_timestamp(ms / 1000.0) AT TIME ZONE z.tz)::date::text "
    "FROM unnest($1::bigint[]) AS ms, "
    "(SELECT coalesce((SELECT time_zone FROM stats_settings), 'UTC') AS tz) AS z";

void apply(pqxx::work& txn, const std::vector<projection_event>& events,
           std::vector<committed_event>& /*published: no topics*/) {
  std::map<std::string, std::optional<contribution>> before; // by order id (lock order)
  for (const auto& ev : events)
    before.emplace(ev.entity_id, std::nullopt);
  array_literal ids;
  for (const auto& [id, _] : before)
    ids.add_quoted(id);
  for (const auto& row : txn.exec_params(select_sql, ids.done())) {
    contribution c{row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>(),
                   row[4].as<std::string>(), row[5].as<int64_t>(),     row[6].as<int64_t>(),
                   row[7].as<int64_t>(),     row[8].as<int64_t>()};
    before[row[0].as<std::string>()] = std::move(c);
  }
  auto after = before;
  instants days;
  for (const auto& ev : events)
    fold(after[ev.entity_id], ev, days);
  if (!days.empty()) {
    // Each instant's date in the shop's zone, by PostgreSQL's time zone database.
    array_literal ms;
    for (const auto& [_, at] : days)
      ms.add_raw(std::to_string(at));
    std::map<int64_t, std::string> date_of;
    for (const auto& row : txn.exec_params(local_days_sql, ms.done()))
      date_of[row[0].as<int64_t>()] = row[1].as<std::string>();
    for (const auto& [id, at] : days)
      if (auto& c = after[id])
        c->stat_date = date_of[at];
  }

  std::map<bucket_key, bucket_delta> deltas; // in key order (lock order)
  array_literal o_id, o_date, o_platform, o_currency, o_status, o_gross, o_discount, o_final,
    o_version;
  for (const auto& [id, now] : after) {
    const auto& was = before[id];
    if (!now || was == now)
      continue;
    if (was)
      deltas[{was->stat_date, was->platform, was->currency}].add(*was, -1);
    deltas[{now->stat_date, now->platform, now->currency}].add(*now, 1);
    o_id.add_quoted(id);
    o_date.add_quoted(now->stat_date);
    o_platform.add_quoted(now->platform);
    o_currency.add_quoted(now->currency);
    o_status.add_quoted(now->status);
    o_gross.add_raw(std::to_string(now->gross_minor));
    o_discount.add_raw(std::to_string(now->discount_minor));
    o_final.add_raw(std::to_string(now->final_minor));
    o_version.add_raw(std::to_string(now->version));
  }
  if (deltas.empty())
    return;
  txn.exec_params(upsert_contributions_sql, o_id.done(), o_date.done(), o_platform.done(),
                  o_currency.done(), o_status.done(), o_gross.done(), o_discount.done(),
                  o_final.done(), o_version.done());
  array_literal b_date, b_platform, b_currency, total, completed, cancelled, returned, pending, gmv,
    revenue, discount;
  array_literal e_date, e_platform, e_currency; // buckets that may have emptied
  bool emptied = false;
  for (const auto& [key, d] : deltas) {
    const auto& [date, platform, currency] = key;
    b_date.add_quoted(date);
    b_platform.add_quoted(platform);
    b_currency.add_quoted(currency);
    total.add_raw(std::to_string(d.total));
    completed.add_raw(std::to_string(d.completed));
    cancelled.add_raw(std::to_string(d.cancelled));
    returned.add_raw(std::to_string(d.returned));
    pending.add_raw(std::to_string(d.pending));
    gmv.add_raw(std::to_string(d.gmv));
    revenue.add_raw(std::to_string(d.revenue));
    discount.add_raw(std::to_string(d.discount));
    if (d.total < 0) {
      emptied = true;
      e_date.add_quoted(date);
      e_platform.add_quoted(platform);
      e_currency.add_quoted(currency);
    }
  }
  txn.exec_params(add_buckets_sql, b_date.done(), b_platform.done(), b_currency.done(),
                  total.done(), completed.done(), cancelled.done(), returned.done(), pending.done(),
                  gmv.done(), revenue.done(), discount.done());
  if (emptied)
    txn.exec_params(drop_empty_sql, e_date.done(), e_platform.done(), e_currency.done());
}

} // namespace

const projection& daily_stats_projection() {
  // Orders count by their sums, never by their lines.
  static const projection p{"daily_stats",
                            {"order"},
                            {"daily_stats", "order_stat_contributions"},
                            apply,
                            false,
                            {"{market,lines}", "{placement,lines}"},
                            {}};
  return p;
}

} // namespace mercato::pg
