#include "adapters/pg/journal.hpp"

#include "actors/protocol/commerce.hpp"
#include "adapters/pg/migrate.hpp"
#include "adapters/pg/recovery.hpp"
#include "runtime/metrics.hpp"
#include "tests/support/e2e_env.hpp"
#include "tests/support/outbox_rows.hpp"
#include "tests/support/pg_fixture.hpp"

#include <caf/all.hpp>

#include <memory>
#include <mutex>
#include <random>
#include <thread>

namespace mercato::test {
namespace {

using namespace std::chrono_literals;

class Journal : public migrated_pg_test {
protected:
  journal_actor spawn(int64_t batch_delay_us = 0, int64_t batch_max = 2048) {
    config::journal_settings js;
    js.batch_delay_us = batch_delay_us;
    js.batch_max = batch_max;
    return pg::spawn_journal(sys(), url(), js, &metrics);
  }

  /// One request for each of `n` entities ("sku-0", "sku-1", ...), each with `events` events.
  static std::vector<persist_request> one_per_entity(int n, size_t events) {
    std::vector<persist_request> reqs;
    for (int i = 0; i < n; ++i)
      reqs.push_back(stock_request("sku-" + std::to_string(i), 1, events));
    return reqs;
  }

  /// Sends every request at once, then collects the answers in order.
  std::vector<caf::expected<uint64_t>> append_all(const journal_actor& journal,
                                                  std::vector<persist_request> reqs) {
    using handle_t = decltype(self()->request(journal, 5s, atom::append_v, persist_request{}));
    std::vector<handle_t> handles;
    for (auto& req : reqs)
      handles.push_back(self()->request(journal, 5s, atom::append_v, std::move(req)));
    std::vector<caf::expected<uint64_t>> out;
    for (auto& h : handles) {
      caf::expected<uint64_t> res = caf::make_error(caf::sec::request_timeout);
      h.receive([&](uint64_t seq) { res = seq; }, [&](caf::error& err) { res = std::move(err); });
      out.push_back(std::move(res));
    }
    return out;
  }

  runtime::histogram& batch_sizes() {
    std::vector<double> sizes;
    for (double b = 1; b <= 4096; b *= 2)
      sizes.push_back(b);
    return metrics.get_histogram("mercato_journal_batch_size", "", sizes);
  }

  runtime::metrics_registry metrics;
};

TEST_F(Journal, AppendRepliesWithTheLastSeqAndStoresEventsAsTheirOutboxRows) {
  auto journal = spawn();
  auto req = stock_request("sku-1", 1, 3, "req-1");
  auto res = ask<uint64_t>(journal, atom::append_v, req);
  ASSERT_TRUE(res) << render(res.error());
  EXPECT_EQ(*res, 3u);
  auto rows = query("SELECT seq, event_type, payload->>'delta', payload->>'reason', request_id "
                    "FROM journal WHERE entity_kind = 'stock' AND entity_id = 'sku-1' "
                    "ORDER BY seq");
  ASSERT_EQ(rows.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(rows[i][0].as<int>(), i + 1);
    EXPECT_EQ(rows[i][1].as<std::string>(), "adjusted");
    EXPECT_EQ(rows[i][2].as<int>(), i + 1);
    EXPECT_EQ(rows[i][3].as<std::string>(), "restock");
    EXPECT_EQ(rows[i][4].as<std::string>(), "req-1");
  }
  // Debezium outbox event router columns: id, aggregatetype, aggregateid, type, payload (the
  // journal's id, entity_kind, entity_id, event_type and published).
  auto out = query("SELECT id::text, aggregatetype, aggregateid, type, seq, "
                   "payload->>'delta', request_id, seq FROM "
                   + std::string{outbox_rows} + " ORDER BY id");
  ASSERT_EQ(out.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i][0].as<std::string>().size(), 36u); // a uuid
    EXPECT_EQ(out[i][0].as<std::string>()[14], '7') << "time-ordered: id order is seq order";
    EXPECT_EQ(out[i][1].as<std::string>(), "stock");
    EXPECT_EQ(out[i][2].as<std::string>(), "sku-1");
    EXPECT_EQ(out[i][3].as<std::string>(), "adjusted");
    EXPECT_EQ(out[i][4].as<int>(), i + 1);
    EXPECT_EQ(out[i][5].as<int>(), i + 1);
    EXPECT_EQ(out[i][6].as<std::string>(), "req-1");
    EXPECT_EQ(out[i][7].as<int>(), i + 1);
  }
  // Commit positions follow seqs: one transaction, positions in seq order.
  EXPECT_EQ(scalar<std::string>("SELECT string_agg(seq::text, ',' ORDER BY tx, pos) FROM journal"),
            "1,2,3");
  EXPECT_EQ(scalar<int>("SELECT count(DISTINCT tx) FROM journal"), 1);
}

