#pragma once

// What a batch of marketplace orders maps to (adapters/marketplaces/ maps them; the HTTP route and
// the pull sync feed it), and the importer as the composition root hands it to the front ends.

#include "actors/protocol/commerce.hpp"

#include <caf/meta/type_name.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mercato {

/// What the importers may not learn from a payload itself.
struct import_options {
  /// ISO 4217 currency of a Lazada shop (Lazada orders carry none; their items may). "" = none.
  std::string lazada_currency;
};

/// A record that was not imported, with its position in the batch.
struct import_rejection {
  size_t index = 0;
  std::string code;   ///< invalid_request | unknown_status | conflict | unavailable
  std::string detail; ///< what is wrong, naming the field
};

/// A record that was mapped, with its position in the batch.
struct import_record {
  size_t index = 0;
  imported_order order;
};

/// The outcome of one batch: every index is in exactly one of the two lists.
struct import_batch {
  std::vector<import_record> orders;
  std::vector<import_rejection> rejected;
};

/// The outcome of reading a whole body: `error` is set (and nothing else) when the body is not a
/// JSON array of 1 to `max_batch` elements.
struct import_result {
  std::string error;
  import_batch batch;
};

/// Maps a body of one platform's native orders (adapters/marketplaces/import_orders).
using marketplace_importer
  = std::function<import_result(sales_platform, std::string_view body, const import_options&)>;

/// GET /v1/stats/daily: days `from` to `to` (inclusive, "YYYY-MM-DD"), one platform or all ("").
struct daily_stats_query {
  std::string from;
  std::string to;
  std::string platform;
  /// The version of the rows the caller already holds, if any: while the rows still have it, the
  /// answer is `unchanged` and carries none.
  std::string unless_version;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, daily_stats_query& x) {
  return f(caf::meta::type_name("daily_stats_query"), x.from, x.to, x.platform, x.unless_version);
}

/// One day of one platform in one currency (the statistics read model).
struct daily_stat {
  std::string stat_date; ///< "YYYY-MM-DD", the orders' creation day in UTC
  std::string platform;
  std::string currency;
  int64_t total_orders = 0;
  int64_t completed_orders = 0;
  int64_t cancelled_orders = 0;
  int64_t returned_orders = 0;
  int64_t pending_orders = 0;
  int64_t gross_merchandise_value_minor = 0;
  int64_t total_revenue_minor = 0;
  int64_t total_discount_minor = 0;
  bool is_final = false; ///< the day ended more than the grace period ago
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, daily_stat& x) {
  return f(caf::meta::type_name("daily_stat"), x.stat_date, x.platform, x.currency, x.total_orders,
           x.completed_orders, x.cancelled_orders, x.returned_orders, x.pending_orders,
           x.gross_merchandise_value_minor, x.total_revenue_minor, x.total_discount_minor,
           x.is_final);
}

/// The rows of a daily_stats_query (in date, platform, currency order) and their version: a token
/// that changes whenever a row may have changed, or a day may have become final.
struct daily_stats_page {
  std::string version;
  bool unchanged = false; ///< the rows still have the query's `unless_version`: none sent
  std::vector<daily_stat> rows;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, daily_stats_page& x) {
  return f(caf::meta::type_name("daily_stats_page"), x.version, x.unchanged, x.rows);
}

/// Where one shop's pull sync stands (its durable cursor, README "Pulling marketplace orders").
struct marketplace_sync_status {
  std::string shop;
  std::string platform;
  int64_t synced_to_s = 0;   ///< every order updated before it is imported
  int64_t window_to_s = 0;   ///< the window being paged; 0 = none
  int64_t pages = 0;         ///< pages imported, all time
  int64_t orders = 0;        ///< orders those pages held
  std::string last_error;    ///< why the last sync ended early; "" after a good one
  int64_t updated_at_ms = 0; ///< when the cursor last moved or an error was noted
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, marketplace_sync_status& x) {
  return f(caf::meta::type_name("marketplace_sync_status"), x.shop, x.platform, x.synced_to_s,
           x.window_to_s, x.pages, x.orders, x.last_error, x.updated_at_ms);
}

} // namespace mercato
