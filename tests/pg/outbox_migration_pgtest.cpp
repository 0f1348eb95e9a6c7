// Migration 0009 (the journal is the outbox) on a database that an older node left with outbox
// rows some webhook endpoints had not got yet: after the upgrade the publisher delivers each of
// those exactly once and none that an endpoint already had.

#include "adapters/pg/migrate.hpp"
#include "adapters/pg/outbox_publisher.hpp"
#include "tests/support/e2e_env.hpp"
#include "tests/support/pg_fixture.hpp"
#include "tests/support/webhook_receiver.hpp"

#include <caf/all.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>

namespace mercato::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class OutboxMigration : public pg_test {
protected:
  void TearDown() override {
    for (auto& p : publishers) {
      caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
      self()->wait_for(p);
    }
    publishers.clear();
    pg_test::TearDown();
  }

  static std::string outbox_id(int n) {
    char id[37];
    std::snprintf(id, sizeof(id), "01900000-0000-7000-8000-%012x", n);
    return id;
  }

  void start_publisher(const webhook_receiver& receiver) {
    pg::publisher_settings p;
    p.endpoint = receiver.url();
    p.secret = "migration-secret-0123456789";
    p.backoff_min = 5ms;
    p.backoff_max = 40ms;
    p.poll = 10ms;
    publishers.push_back(pg::spawn_outbox_publisher(sys(), url(), p));
  }

  static std::vector<std::string> ids_of(const webhook_receiver& r) {
    std::vector<std::string> out;
    for (const auto& req : r.requests())
      out.push_back(req.event_id);
    return out;
  }

  std::vector<caf::actor> publishers;
};

TEST_F(OutboxMigration, DeliversEachUndeliveredOutboxRowOnceAfterTheUpgrade) {
  webhook_receiver behind;  // got outbox rows 1..3 of 6
  webhook_receiver fresh;   // has no cursor yet: gets everything
  webhook_receiver current; // got every row
  {
    pqxx::connection conn{url()};
    pqxx::work txn{conn};
    migrate_before(txn, 9);
    // What the journal wrote before, in three transactions: each event a journal row and, when
    // published, an outbox row with the event's public form (here with a private member left
    // out) under an ascending time-ordered id.
    struct ev {
      const char* kind;
      const char* id;
      int seq;
      int outbox; // 0: not published
    };
    const ev events[]
      = {{"stock", "sku-a", 1, 1}, {"cart", "cart-1", 1, 0}, {"stock", "sku-b", 1, 2},
         {"stock", "sku-a", 2, 3}, {"order", "ord-1", 1, 4}, {"stock", "sku-a", 3, 5},
         {"cart", "cart-1", 2, 0}, {"order", "ord-1", 2, 6}};
    for (const auto& e : events) {
      auto payload = json{{"seq", e.seq}, {"secret", "private"}}.dump();
      txn.exec("INSERT INTO journal (entity_kind, entity_id, seq, event_type, payload, request_id) "
               "VALUES ("
               + txn.quote(e.kind) + ", " + txn.quote(e.id) + ", " + std::to_string(e.seq)
               + ", 'changed', " + txn.quote(payload) + ", 'req')");
      if (e.outbox > 0)
        txn.exec("INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, seq, "
                 "request_id) VALUES ("
                 + txn.quote(outbox_id(e.outbox)) + ", " + txn.quote(e.kind) + ", "
                 + txn.quote(e.id) + ", 'changed', " + txn.quote(json{{"seq", e.seq}}.dump()) + ", "
                 + std::to_string(e.seq) + ", 'req')");
    }
    txn.exec("INSERT INTO outbox_delivery (endpoint, last_id, delivered) VALUES ("
             + txn.quote(behind.url()) + ", " + txn.quote(outbox_id(3)) + ", 3), ("
             + txn.quote(current.url()) + ", " + txn.quote(outbox_id(6)) + ", 6)");
    txn.commit();
  }
  ASSERT_EQ(pg::migrate(url()), "");

  // One row per event; published ones kept their outbox id and public form.
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM pg_tables WHERE tablename = 'outbox'"), 0);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal"), 8);
  EXPECT_EQ(scalar<std::string>("SELECT string_agg(id::text, ',' ORDER BY tx, pos) FROM journal "
                                "WHERE published IS NOT NULL"),
            outbox_id(1) + "," + outbox_id(2) + "," + outbox_id(3) + "," + outbox_id(4) + ","
              + outbox_id(5) + "," + outbox_id(6));
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal WHERE published ? 'secret'"), 0);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal WHERE entity_kind = 'cart' AND published "
                        "IS NULL"),
            2);
  // Each entity's rows are in seq order by position.
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM (SELECT seq, lag(seq) OVER (PARTITION BY "
                        "entity_kind, entity_id ORDER BY tx, pos) AS prev FROM journal) s "
                        "WHERE prev IS NOT NULL AND prev <> seq - 1"),
            0);

  start_publisher(behind);
  start_publisher(fresh);
  start_publisher(current);
  // An event appended after the upgrade (by a new node's journal) follows the old ones.
  {
    pqxx::connection conn{url()};
    pqxx::work txn{conn};
    txn.exec("INSERT INTO journal (id, entity_kind, entity_id, seq, event_type, payload, "
             "published) VALUES ("
             + txn.quote(outbox_id(7)) + ", 'stock', 'sku-b', 2, 'changed', '{}', '{}')");
    txn.commit();
  }
  auto got_all = [](const webhook_receiver& r, size_t n) {
    return eventually([&] { return r.delivered_count() >= n; }, 20s, 5ms);
  };
  ASSERT_TRUE(got_all(behind, 4));
  ASSERT_TRUE(got_all(fresh, 7));
  ASSERT_TRUE(got_all(current, 1));
  // Nothing more is on its way once each has its newest event; every receiver answered 200 at
  // once, so each request is one delivery.
  EXPECT_EQ(ids_of(behind),
            (std::vector<std::string>{outbox_id(4), outbox_id(5), outbox_id(6), outbox_id(7)}));
  EXPECT_EQ(ids_of(fresh),
            (std::vector<std::string>{outbox_id(1), outbox_id(2), outbox_id(3), outbox_id(4),
                                      outbox_id(5), outbox_id(6), outbox_id(7)}));
  EXPECT_EQ(ids_of(current), (std::vector<std::string>{outbox_id(7)}));
  auto body = json::parse(behind.requests().front().body);
  EXPECT_EQ(body["aggregate_type"], "order");
  EXPECT_EQ(body["aggregate_id"], "ord-1");
  EXPECT_EQ(body["seq"], 1);
  EXPECT_EQ(body["payload"], (json{{"seq", 1}}));
  EXPECT_EQ(body["request_id"], "req");
  // The counters carried over (the cursor moves just after each 2xx).
  EXPECT_TRUE(eventually(
    [&] {
      return scalar<int>("SELECT delivered FROM outbox_delivery WHERE endpoint = '" + behind.url()
                         + "'")
             == 3 + 4;
    },
    10s, 5ms));
}

} // namespace
} // namespace mercato::test