// The outbox carries each event's public form only; the journal keeps all of it.
TEST_F(Journal, TheOutboxCarriesOnlyWhatAnEventTypePublishes) {
  auto journal = spawn();
  order_event placed;
  placed.type = "placed";
  placed.placement.order_id = "ord_1";
  placed.placement.customer_id = "ada";
  placed.placement.ship_to
    = shipping_address{"Ada Private", "1 Hidden Row", "Secretville", "S3 CR3", "GB", "+44 1234"};
  placed.placement.email = "ada.private@example.org";
  placed.placement.lines.push_back(cart_line{"mug", "Mug", 2, 1250});
  placed.status_after = "paid";
  placed.at_ms = 1000;
  order_event cancelled;
  cancelled.type = "cancelled";
  cancelled.status = "cancelled";
  cancelled.reason = "moving to Secretville next week";
  cancelled.at_ms = 2000;
  persist_request order_req{
    "order", "ord_1", 1, {caf::make_message(placed), caf::make_message(cancelled)}, {}, "req-o"};
  cart_event created;
  created.type = "created";
  created.customer_id = "ada";
  created.currency = "USD";
  persist_request cart_req{"cart", "cart-1", 1, {caf::make_message(created)}, {}, "req-c"};
  checkout_event started;
  started.type = "started";
  started.cmd.cart_id = "cart-1";
  started.cmd.idempotency_key = "idem-private";
  started.cmd.payment_token = "tok_private";
  started.cmd.email = "ada.private@example.org";
  started.attempt = 1;
  persist_request checkout_req{"checkout", "co_1", 1, {caf::make_message(started)}, {}, "req-k"};
  for (auto* req : {&order_req, &cart_req, &checkout_req}) {
    auto res = ask<uint64_t>(journal, atom::append_v, *req);
    ASSERT_TRUE(res) << render(res.error());
  }
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal"), 4);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM " + std::string{outbox_rows}
                        + " WHERE aggregatetype = 'cart'"),
            0)
    << "carts are not published";
  auto order = scalar<std::string>("SELECT payload::text FROM " + std::string{outbox_rows}
                                   + " WHERE aggregatetype = 'order' "
                                     "AND type = 'placed'");
  EXPECT_NE(order.find("\"mug\""), std::string::npos) << order;
  EXPECT_NE(order.find("\"status_after\": \"paid\""), std::string::npos) << order;
  auto checkout = scalar<std::string>("SELECT payload::text FROM " + std::string{outbox_rows}
                                      + " WHERE aggregatetype = 'checkout'");
  EXPECT_NE(checkout.find("cart-1"), std::string::npos) << checkout;
  auto published
    = scalar<std::string>("SELECT string_agg(payload::text, ' ') FROM " + std::string{outbox_rows});
  EXPECT_EQ(
    scalar<int>("SELECT count(*) FROM " + std::string{outbox_rows} + " WHERE type = 'cancelled'"),
    1);
  for (const char* secret : {"Ada Private", "Hidden Row", "Secretville", "S3 CR3", "+44 1234",
                             "ada.private@example.org", "idem-private", "tok_private", "next week"})
    EXPECT_EQ(published.find(secret), std::string::npos) << secret << " in " << published;
  // The journal keeps what the order needs; a card token is never stored.
  auto stored = scalar<std::string>("SELECT string_agg(payload::text, ' ') FROM journal");
  EXPECT_NE(stored.find("Hidden Row"), std::string::npos);
  EXPECT_EQ(stored.find("tok_private"), std::string::npos) << stored;
}

