// The customer feed (adapters/pg/customer_feed_projection.cpp, customer_feed.cpp) against a real
// PostgreSQL: each change of a customer's orders is one row, numbered per customer without gaps
// in commit order; rebuilt from the journal it is the same feed; the port serves its snapshot
// after the caller's own writes and replays it; each new row is announced once committed.

#include "adapters/pg/customer_feed.hpp"
#include "tests/support/projection_fixture.hpp"

namespace mercato::test {
namespace {

using namespace std::chrono_literals;

constexpr int64_t t0 = 1'700'000'000'000;

class CustomerFeedProjection : public projection_test {
protected:
  std::string projection_name() const override {
    return "customer_feed";
  }

  std::string feed() {
    return dump("customer_feed", "customer_id, seq") + "\n"
           + dump("customer_feed_orders", "order_id");
  }

  // Orders of ada and bob (and one without a customer), moved on in later commits, interleaved
  // with events of other kinds.
  void write_history(int orders) {
    for (int i = 0; i < orders; ++i) {
      auto id = "ord-" + std::to_string(i);
      auto customer = i % 5 == 4 ? "" : i % 2 == 0 ? "ada" : "bob";
      append("order", id, 1, {caf::make_message(placed(id, customer, 100 + i, t0 + i))});
      append("stock", "sku-" + std::to_string(i % 3), 1 + static_cast<uint64_t>(i / 3),
             {caf::make_message(reserved_event("r-" + id, 1, t0 + i))});
    }
    for (int i = 0; i < orders; ++i) {
      auto id = "ord-" + std::to_string(i);
      auto at = t0 + 1000 + i;
      if (i % 3 == 0) {
        append("order", id, 2, {caf::make_message(order_ev("cancelled", "cancelled", at))});
        continue;
      }
      auto fact = order_ev("fact_recorded", "in_production", at + 1);
      fact.fact.type = "production_started";
      // A change without a status of its own keeps the one before.
      append("order", id, 2,
             {caf::make_message(order_ev("status_changed", "paid", at)), caf::make_message(fact),
              caf::make_message(order_ev("checks_rescheduled", "", at + 2))});
    }
  }
};

TEST_F(CustomerFeedProjection, EachOrderChangeIsOneGaplessRowAndARebuildGivesTheSameFeed) {
  batch = 5; // many rounds, and batches that end in the middle of an order's events
  stop_runner();
  start_runner();
  write_history(20);
  ASSERT_TRUE(synced());
  // 16 orders have a customer: placed, then cancelled (6 of them) or three more changes (10).
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM customer_feed"), 16 + 6 + 10 * 3);
  EXPECT_EQ(scalar<int>("SELECT count(DISTINCT customer_id) FROM customer_feed"), 2);
  EXPECT_EQ(scalar<std::string>("SELECT string_agg(customer_id || ':' || n || ':' || top, ',' "
                                "ORDER BY customer_id) FROM (SELECT customer_id, count(*) AS n, "
                                "max(seq) AS top FROM customer_feed GROUP BY 1) g"),
            "ada:24:24,bob:28:28")
    << "seqs start at 1 and have no gaps";
  // Per order, the feed follows the order's own seq upwards (commit order within a customer).
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM (SELECT order_seq < lag(order_seq) OVER (PARTITION "
                        "BY order_id ORDER BY customer_id, seq) AS back FROM customer_feed) x "
                        "WHERE back"),
            0);
  EXPECT_EQ(scalar<std::string>("SELECT string_agg(change || '/' || status || '/' || fact_type, "
                                "',' ORDER BY seq) FROM customer_feed WHERE order_id = 'ord-1'"),
            "placed/paid/,status_changed/paid/,fact_recorded/in_production/production_started,"
            "checks_rescheduled/in_production/");
  EXPECT_EQ(scalar<std::string>("SELECT status || ':' || order_seq FROM customer_feed_orders "
                                "WHERE order_id = 'ord-3'"),
            "cancelled:2");
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM customer_feed_orders WHERE order_id = 'ord-4'"), 0)
    << "an order without a customer has no feed";
  auto incremental = feed();
  EXPECT_EQ(pg::rebuild_projection(url(), "customer_feed"),
            static_cast<size_t>(journaled("order")));
  EXPECT_EQ(feed(), incremental);
}

// The port reads right after writes made by another node's journal (the runner is never pinged):
// the snapshot waits for them; a replay gives the rows after a seq.
// Inbox messages are rows of the feed that no order event gives (the notification feeder writes
// them): a rebuild keeps them at their seqs, and the replayed order changes take the seqs between.
TEST_F(CustomerFeedProjection, ARebuildKeepsTheInboxMessagesAtTheirSeqs) {
  auto message = [&](const std::string& customer, const std::string& order, int id) {
    query(
      "INSERT INTO customer_feed (customer_id, seq, order_id, order_seq, change, status, at_ms, "
      "notification_id) SELECT '"
      + customer + "', coalesce(max(seq), 0) + 1, '" + order + "', 1, 'notification', '', "
      + std::to_string(t0 + id) + ", " + std::to_string(id)
      + " FROM customer_feed WHERE customer_id = '" + customer + "'");
  };
  append("order", "ord-a", 1, {caf::make_message(placed("ord-a", "ada", 100, t0))});
  append("order", "ord-b", 1, {caf::make_message(placed("ord-b", "bob", 200, t0 + 1))});
  ASSERT_TRUE(synced());
  message("ada", "ord-a", 1);
  append("order", "ord-a", 2, {caf::make_message(order_ev("status_changed", "paid", t0 + 2))});
  append("order", "ord-c", 1, {caf::make_message(placed("ord-c", "ada", 300, t0 + 3))});
  ASSERT_TRUE(synced());
  message("ada", "ord-a", 2);
  message("bob", "ord-b", 3);
  append("order", "ord-a", 3, {caf::make_message(order_ev("cancelled", "cancelled", t0 + 4))});
  ASSERT_TRUE(synced());
  // ada: placed, message, paid, placed (ord-c), message, cancelled; bob: placed, message.
  EXPECT_EQ(scalar<std::string>("SELECT string_agg(seq || ':' || change, ' ' ORDER BY seq) FROM "
                                "customer_feed WHERE customer_id = 'ada'"),
            "1:placed 2:notification 3:status_changed 4:placed 5:notification 6:cancelled");
  auto kept = feed();
  pg::rebuild_projection(url(), "customer_feed");
  EXPECT_EQ(feed(), kept);
}

// A marketplace buyer is no Mercato customer: the feed (like the payments read model and the
// notification feeder) leaves imported orders' events in the journal instead of reading them.
TEST_F(CustomerFeedProjection, MarketplaceOrdersAreLeftInTheJournal) {
  auto imported = placed("tiktok-1", "", 500, t0);
  imported.market.platform = sales_platform::tiktok;
  imported.market.order_code = "1";
  imported.market.order_id = "tiktok-1";
  append("order", "tiktok-1", 1, {caf::make_message(imported)});
  append("order", "ord-1", 1, {caf::make_message(placed("ord-1", "ada", 100, t0 + 1))});
  append("order", "tiktok-1", 2, {caf::make_message(order_ev("status_changed", "paid", t0 + 2))});
  ASSERT_TRUE(synced());
  EXPECT_EQ(journaled("order"), 3);
  EXPECT_EQ(applied(), 2) << "the imported order's placement was read";
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM customer_feed"), 1);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM customer_feed_orders WHERE order_id = 'ord-1'"), 1);
}

