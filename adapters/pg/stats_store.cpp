#include "adapters/pg/stats_store.hpp"

#include "actors/protocol/errors.hpp"
#include "adapters/pg/connection.hpp"
#include "adapters/pg/pool.hpp"
#include "adapters/pg/read_your_writes.hpp"
#include "runtime/logging.hpp"
#include "runtime/util/time.hpp"

#include <caf/all.hpp>

#include <pqxx/pqxx>

namespace mercato::pg {

namespace {

constexpr int max_days = 400;

// "YYYY-MM-DD" -> days since 1970-01-01, or false.
bool day_number(const std::string& text, int64_t& days) {
  int64_t ms = 0;
  if (text.size() != 10 || !util::parse_rfc3339_ms(text + "T00:00:00Z", ms))
    return false;
  days = ms / 86400000;
  return true;
}

// The shop's date today: in the time zone the statistics count days in (stats_settings).
const std::string shop_today
  = "(now() AT TIME ZONE coalesce((SELECT time_zone FROM stats_settings), 'UTC'))::date";

const std::string today_sql = "SELECT " + shop_today + "::text";

// The rows' version: the counter every statement on daily_stats bumps (migration 0024), and the
// shop's date, which decides `is_final`.
const std::string version_sql
  = "SELECT v.n::text || '/' || " + shop_today + "::text FROM daily_stats_version v";

const std::string rows_sql
  = "SELECT stat_date::text, platform, currency, total_orders, completed_orders, "
    "cancelled_orders, returned_orders, pending_orders, gross_merchandise_value_minor, "
    "total_revenue_minor, total_discount_minor, stat_date + 1 + $4::int <= "
    + shop_today
    + " "
      "FROM daily_stats WHERE stat_date BETWEEN $1::date AND $2::date "
      "AND ($3 = '' OR platform = $3) ORDER BY stat_date, platform, currency";

caf::expected<daily_stats_page> search(pqxx::connection& conn, const daily_stats_query& q) {
  int64_t from = 0;
  int64_t to = 0;
  if (!day_number(q.from, from) || !day_number(q.to, to))
    return caf::make_error(mercato_errc::invalid_request, "from and to must be YYYY-MM-DD dates");
  if (to < from || to - from >= max_days)
    return caf::make_error(mercato_errc::invalid_request,
                           "to must not be before from, and the range at most "
                             + std::to_string(max_days) + " days");
  // The version first, then the rows (each statement sees what committed before it): rows newer
  // than their version only make the next read fetch them again.
  pqxx::nontransaction txn{conn};
  daily_stats_page out;
  out.version = txn.exec1(version_sql)[0].as<std::string>();
  if (!q.unless_version.empty() && q.unless_version == out.version) {
    out.unchanged = true;
    return out;
  }
  auto rows = txn.exec_params(rows_sql, q.from, q.to, q.platform, stats_final_after_days);
  out.rows.reserve(rows.size());
  for (const auto& row : rows) {
    daily_stat s;
    s.stat_date = row[0].as<std::string>();
    s.platform = row[1].as<std::string>();
    s.currency = row[2].as<std::string>();
    s.total_orders = row[3].as<int64_t>();
    s.completed_orders = row[4].as<int64_t>();
    s.cancelled_orders = row[5].as<int64_t>();
    s.returned_orders = row[6].as<int64_t>();
    s.pending_orders = row[7].as<int64_t>();
    s.gross_merchandise_value_minor = row[8].as<int64_t>();
    s.total_revenue_minor = row[9].as<int64_t>();
    s.total_discount_minor = row[10].as<int64_t>();
    s.is_final = row[11].as<bool>();
    out.rows.push_back(std::move(s));
  }
  return out;
}

struct worker_state {
  static inline const char* name = "pg.stats";
  std::unique_ptr<session> db;
  projection_actor projection;
  std::chrono::milliseconds wait{0};
};

using worker_self = stats_store_actor::stateful_pointer<worker_state>;

stats_store_actor::behavior_type worker(worker_self self, std::string url,
                                        projection_actor projection, std::chrono::milliseconds wait,
                                        int index) {
  self->state.db
    = std::make_unique<session>(std::move(url), "stats-" + std::to_string(index), nullptr);
  self->state.projection = std::move(projection);
  self->state.wait = wait;
  return {
    [self](atom::search, const daily_stats_query& q) -> caf::result<daily_stats_page> {
      auto rp = self->make_response_promise<daily_stats_page>();
      // The statistics follow every order change: a read waits (bounded) for the changes
      // committed before it arrived; past the bound it is served as it is.
      after_projection(self, self->state.projection, self->state.wait, "statistics",
                       [self, rp, q]() mutable {
                         auto res = self->state.db->run<daily_stats_page>(
                           [&](pqxx::connection& conn) { return search(conn, q); });
                         if (res)
                           rp.deliver(std::move(*res));
                         else
                           rp.deliver(std::move(res.error()));
                       });
      return rp;
    },
    [self](atom::get) -> caf::result<std::string> {
      auto res = self->state.db->run<std::string>(
        [](pqxx::connection& conn) -> caf::expected<std::string> {
          pqxx::nontransaction txn{conn};
          return txn.exec1(today_sql)[0].as<std::string>();
        });
      if (res)
        return std::move(*res);
      return std::move(res.error());
    },
    [self](atom::list) -> caf::result<std::vector<marketplace_sync_status>> {
      using rows = std::vector<marketplace_sync_status>;
      auto res = self->state.db->run<rows>([](pqxx::connection& conn) -> caf::expected<rows> {
        pqxx::nontransaction txn{conn};
        rows out;
        for (const auto& r :
             txn.exec("SELECT shop, platform, synced_to, COALESCE(window_to, 0), pages, orders, "
                      "COALESCE(last_error, ''), (extract(epoch FROM updated_at) * 1000)::bigint "
                      "FROM marketplace_sync_cursors ORDER BY shop"))
          out.push_back(marketplace_sync_status{
            r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<int64_t>(), r[3].as<int64_t>(),
            r[4].as<int64_t>(), r[5].as<int64_t>(), r[6].as<std::string>(), r[7].as<int64_t>()});
        return out;
      });
      if (res)
        return std::move(*res);
      return std::move(res.error());
    },
  };
}

} // namespace

stats_store_actor spawn_stats_store(caf::actor_system& sys, std::string url, int workers,
                                    projection_actor projection, std::chrono::milliseconds wait) {
  return spawn_pool<stats_store_actor>(sys, "pg.stats", workers, worker, std::move(url),
                                       std::move(projection), wait);
}

} // namespace mercato::pg