// The statement writes journal rows and snapshots only: read models are projections that follow
// the journal on their own (projections.hpp), so an order's append leaves its table alone.
TEST_F(Journal, TheStatementMaintainsNoReadModel) {
  auto journal = spawn();
  order_event placed;
  placed.type = "placed";
  placed.placement.order_id = "ord_lean";
  placed.placement.customer_id = "ada";
  placed.placement.sums.currency = "EUR";
  placed.status_after = "paid";
  placed.at_ms = 1000;
  payment_event requested;
  requested.type = "requested";
  requested.status = "pending";
  checkout_event started;
  started.type = "started";
  started.attempt = 1;
  for (auto req :
       {persist_request{"order", "ord_lean", 1, {caf::make_message(placed)}, {}, "r"},
        persist_request{"payment", "co_lean", 1, {caf::make_message(requested)}, {}, "r"},
        persist_request{"checkout", "co_lean", 1, {caf::make_message(started)}, {}, "r"}})
    ASSERT_TRUE(ask<uint64_t>(journal, atom::append_v, req));
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal"), 3);
  EXPECT_EQ(scalar<int>("SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM payments) "
                        "+ (SELECT count(*) FROM checkouts_open)"),
            0);
}

// After a commit the journal pings the projection runners that read a kind it committed, and no
// other: a flash sale's stock events wake none.
TEST_F(Journal, WakesOnlyTheProjectionsThatReadACommittedKind) {
  // One actor is both the sink and the runner: what the journal sends it arrives in send order
  // (each commit's events, then its pings), so the log shows which commit pinged.
  using observer_actor
    = caf::typed_actor<caf::reacts_to<atom::publish, std::vector<committed_event>>,
                       caf::reacts_to<atom::ping>>;
  struct observed {
    std::mutex mtx;
    std::vector<std::string> log;
    void add(std::string what) {
      std::lock_guard<std::mutex> guard{mtx};
      log.push_back(std::move(what));
    }
    std::vector<std::string> get() {
      std::lock_guard<std::mutex> guard{mtx};
      return log;
    }
  };
  auto seen = std::make_shared<observed>();
  auto observer = sys().spawn([seen](observer_actor::pointer) -> observer_actor::behavior_type {
    return {
      [seen](atom::publish, const std::vector<committed_event>& events) {
        seen->add("commit:" + events.front().kind);
      },
      [seen](atom::ping) { seen->add("ping"); },
    };
  });
  auto journal = pg::spawn_journal(
    sys(), url(), config::journal_settings{}, nullptr, caf::actor_cast<event_sink_actor>(observer),
    {{caf::actor_cast<pg::projection_wakeup_actor>(observer), {"order"}}});
  ASSERT_TRUE(ask<uint64_t>(journal, atom::append_v, stock_request("sku-quiet", 1, 2)));
  order_event placed;
  placed.type = "placed";
  placed.status_after = "paid";
  ASSERT_TRUE(
    ask<uint64_t>(journal, atom::append_v,
                  persist_request{"order", "ord_ping", 1, {caf::make_message(placed)}, {}, "r"}));
  ASSERT_TRUE(eventually([&] { return seen->get().size() >= 3; }, 5s, 1ms));
  EXPECT_EQ(seen->get(), (std::vector<std::string>{"commit:stock", "commit:order", "ping"}));
  caf::anon_send_exit(observer, caf::exit_reason::user_shutdown);
}

TEST_F(Journal, GroupCommitsManyEntitiesInFewTransactions) {
  auto journal = spawn();
  constexpr int n = 200;
  auto results = append_all(journal, one_per_entity(n, 2));
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(results[i]) << i << ": " << render(results[i].error());
    EXPECT_EQ(*results[i], 2u);
  }
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal"), 2 * n);
  EXPECT_EQ(scalar<int>("SELECT count(DISTINCT entity_id) FROM journal"), n);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM " + std::string{outbox_rows}), 2 * n);
  EXPECT_EQ(scalar<int>("SELECT count(DISTINCT id) FROM journal"), 2 * n) << "one id per event";
  // Rows written by one transaction share its xmin.
  auto transactions = scalar<int>("SELECT count(DISTINCT xmin::text) FROM journal");
  auto& hist = batch_sizes();
  std::cout << "[ measured ] " << n << " appends committed in " << transactions << " transactions ("
            << hist.count() << " batches, " << hist.sum() << " requests)\n";
  EXPECT_LE(transactions, n / 4);
  EXPECT_EQ(hist.sum(), n);
  EXPECT_EQ(hist.count(), static_cast<uint64_t>(transactions));
  uint64_t above_one = 0;
  for (size_t i = 1; i <= hist.bounds().size(); ++i) // bucket 0 is "<= 1"
    above_one += hist.bucket(i);
  EXPECT_GT(above_one, 0u);
  EXPECT_EQ(metrics.get_counter("mercato_journal_appends_total", "").value(),
            static_cast<uint64_t>(n));
}

