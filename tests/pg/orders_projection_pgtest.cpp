// The orders projection (adapters/pg/orders_projection.cpp) and the runner that keeps it, against
// a real PostgreSQL: the table it keeps incrementally equals the one rebuilt from the journal,
// its offset survives a restart without applying an event twice, a list waits for the caller's
// own writes, and an open older transaction is neither skipped nor passed.

#include "adapters/pg/order_index.hpp"
#include "tests/support/projection_fixture.hpp"

namespace mercato::test {
namespace {

using namespace std::chrono_literals;

class OrdersProjection : public projection_test {
protected:
  std::string projection_name() const override {
    return "orders";
  }

  std::string table() {
    return dump("orders", "order_id");
  }

  // A realistic mix: orders placed, moved on, cancelled, with facts and rescheduled checks,
  // spread over many commits and interleaved with other kinds' events.
  void write_history(int orders) {
    const int64_t t0 = 1'700'000'000'000;
    for (int i = 0; i < orders; ++i) {
      auto id = "ord-" + std::to_string(i);
      auto at = t0 + i * 1000;
      append("order", id, 1,
             {caf::make_message(placed(id, i % 3 == 0 ? "ada" : "bob", 100 + i, at))});
      append("stock", "sku-" + std::to_string(i % 4), 1 + static_cast<uint64_t>(i / 4),
             {caf::make_message(reserved_event("r-" + id, 1, at))});
    }
    for (int i = 0; i < orders; ++i) {
      auto id = "ord-" + std::to_string(i);
      auto at = t0 + 100000 + i * 1000;
      std::vector<caf::message> later;
      if (i % 4 == 0)
        later.push_back(caf::make_message(order_ev("cancelled", "cancelled", at)));
      else {
        later.push_back(caf::make_message(order_ev("status_changed", "in_production", at)));
        auto fact = order_ev("fact_recorded", "shipped", at + 1);
        fact.next_check_ms = at + 86400000;
        later.push_back(caf::make_message(fact));
        if (i % 3 == 1) {
          auto re = order_ev("checks_rescheduled", "", at + 2);
          re.next_check_ms = at + 172800000;
          later.push_back(caf::make_message(re));
        }
      }
      append("order", id, 2, std::move(later));
    }
  }
};

TEST_F(OrdersProjection, RebuiltFromScratchEqualsTheIncrementallyKeptTable) {
  batch = 7; // many rounds, and batches that end in the middle of an order's events
  stop_runner();
  start_runner();
  write_history(24);
  ASSERT_TRUE(synced());
  auto incremental = table();
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM orders"), 24);
  // What the events say: a cancelled order, one moved on twice, one rescheduled.
  EXPECT_EQ(scalar<std::string>("SELECT status || ':' || version || ':' || next_check_ms || ':' "
                                "|| lines || ':' || total_minor || ':' || customer_id FROM orders "
                                "WHERE order_id = 'ord-4'"),
            "cancelled:2:0:2:104:bob");
  EXPECT_EQ(scalar<std::string>("SELECT status || ':' || version || ':' || next_check_ms FROM "
                                "orders WHERE order_id = 'ord-1'"),
            "shipped:4:" + std::to_string(1'700'000'000'000 + 101000 + 172800000));
  EXPECT_EQ(scalar<std::string>("SELECT status || ':' || version FROM orders WHERE order_id = "
                                "'ord-2'"),
            "shipped:3");
  EXPECT_EQ(pg::rebuild_projection(url(), "orders"), static_cast<size_t>(journaled("order")));
  EXPECT_EQ(table(), incremental);
  EXPECT_EQ(applied(), journaled("order"));
}

TEST_F(OrdersProjection, OffsetSurvivesARestartAndNoEventIsAppliedTwice) {
  write_history(6);
  ASSERT_TRUE(synced());
  EXPECT_EQ(applied(), journaled("order"));
  EXPECT_EQ(metric("applied"), static_cast<double>(journaled("order")));
  EXPECT_EQ(metric("lag"), 0);
  stop_runner();
  auto applied_before = metric("applied");
  // Written while no runner runs: the next one finds them from its stored offset alone.
  append("order", "ord-late", 1,
         {caf::make_message(placed("ord-late", "ada", 5, 1'800'000'000'000))});
  append("order", "ord-0", 3,
         {caf::make_message(order_ev("status_changed", "refunded", 1'800'000'000'001))});
  start_runner();
  ASSERT_TRUE(synced());
  EXPECT_EQ(applied(), journaled("order")) << "an event was applied twice or not at all";
  EXPECT_EQ(metric("applied") - applied_before, 2)
    << "the new runner applied only what the old one had not";
  EXPECT_EQ(scalar<std::string>("SELECT status || ':' || version FROM orders WHERE order_id = "
                                "'ord-0'"),
            "refunded:3");
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM orders"), 7);
  auto kept = table();
  pg::rebuild_projection(url(), "orders");
  EXPECT_EQ(table(), kept);
}

// The list is read right after the write, and the runner is never pinged (a journal of another
// node wrote the order): the list still shows it, because it waits for the projection.
TEST_F(OrdersProjection, AListShowsTheOrdersCommittedBeforeItWasAsked) {
  auto other_node = pg::spawn_journal(sys(), url(), config::journal_settings{}, nullptr);
  auto index = pg::spawn_order_index(sys(), url(), 1, runner, 5s);
  for (int i = 0; i < 5; ++i) {
    auto id = "ord-ryw-" + std::to_string(i);
    persist_request req{
      "order", id, 1, {caf::make_message(placed(id, "ada", 10, 1'700'000'000'000 + i))}, {}, "r"};
    ASSERT_TRUE(ask<uint64_t>(other_node, atom::append_v, std::move(req)));
    order_query q;
    q.customer_id = "ada";
    auto page = ask<order_page>(index, atom::search_v, q);
    ASSERT_TRUE(page) << render(page.error());
    ASSERT_EQ(page->items.size(), static_cast<size_t>(i + 1));
    EXPECT_EQ(page->items.front().order_id, id) << "newest first";
  }
  caf::anon_send_exit(index, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(other_node, caf::exit_reason::user_shutdown);
}

// A transaction that took its id first and commits last: the projection may not pass it, so a
// check cannot succeed while it is open, and its order is applied once it commits.
TEST_F(OrdersProjection, AnOlderOpenTransactionHoldsTheProjectionBackAndIsNotSkipped) {
  pqxx::connection slow_conn{url()};
  pqxx::work slow{slow_conn};
  slow.exec("SELECT pg_current_xact_id()");
  append("order", "ord-fast", 1,
         {caf::make_message(placed("ord-fast", "ada", 1, 1'700'000'000'000))});
  EXPECT_FALSE(synced(300)) << "answered while a transaction before it was open";
  slow.exec("INSERT INTO journal (entity_kind, entity_id, seq, event_type, payload) VALUES "
            "('order', 'ord-slow', 1, 'placed', '{\"type\": \"placed\", \"status_after\": "
            "\"paid\", \"at_ms\": 1700000000001, \"placement\": {\"customer_id\": \"bob\", "
            "\"sums\": {\"currency\": \"EUR\", \"total_minor\": 7}, \"lines\": []}}')");
  slow.commit();
  ASSERT_TRUE(synced());
  EXPECT_EQ(scalar<std::string>("SELECT string_agg(order_id, ',' ORDER BY order_id) FROM orders"),
            "ord-fast,ord-slow");
  EXPECT_EQ(applied(), 2);
}

} // namespace
} // namespace mercato::test
