#include "adapters/pg/stats_store.hpp"

#include "actors/protocol/errors.hpp"
#include "adapters/pg/connection.hpp"
#include "adapters/pg/pool.hpp"
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

caf::expected<std::vector<daily_stat>> search(pqxx::connection& conn, const daily_stats_query& q) {
  int64_t from = 0;
  int64_t to = 0;
  if (!day_number(q.from, from) || !day_number(q.to, to))
    return caf::make_error(mercato_errc::invalid_request, "from and to must be YYYY-MM-DD dates");
  if (to < from || to - from >= max_days)
    return caf::make_error(mercato_errc::invalid_request,
                           "to must not be before from, and the range at most "
                             + std::to_string(max_days) + " days");
  pqxx::read_transaction txn{conn};
  auto rows = txn.exec_params(
    "SELECT stat_date::text, platform, currency, total_orders, completed_orders, "
    "cancelled_orders, returned_orders, pending_orders, gross_merchandise_value_minor, "
    "total_revenue_minor, total_discount_minor, "
    "stat_date + 1 + $4::int <= (now() AT TIME ZONE coalesce((SELECT time_zone FROM "
    "stats_settings), 'UTC'))::date "
    "FROM daily_stats WHERE stat_date BETWEEN $1::date AND $2::date "
    "AND ($3 = '' OR platform = $3) ORDER BY stat_date, platform, currency",
    q.from, q.to, q.platform, stats_final_after_days);
  txn.commit();
  std::vector<daily_stat> out;
  out.reserve(rows.size());
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
    out.push_back(std::move(s));
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
using rows = std::vector<daily_stat>;

void answer(worker_self self, caf::typed_response_promise<rows>& rp, const daily_stats_query& q) {
  auto res = self->state.db->run<rows>([&](pqxx::connection& conn) { return search(conn, q); });
  if (res)
    rp.deliver(std::move(*res));
  else
    rp.deliver(std::move(res.error()));
}

stats_store_actor::behavior_type worker(worker_self self, std::string url,
                                        projection_actor projection, std::chrono::milliseconds wait,
                                        int index) {
  self->state.db
    = std::make_unique<session>(std::move(url), "stats-" + std::to_string(index), nullptr);
  self->state.projection = std::move(projection);
  self->state.wait = wait;
  return {
    [self](atom::search, const daily_stats_query& q) -> caf::result<rows> {
      auto rp = self->make_response_promise<rows>();
      auto& st = self->state;
      if (!st.projection || st.wait.count() <= 0) {
        answer(self, rp, q);
        return rp;
      }
      // The statistics follow every order change: a read waits (bounded) for the changes
      // committed before it arrived; past the bound it is served as it is.
      self
        ->request(st.projection, st.wait + std::chrono::milliseconds{500}, atom::check_v,
                  static_cast<int64_t>(st.wait.count()))
        .then(
          [self, rp, q](bool reached) mutable {
            if (!reached)
              runtime::logger("pg")->debug("statistics served before the projection caught up");
            answer(self, rp, q);
          },
          [self, rp, q](caf::error& err) mutable {
            runtime::logger("pg")->debug("statistics served without waiting: {}",
                                         caf::to_string(err));
            answer(self, rp, q);
          });
      return rp;
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