TEST_F(Journal, BatchDelayGathersAppendsIntoOneCommit) {
  auto journal = spawn(200000); // 200 ms
  for (auto& res : append_all(journal, one_per_entity(50, 1)))
    ASSERT_TRUE(res) << render(res.error());
  EXPECT_EQ(scalar<int>("SELECT count(DISTINCT xmin::text) FROM journal"), 1);
  EXPECT_EQ(batch_sizes().count(), 1u);
}

TEST_F(Journal, BatchMaxSplitsABurst) {
  auto journal = spawn(0, 8);
  for (auto& res : append_all(journal, one_per_entity(64, 1)))
    ASSERT_TRUE(res) << render(res.error());
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal"), 64);
  EXPECT_GE(scalar<int>("SELECT count(DISTINCT xmin::text) FROM journal"), 8);
  auto& hist = batch_sizes();
  for (size_t i = 4; i <= hist.bounds().size(); ++i) // bounds 1, 2, 4, 8, then 16...
    EXPECT_EQ(hist.bucket(i), 0u) << "a batch above 8 in bucket " << i;
}

TEST_F(Journal, PipelinedAppendsOfOneEntityCommitInOrder) {
  auto journal = spawn(100000);
  std::vector<persist_request> reqs;
  for (uint64_t seq = 1; seq <= 20; ++seq)
    reqs.push_back(stock_request("hot", seq, 1));
  auto results = append_all(journal, std::move(reqs));
  for (uint64_t i = 0; i < 20; ++i) {
    ASSERT_TRUE(results[i]) << render(results[i].error());
    EXPECT_EQ(*results[i], i + 1);
  }
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal WHERE entity_id = 'hot'"), 20);
  // Whatever the batches, commit position order is seq order: a reader following positions
  // sees the entity's events in order.
  std::string seqs;
  for (int i = 1; i <= 20; ++i)
    seqs += (i > 1 ? "," : "") + std::to_string(i);
  EXPECT_EQ(scalar<std::string>("SELECT string_agg(seq::text, ',' ORDER BY tx, pos) FROM journal "
                                "WHERE entity_id = 'hot'"),
            seqs);
}

TEST_F(Journal, FenceRefusesAStaleWriterWhileTheRestOfTheBatchCommits) {
  auto journal = spawn(100000); // 100 ms: both requests below share one batch
  ASSERT_TRUE(ask<uint64_t>(journal, atom::append_v, stock_request("contested", 1, 2, "owner")));
  // A second writer still believes seq 2 is free, and appends 2..3; another entity joins the
  // same batch.
  std::vector<persist_request> reqs;
  reqs.push_back(stock_request("contested", 2, 2, "stale"));
  reqs.push_back(stock_request("bystander", 1, 1, "bystander"));
  auto results = append_all(journal, std::move(reqs));
  ASSERT_FALSE(results[0]);
  EXPECT_EQ(errc_of(results[0].error()), mercato_errc::stale_writer) << render(results[0].error());
  ASSERT_TRUE(results[1]) << render(results[1].error());
  EXPECT_EQ(*results[1], 1u);
  // Neither seq 3 nor the stale copy of seq 2 was written, nor their outbox rows.
  EXPECT_EQ(scalar<int>("SELECT max(seq) FROM journal WHERE entity_id = 'contested'"), 2);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal WHERE request_id = 'stale'"), 0);
  EXPECT_EQ(
    scalar<int>("SELECT count(*) FROM " + std::string{outbox_rows} + " WHERE request_id = 'stale'"),
    0);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal WHERE entity_id = 'bystander'"), 1);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM " + std::string{outbox_rows}
                        + " WHERE aggregateid = 'bystander'"),
            1);
  EXPECT_EQ(metrics.get_counter("mercato_journal_fenced_total", "").value(), 1u);
}