TEST_F(CustomerFeedProjection, TheSnapshotShowsTheCallersOwnOrdersAndReplaysGoOnFromASeq) {
  auto other_node = pg::spawn_journal(sys(), url(), config::journal_settings{}, nullptr);
  auto port = pg::spawn_customer_feed(sys(), url(), 1, runner, 5s);
  auto write = [&](const std::string& id, uint64_t seq, order_event e) {
    persist_request req{"order", id, seq, {caf::make_message(std::move(e))}, {}, "r"};
    ASSERT_TRUE(ask<uint64_t>(other_node, atom::append_v, std::move(req)));
  };
  for (int i = 0; i < 3; ++i) {
    auto id = "ord-f-" + std::to_string(i);
    write(id, 1, placed(id, "ada", 10, t0 + i));
    auto view = ask<customer_view>(port, atom::get_v, std::string{"ada"});
    ASSERT_TRUE(view) << render(view.error());
    EXPECT_EQ(view->version, static_cast<uint64_t>(i + 1));
    ASSERT_EQ(view->customer.orders.size(), static_cast<size_t>(i + 1));
    EXPECT_EQ(view->customer.orders.front().order_id, id) << "newest change first";
  }
  write("ord-f-0", 2, order_ev("cancelled", "cancelled", t0 + 10));
  auto view = ask<customer_view>(port, atom::get_v, std::string{"ada"});
  ASSERT_TRUE(view);
  EXPECT_EQ(view->version, 4u);
  EXPECT_EQ(view->customer.customer_id, "ada");
  EXPECT_EQ(view->customer.orders.front().order_id, "ord-f-0");
  EXPECT_EQ(view->customer.orders.front().status, "cancelled");

  auto replay = ask<recovery_data>(port, atom::read_v, std::string{"customer"}, std::string{"ada"},
                                   uint64_t{2}, uint64_t{10});
  ASSERT_TRUE(replay) << render(replay.error());
  EXPECT_EQ(replay->last_seq, 4u);
  ASSERT_EQ(replay->events.size(), 2u);
  auto last = replay->events.back().get_as<customer_event>(0);
  EXPECT_EQ(last.type, "order_updated");
  EXPECT_EQ(last.change, "cancelled");
  EXPECT_EQ(last.order.order_id, "ord-f-0");
  EXPECT_EQ(last.order.order_seq, 2u);

  auto nobody = ask<customer_view>(port, atom::get_v, std::string{"nobody"});
  ASSERT_TRUE(nobody);
  EXPECT_EQ(nobody->version, 0u);
  EXPECT_TRUE(nobody->customer.orders.empty());
  EXPECT_FALSE(ask<recovery_data>(port, atom::read_v, std::string{"order"}, std::string{"ada"},
                                  uint64_t{0}, uint64_t{10}))
    << "the feed replays customer topics only";
  caf::anon_send_exit(port, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(other_node, caf::exit_reason::user_shutdown);
}

// What the hub is told: each new row once, as the customer's topic event, in seq order.
TEST_F(CustomerFeedProjection, EachNewRowIsAnnouncedOnceAfterItsRoundCommitted) {
  caf::scoped_actor hub{sys()};
  stop_runner();
  sink = caf::actor_cast<event_sink_actor>(hub);
  start_runner();
  append("order", "ord-p", 1, {caf::make_message(placed("ord-p", "ada", 10, t0))});
  append("order", "ord-p", 2,
         {caf::make_message(order_ev("status_changed", "in_production", t0 + 1))});
  ASSERT_TRUE(synced()); // the journal pings the runner it started with: this one is asked
  std::vector<committed_event> told;
  while (told.size() < 2) {
    bool timed_out = false;
    hub->receive(
      [&](atom::publish, std::vector<committed_event>& events) {
        for (auto& e : events)
          told.push_back(std::move(e));
      },
      caf::after(10s) >> [&] { timed_out = true; });
    ASSERT_FALSE(timed_out) << "announced " << told.size() << " of 2 rows";
  }
  ASSERT_EQ(told.size(), 2u);
  for (uint64_t i = 0; i < 2; ++i) {
    EXPECT_EQ(told[i].kind, "customer");
    EXPECT_EQ(told[i].entity_id, "ada");
    EXPECT_EQ(told[i].seq, i + 1);
    ASSERT_TRUE(told[i].event.match_elements<customer_event>());
  }
  EXPECT_EQ(told[1].event.get_as<customer_event>(0).order.status, "in_production");
  // Both rows were committed when they were announced.
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM customer_feed WHERE customer_id = 'ada'"), 2);
  stop_runner();
}

} // namespace
} // namespace mercato::test
