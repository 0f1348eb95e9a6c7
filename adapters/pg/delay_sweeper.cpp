#include "adapters/pg/delay_sweeper.hpp"

#include "actors/protocol/atoms.hpp"
#include "adapters/pg/connection.hpp"
#include "runtime/logging.hpp"

#include <caf/all.hpp>

#include <pqxx/pqxx>

namespace mercato::pg {

namespace {

using std::chrono::milliseconds;

std::vector<due_check> fetch_due(pqxx::connection& conn, const sweep_position& after,
                                 int64_t upto_ms, int limit) {
  pqxx::read_transaction txn{conn};
  auto rows = txn.exec_params("SELECT order_id, next_check_ms FROM orders "
                              "WHERE next_check_ms > 0 AND next_check_ms <= $1::bigint "
                              "AND (next_check_ms, order_id) > ($2::bigint, $3::text) "
                              "ORDER BY next_check_ms, order_id LIMIT $4::int",
                              upto_ms, after.next_check_ms, after.order_id, limit);
  txn.commit();
  std::vector<due_check> out;
  out.reserve(rows.size());
  for (const auto& row : rows)
    out.push_back(due_check{row[0].as<std::string>(), row[1].as<int64_t>()});
  return out;
}

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

struct sweeper_state {
  static inline const char* name = "pg.delay-sweeper";
  std::unique_ptr<session> db;
  delay_sweeper_settings cfg;
  caf::actor order_region;
  sweep_position position;
  std::shared_ptr<spdlog::logger> log;
};

// One sweep; returns the wait before the next. The position moves past every order woken, so an
// order whose wake-up did not move its check (nothing was due after all, e.g. the policy changed
// and the order's own correction failed) is not woken by every sweep again. Every node sweeps the
// whole table, which is exactly right while one node serves a database. Once shards spread over
// nodes, a node should wake only the orders it owns; meanwhile waking an order twice costs a check,
// nothing more.
milliseconds sweep(sweeper_state& st) {
  auto due = st.db->run<std::vector<due_check>>([&](pqxx::connection& conn) {
    return fetch_due(conn, st.position, wall_clock_ms(), st.cfg.batch);
  });
  if (!due) {
    st.log->debug("delay sweeper cannot read the orders: {}", render(due.error()));
    return st.cfg.interval;
  }
  for (const auto& d : *due)
    caf::anon_send(st.order_region, atom::route_v, d.order_id, caf::make_message(atom::resume_v));
  if (due->empty())
    return st.cfg.interval;
  st.position = sweep_position{due->back().next_check_ms, due->back().order_id};
  st.log->debug("delay sweeper wakes {} orders", due->size());
  return static_cast<int>(due->size()) >= st.cfg.batch ? st.cfg.backlog_pause : st.cfg.interval;
}

caf::behavior sweeper(caf::stateful_actor<sweeper_state>* self, std::string url,
                      delay_sweeper_settings cfg, caf::actor order_region) {
  auto& st = self->state;
  st.log = runtime::logger("pg");
  st.db = std::make_unique<session>(std::move(url), "delay-sweeper");
  st.cfg = cfg;
  st.order_region = std::move(order_region);
  // Delayed rather than slept, so that an exit message is handled between two sweeps.
  self->send(self, caf::tick_atom_v);
  return {
    [self](caf::tick_atom) {
      milliseconds wait = self->state.cfg.interval;
      try {
        wait = sweep(self->state);
      } catch (const std::exception& e) { // a bug: keep sweeping rather than stop waking orders
        self->state.log->error("delay sweeper fails a sweep: {}", e.what());
      }
      self->delayed_send(self, wait, caf::tick_atom_v);
    },
  };
}

} // namespace

std::vector<due_check> orders_due(const std::string& url, const sweep_position& after,
                                  int64_t upto_ms, int limit) {
  pqxx::connection conn{url};
  return fetch_due(conn, after, upto_ms, limit);
}

caf::actor spawn_delay_sweeper(caf::actor_system& sys, std::string url, delay_sweeper_settings cfg,
                               caf::actor order_region) {
  runtime::logger("pg")->info("delay sweeper starts (every {} ms, batch {})", cfg.interval.count(),
                              cfg.batch);
  return sys.spawn<caf::detached>(sweeper, std::move(url), cfg, std::move(order_region));
}

} // namespace mercato::pg