TEST_F(Journal, FenceHoldsAcrossTwoJournalsOfTwoNodes) {
  auto node_a = spawn();
  auto node_b = spawn();
  ASSERT_TRUE(ask<uint64_t>(node_a, atom::append_v, stock_request("split", 1, 1, "a")));
  auto res = ask<uint64_t>(node_b, atom::append_v, stock_request("split", 1, 1, "b"));
  ASSERT_FALSE(res);
  EXPECT_EQ(errc_of(res.error()), mercato_errc::stale_writer);
  EXPECT_EQ(scalar<std::string>("SELECT request_id FROM journal WHERE entity_id = 'split'"), "a");
}

TEST_F(Journal, RefusesAnAppendThatWouldLeaveAGap) {
  auto journal = spawn();
  ASSERT_TRUE(ask<uint64_t>(journal, atom::append_v, stock_request("gappy", 1, 1)));
  // seq 2 was lost (e.g. its batch failed); the entity's pipelined seq 3 must not land.
  auto res = ask<uint64_t>(journal, atom::append_v, stock_request("gappy", 3, 1));
  ASSERT_FALSE(res);
  EXPECT_EQ(errc_of(res.error()), mercato_errc::storage_unavailable) << render(res.error());
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal WHERE entity_id = 'gappy'"), 1);
  auto fresh = ask<uint64_t>(journal, atom::append_v, stock_request("late-start", 4, 1));
  ASSERT_FALSE(fresh);
  EXPECT_EQ(errc_of(fresh.error()), mercato_errc::storage_unavailable);
  // Restarted from the journal, the entity goes on from its newest durable seq.
  auto next = ask<uint64_t>(journal, atom::append_v, stock_request("gappy", 2, 1));
  ASSERT_TRUE(next) << render(next.error());
  EXPECT_EQ(*next, 2u);
}

TEST_F(Journal, RefusesAnUnstorableRequestAloneInItsBatch) {
  auto journal = spawn(100000);
  std::vector<persist_request> reqs;
  reqs.push_back(stock_request("good-1", 1, 1));
  auto nul = stock_request("nul", 1, 1);
  stock_event ev;
  ev.reason = std::string{"a\0b", 3};
  nul.events[0] = caf::make_message(ev);
  reqs.push_back(std::move(nul));
  reqs.push_back(stock_request("bad-utf8-\xff", 1, 1));
  // Refused by the database itself (index row too large): the batch is retried one by one.
  std::string huge;
  std::mt19937 rng{42};
  for (int i = 0; i < 12000; ++i)
    huge += static_cast<char>('a' + rng() % 26);
  reqs.push_back(stock_request(huge, 1, 1));
  reqs.push_back(stock_request("good-2", 1, 1));
  auto wrong_type = stock_request("wrong-type", 1, 0);
  wrong_type.events.push_back(caf::make_message(std::string{"not an event"}));
  reqs.push_back(std::move(wrong_type));
  auto results = append_all(journal, std::move(reqs));
  EXPECT_TRUE(results[0]);
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(errc_of(results[1].error()), mercato_errc::invalid_request);
  ASSERT_FALSE(results[2]);
  EXPECT_EQ(errc_of(results[2].error()), mercato_errc::invalid_request)
    << render(results[2].error());
  ASSERT_FALSE(results[3]);
  EXPECT_EQ(errc_of(results[3].error()), mercato_errc::invalid_request)
    << render(results[3].error());
  EXPECT_TRUE(results[4]);
  ASSERT_FALSE(results[5]);
  EXPECT_EQ(errc_of(results[5].error()), mercato_errc::invalid_request);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal"), 2);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM " + std::string{outbox_rows}), 2);
}

TEST_F(Journal, SnapshotIsKeptOnlyWhenNewer) {
  auto journal = spawn();
  auto first = stock_request("snap", 1, 2);
  stock_snapshot s;
  s.exists = true;
  s.on_hand = 3;
  first.snapshot = caf::make_message(s);
  ASSERT_TRUE(ask<uint64_t>(journal, atom::append_v, first));
  EXPECT_EQ(scalar<int>("SELECT seq FROM snapshots WHERE entity_id = 'snap'"), 2);
  EXPECT_EQ(scalar<int>("SELECT (state->>'on_hand')::int FROM snapshots"), 3);
  // Two requests of the entity in one batch, both with a snapshot: the newer one stays.
  auto second = stock_request("snap", 3, 1);
  s.on_hand = 6;
  second.snapshot = caf::make_message(s);
  auto third = stock_request("snap", 4, 1);
  s.on_hand = 10;
  third.snapshot = caf::make_message(s);
  std::vector<persist_request> reqs{second, third};
  for (auto& res : append_all(journal, std::move(reqs)))
    ASSERT_TRUE(res) << render(res.error());
  EXPECT_EQ(scalar<int>("SELECT seq FROM snapshots WHERE entity_id = 'snap'"), 4);
  EXPECT_EQ(scalar<int>("SELECT (state->>'on_hand')::int FROM snapshots"), 10);
}

