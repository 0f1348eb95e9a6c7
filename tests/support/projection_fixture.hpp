#pragma once

// Fixture for the projection tests (tests/pg/*_projection_pgtest.cpp): a journal that pings one
// projection runner after each commit, appends of order, payment and checkout events, and the
// projection's table as text, to compare an incrementally kept table with a rebuilt one.

#include "actors/protocol/commerce.hpp"
#include "adapters/pg/journal.hpp"
#include "adapters/pg/projections.hpp"
#include "runtime/metrics.hpp"
#include "tests/support/pg_fixture.hpp"

#include <caf/all.hpp>

#include <string>
#include <vector>

namespace mercato::test {

class projection_test : public migrated_pg_test {
protected:
  /// The projection under test ("orders", "payments", "checkouts_open", "customer_feed").
  virtual std::string projection_name() const = 0;

  void spawn_actors() override {
    start_runner();
    journal = pg::spawn_journal(sys(), url(), config::journal_settings{}, nullptr, {},
                                {{caf::actor_cast<pg::projection_wakeup_actor>(runner),
                                  pg::projection_kinds(projection_name())}});
  }

  void TearDown() override {
    journal = nullptr;
    stop_runner();
    pg_test::TearDown();
  }

  /// A runner that polls only once an hour: it moves on pings and checks alone.
  void start_runner() {
    config::projection_settings cfg;
    cfg.poll_ms = 3600000;
    cfg.batch = batch;
    runner = pg::spawn_projection(sys(), url(), projection_name(), cfg, &metrics, sink);
  }

  void stop_runner() {
    if (!runner)
      return;
    caf::anon_send_exit(runner, caf::exit_reason::user_shutdown);
    self()->wait_for(runner);
    runner = nullptr;
  }

  /// True once the runner has applied every event committed before the call.
  bool synced(int64_t max_wait_ms = 5000) {
    auto res = ask<bool>(runner, atom::check_v, max_wait_ms);
    return res && *res;
  }

  void append(const std::string& kind, const std::string& id, uint64_t first_seq,
              std::vector<caf::message> events) {
    persist_request req{kind, id, first_seq, std::move(events), {}, "req-" + id};
    auto res = ask<uint64_t>(journal, atom::append_v, std::move(req));
    ASSERT_TRUE(res) << render(res.error());
  }

  /// Every row of `table` as text, in key order.
  std::string dump(const std::string& table, const std::string& key) {
    return scalar<std::string>("SELECT COALESCE(string_agg(t::text, E'\\n' ORDER BY " + key
                               + "), '') FROM " + table + " t");
  }

  /// Events of `kind` in the journal, and events the projection says it applied.
  int64_t journaled(const std::string& kind) {
    return scalar<int64_t>("SELECT count(*) FROM journal WHERE entity_kind = '" + kind + "'");
  }
  int64_t applied() {
    return scalar<int64_t>("SELECT applied FROM projection_offsets WHERE name = '"
                           + projection_name() + "'");
  }

  double metric(const std::string& family) {
    runtime::labels lbls{{"projection", projection_name()}};
    if (family == "lag")
      return static_cast<double>(
        metrics.get_gauge("mercato_projection_lag_events", "", lbls).value());
    return static_cast<double>(
      metrics.get_counter("mercato_projection_applied_total", "", lbls).value());
  }

  static order_event order_ev(std::string type, std::string status_after, int64_t at_ms) {
    order_event e;
    e.type = std::move(type);
    e.status = status_after;
    e.status_after = std::move(status_after);
    e.at_ms = at_ms;
    return e;
  }

  static order_event placed(const std::string& id, const std::string& customer, int64_t total,
                            int64_t at_ms) {
    auto e = order_ev("placed", "paid", at_ms);
    e.placement.order_id = id;
    e.placement.customer_id = customer;
    e.placement.sums.currency = "EUR";
    e.placement.sums.total_minor = total;
    e.placement.lines.push_back(cart_line{"mug", "Mug", 1, total});
    e.placement.lines.push_back(cart_line{"cup", "Cup", 2, 0});
    e.next_check_ms = at_ms + 3600000;
    return e;
  }

  static payment_event payment_ev(std::string type, std::string status, int64_t amount,
                                  int64_t at_ms) {
    payment_event e;
    e.type = std::move(type);
    e.status = std::move(status);
    e.amount_minor = amount;
    e.currency = "EUR";
    e.provider = "sandbox";
    e.provider_ref = "sbx-" + std::to_string(at_ms);
    e.customer_id = "ada";
    e.source = "command";
    e.at_ms = at_ms;
    return e;
  }

  static checkout_event checkout_ev(std::string type, std::vector<std::string> owed = {}) {
    checkout_event e;
    e.type = std::move(type);
    e.attempt = 1;
    e.owed = std::move(owed);
    e.at_ms = 1700000000000;
    return e;
  }

  int batch = 500;
  event_sink_actor sink; ///< told of what a read model with topics announces; may stay null
  runtime::metrics_registry metrics;
  journal_actor journal;
  pg::projection_actor runner;
};

} // namespace mercato::test