TEST_F(Journal, UnreachableDatabaseFailsAppendsAndTheWriterRecovers) {
  // The journal starts before its database exists: appends fail, then succeed once it does.
  auto later = dbname() + "_later";
  auto later_url = dsn_with_dbname(admin_url(), later);
  config::journal_settings js;
  auto journal = pg::spawn_journal(sys(), later_url, js, &metrics);
  auto res = ask<uint64_t>(journal, atom::append_v, stock_request("sku-1", 1, 1));
  ASSERT_FALSE(res);
  EXPECT_EQ(errc_of(res.error()), mercato_errc::storage_unavailable) << render(res.error());
  // While the database stays down, every append is answered, with a retryable error.
  for (int i = 0; i < 5; ++i) {
    auto again = ask<uint64_t>(journal, atom::append_v, stock_request("sku-1", 1, 1));
    ASSERT_FALSE(again);
    EXPECT_EQ(errc_of(again.error()), mercato_errc::storage_unavailable);
  }
  admin_exec("CREATE DATABASE " + later);
  ASSERT_EQ(pg::migrate(later_url), "");
  caf::expected<uint64_t> ok = caf::make_error(caf::sec::request_timeout);
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       std::chrono::steady_clock::now() < deadline;) {
    ok = ask<uint64_t>(journal, atom::append_v, stock_request("sku-1", 1, 1));
    if (ok)
      break;
    EXPECT_EQ(errc_of(ok.error()), mercato_errc::storage_unavailable);
    std::this_thread::sleep_for(50ms); // waiting for the back-off of the real writer
  }
  EXPECT_TRUE(ok) << render(ok.error());
  EXPECT_GT(metrics.get_counter("mercato_journal_failures_total", "").value(), 0u);
  journal = nullptr;
  admin_exec("DROP DATABASE IF EXISTS " + later + " WITH (FORCE)");
}

TEST_F(Journal, TerminatedBackendIsReplacedAndWritesResume) {
  auto journal = spawn();
  ASSERT_TRUE(ask<uint64_t>(journal, atom::append_v, stock_request("sku-1", 1, 1)));
  auto kill_journal_backend = [&] {
    return admin_scalar<int>("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                             "WHERE datname = '"
                             + dbname()
                             + "' "
                               "AND application_name = 'mercato-journal'");
  };
  ASSERT_EQ(kill_journal_backend(), 1);
  // The dead connection is noticed when the next transaction begins, before anything is
  // written, so the journal reconnects and the append goes through.
  auto res = ask<uint64_t>(journal, atom::append_v, stock_request("sku-1", 2, 1));
  ASSERT_TRUE(res) << render(res.error());
  EXPECT_EQ(*res, 2u);
  // With connections refused, appends fail (503) until the database accepts them again.
  admin_exec("ALTER DATABASE " + dbname() + " WITH ALLOW_CONNECTIONS false");
  ASSERT_EQ(kill_journal_backend(), 1);
  auto down = ask<uint64_t>(journal, atom::append_v, stock_request("sku-1", 3, 1));
  ASSERT_FALSE(down);
  EXPECT_EQ(errc_of(down.error()), mercato_errc::storage_unavailable) << render(down.error());
  admin_exec("ALTER DATABASE " + dbname() + " WITH ALLOW_CONNECTIONS true");
  caf::expected<uint64_t> ok = caf::make_error(caf::sec::request_timeout);
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       std::chrono::steady_clock::now() < deadline;) {
    ok = ask<uint64_t>(journal, atom::append_v, stock_request("sku-1", 3, 1));
    if (ok)
      break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(ok) << render(ok.error());
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM journal WHERE entity_id = 'sku-1'"), 3);
}

} // namespace
} // namespace mercato::test
