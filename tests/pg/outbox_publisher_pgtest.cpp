// The outbox publisher against a real PostgreSQL and a webhook receiver on loopback: it delivers
// the published rows of the journal (the journal is the outbox, migration 0009).

#include "adapters/pg/outbox_publisher.hpp"

#include "adapters/pg/dead_letter_store.hpp"
#include "runtime/util/crypto.hpp"
#include "tests/support/e2e_env.hpp"
#include "tests/support/pg_fixture.hpp"
#include "tests/support/webhook_receiver.hpp"

#include <caf/all.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <map>

namespace mercato::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr const char* secret = "pg-webhook-secret-0123456789";

class OutboxPublisher : public migrated_pg_test {
protected:
  void TearDown() override {
    stop();
    pg_test::TearDown();
  }

  pg::publisher_settings settings(int max_attempts = 8) {
    pg::publisher_settings p;
    p.endpoint = receiver.url();
    p.secret = secret;
    p.max_attempts = max_attempts;
    p.backoff_min = 5ms;
    p.backoff_max = 40ms;
    p.poll = 10ms;
    p.request_timeout = 5s;
    return p;
  }

  void start(int max_attempts = 8) {
    publisher = pg::spawn_outbox_publisher(sys(), url(), settings(max_attempts));
  }

  // Stops the publisher and waits until it has ended.
  void stop() {
    if (!publisher)
      return;
    caf::anon_send_exit(publisher, caf::exit_reason::user_shutdown);
    self()->wait_for(publisher);
    publisher = nullptr;
  }

  // Appends published journal rows with ascending ids in one transaction, as the journal writer
  // does (an unpublished cart row between each two, which the publisher skips); returns their
  // ids.
  std::vector<std::string> insert(const std::vector<std::pair<std::string, int64_t>>& events) {
    std::vector<std::string> ids;
    pqxx::connection conn{url()};
    pqxx::work txn{conn};
    for (const auto& [aggregate, seq] : events) {
      char id[37];
      std::snprintf(id, sizeof(id), "01900000-0000-7000-8000-%012llx",
                    static_cast<unsigned long long>(++next_id));
      auto payload = txn.quote(json{{"delta", seq}, {"note", "ünïcode"}}.dump());
      txn.exec("INSERT INTO journal (id, entity_kind, entity_id, event_type, payload, published, "
               "seq, request_id) VALUES ("
               + txn.quote(std::string{id}) + ", 'stock', " + txn.quote(aggregate)
               + ", 'adjusted', " + payload + ", " + payload + ", " + std::to_string(seq)
               + ", 'req-" + std::to_string(seq) + "')");
      txn.exec("INSERT INTO journal (entity_kind, entity_id, seq, event_type, payload) VALUES "
               "('cart', 'cart-"
               + std::to_string(next_id) + "', 1, 'created', '{}')");
      ids.emplace_back(id);
    }
    txn.commit();
    return ids;
  }

  // A1, B1, A2, B2, ... for `n` seqs each.
  std::vector<std::string> insert_interleaved(int64_t first_seq, int64_t n) {
    std::vector<std::pair<std::string, int64_t>> events;
    for (int64_t s = first_seq; s < first_seq + n; ++s) {
      events.emplace_back("sku-a", s);
      events.emplace_back("sku-b", s);
    }
    return insert(events);
  }

  bool delivered(size_t n, std::chrono::milliseconds timeout = 20s) {
    return eventually([&] { return receiver.delivered_count() >= n; }, timeout, 5ms);
  }

  // Every deduplicated request is well signed and described, and each aggregate's seqs arrive
  // in order from 1.
  void expect_ordered_and_signed() {
    std::map<std::string, int64_t> last_seq;
    for (const auto& r : receiver.deduped()) {
      SCOPED_TRACE(r.body);
      EXPECT_EQ(r.target, "/hook");
      EXPECT_EQ(r.signature, mercato::util::hmac_sha256_hex(secret, r.body));
      auto body = json::parse(r.body);
      EXPECT_EQ(body["id"], r.event_id);
      EXPECT_EQ(body["aggregate_type"], "stock");
      EXPECT_EQ(body["type"], "adjusted");
      EXPECT_EQ(body["payload"]["note"], "ünïcode");
      auto seq = body["seq"].get<int64_t>();
      EXPECT_EQ(body["payload"]["delta"], seq);
      EXPECT_EQ(body["request_id"], "req-" + std::to_string(seq));
      EXPECT_EQ(body["created_at"].get<std::string>().size(), 24u); // ...T..:..:..mmmZ
      auto& last = last_seq[body["aggregate_id"].get<std::string>()];
      EXPECT_EQ(seq, last + 1) << "out of order for " << body["aggregate_id"];
      last = seq;
    }
  }

  std::vector<std::string> deduped_ids() {
    std::vector<std::string> out;
    for (const auto& r : receiver.deduped())
      out.push_back(r.event_id);
    return out;
  }

  // The id of the journal row at the endpoint's cursor ("" when it is at the start).
  std::string cursor() {
    return scalar<std::string>(
      "SELECT COALESCE((SELECT j.id::text FROM outbox_delivery d JOIN journal j "
      "ON (j.tx, j.pos) = (d.last_tx, d.last_pos) WHERE d.endpoint = '"
      + receiver.url() + "'), '')");
  }

  webhook_receiver receiver;
  caf::actor publisher;
  uint64_t next_id = 0;
};

TEST_F(OutboxPublisher, DeliversEveryEventInOrderThroughFailures) {
  auto ids = insert_interleaved(1, 5);
  receiver.fail_next(4);
  start();
  ASSERT_TRUE(delivered(ids.size())) << receiver.delivered_count() << " delivered";
  // One endpoint gets the published events in commit order, whatever failed in between.
  EXPECT_EQ(deduped_ids(), ids);
  expect_ordered_and_signed();
  ASSERT_TRUE(eventually([&] { return cursor() == ids.back(); }, 10s, 5ms));
  // The first event took 5 attempts; every other one went through at once.
  EXPECT_EQ(receiver.requests().size(), ids.size() + 4);
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM dead_letters"), 0);

  // Rows committed later are picked up by polling.
  auto more = insert_interleaved(6, 2);
  ASSERT_TRUE(delivered(ids.size() + more.size()));
  expect_ordered_and_signed();
}

TEST_F(OutboxPublisher, DeadLettersAnEventAfterMaxAttemptsAndDeliversTheRest) {
  auto ids = insert({{"sku-a", 1}, {"sku-a", 2}, {"sku-a", 3}, {"sku-b", 1}});
  receiver.fail_event(ids[1]);
  start(3);
  ASSERT_TRUE(delivered(3));
  ASSERT_TRUE(eventually([&] { return cursor() == ids.back(); }, 10s, 5ms));
  EXPECT_EQ(deduped_ids(), (std::vector<std::string>{ids[0], ids[2], ids[3]}));
  auto requests = receiver.requests();
  auto tries = std::count_if(requests.begin(), requests.end(),
                             [&](const auto& r) { return r.event_id == ids[1]; });
  EXPECT_EQ(tries, 3);
  auto rows = query("SELECT kind, target, aggregate_type, aggregate_id, event_id, attempts, "
                    "last_error, payload->>'id' FROM dead_letters");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "webhook");
  EXPECT_EQ(rows[0][1].as<std::string>(), receiver.url());
  EXPECT_EQ(rows[0][2].as<std::string>(), "stock");
  EXPECT_EQ(rows[0][3].as<std::string>(), "sku-a");
  EXPECT_EQ(rows[0][4].as<std::string>(), ids[1]);
  EXPECT_EQ(rows[0][5].as<int>(), 3);
  EXPECT_NE(rows[0][6].as<std::string>().find("500"), std::string::npos);
  EXPECT_EQ(rows[0][7].as<std::string>(), ids[1]);
  EXPECT_EQ(scalar<int>("SELECT dead FROM outbox_delivery"), 1);
  EXPECT_EQ(scalar<int>("SELECT delivered FROM outbox_delivery"), 3);
}

TEST_F(OutboxPublisher, ADeadLetterSentAgainReachesTheEndpointSignedAndIsResolvedOnce) {
  auto ids = insert({{"sku-a", 1}, {"sku-a", 2}});
  receiver.fail_event(ids[0]);
  start(2);
  ASSERT_TRUE(eventually([&] { return cursor() == ids.back(); }, 10s, 5ms));
  auto store = pg::spawn_dead_letter_store(sys(), url(), 1);
  auto again = pg::spawn_webhook_redeliverer(sys(), {settings()});
  auto letter_id = scalar<std::string>("SELECT id::text FROM dead_letters");
  auto letter = ask<dead_letter>(store, atom::get_v, letter_id);
  ASSERT_TRUE(letter) << render(letter.error());
  EXPECT_EQ(letter->event_id, ids[0]);
  EXPECT_EQ(letter->resolved_at_ms, 0);

  // Still refused: the retry fails, is counted and says why; the letter stays open.
  auto refused = ask<bool>(again, atom::publish_v, *letter);
  ASSERT_FALSE(refused);
  EXPECT_NE(render(refused.error()).find("HTTP 500"), std::string::npos);
  auto counted = ask<dead_letter>(store, atom::confirm_v, letter_id, std::string{"HTTP 500"});
  ASSERT_TRUE(counted);
  EXPECT_EQ(counted->retries, 1);
  EXPECT_EQ(counted->resolved_at_ms, 0);

  // Taken: the endpoint gets the event once more, signed, and the letter is resolved.
  receiver.clear_failures();
  auto before = receiver.requests().size();
  auto sent = ask<bool>(again, atom::publish_v, *letter);
  ASSERT_TRUE(sent) << render(sent.error());
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), before + 1);
  EXPECT_EQ(requests.back().event_id, ids[0]);
  EXPECT_EQ(requests.back().signature,
            mercato::util::hmac_sha256_hex(secret, requests.back().body));
  EXPECT_EQ(json::parse(requests.back().body)["id"], ids[0]);
  auto resolved = ask<dead_letter>(store, atom::confirm_v, letter_id, std::string{});
  ASSERT_TRUE(resolved);
  EXPECT_GT(resolved->resolved_at_ms, 0);
  // A late failure of another retry changes a resolved letter no more.
  auto late = ask<dead_letter>(store, atom::confirm_v, letter_id, std::string{"late"});
  ASSERT_TRUE(late);
  EXPECT_EQ(late->retries, 1);
  EXPECT_EQ(late->resolved_at_ms, resolved->resolved_at_ms);

  // An endpoint no longer configured, and an unknown letter.
  auto elsewhere = *letter;
  elsewhere.target = "http://127.0.0.1:1/gone";
  auto gone = ask<bool>(again, atom::publish_v, elsewhere);
  ASSERT_FALSE(gone);
  EXPECT_EQ(errc_of(gone.error()), mercato_errc::conflict);
  auto unknown = ask<dead_letter>(store, atom::get_v, std::string{"not-a-uuid"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(errc_of(unknown.error()), mercato_errc::not_found);
  caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(again, caf::exit_reason::user_shutdown);
}

TEST_F(OutboxPublisher, AlwaysFailingReceiverDeadLettersEachEventInTurn) {
  auto ids = insert({{"sku-a", 1}, {"sku-a", 2}});
  receiver.fail_always(true);
  start(2);
  ASSERT_TRUE(
    eventually([&] { return scalar<int>("SELECT count(*) FROM dead_letters") == 2; }, 20s, 5ms));
  EXPECT_EQ(receiver.requests().size(), 4u);
  EXPECT_EQ(receiver.delivered_count(), 0u);
  EXPECT_EQ(cursor(), ids.back());
}

TEST_F(OutboxPublisher, RestartMidStreamLosesNothingAndRepeatsAtMostTheEventInFlight) {
  auto ids = insert_interleaved(1, 15);
  // The stream stalls at event 20 (retrying it without end) until the restart.
  receiver.fail_event(ids[20]);
  start(1000);
  ASSERT_TRUE(delivered(20));
  ASSERT_TRUE(eventually(
    [&] {
      auto r = receiver.requests();
      return std::any_of(r.begin(), r.end(), [&](const auto& x) { return x.event_id == ids[20]; });
    },
    10s, 5ms));
  stop();
  EXPECT_EQ(receiver.delivered_count(), 20u);
  EXPECT_EQ(cursor(), ids[19]);

  receiver.clear_failures();
  start(); // a new actor: only the database remembers where it was
  auto more = insert_interleaved(16, 2);
  ASSERT_TRUE(delivered(ids.size() + more.size()));
  auto all = ids;
  all.insert(all.end(), more.begin(), more.end());
  EXPECT_EQ(deduped_ids(), all);
  expect_ordered_and_signed();
  auto requests = receiver.requests();
  auto successes = std::count_if(requests.begin(), requests.end(),
                                 [](const auto& r) { return r.answered == 200; });
  EXPECT_EQ(static_cast<size_t>(successes), all.size()) << "an acknowledged event was repeated";
}

TEST_F(OutboxPublisher, StopAndRestartInTheMiddleOfAFastStreamRepeatsAtMostOneEvent) {
  auto ids = insert_interleaved(1, 15);
  start();
  ASSERT_TRUE(delivered(3));
  stop();
  start();
  ASSERT_TRUE(delivered(ids.size()));
  EXPECT_EQ(deduped_ids(), ids);
  expect_ordered_and_signed();
  // The publisher may stop between a 2xx and moving its cursor: that one event comes again.
  EXPECT_LE(receiver.requests().size(), ids.size() + 1);
}

// Two writers (two nodes' journals): a transaction that began first may commit last. Its row
// sorts first in commit position order, so the publisher must not pass it while it is open.
TEST_F(OutboxPublisher, ARowThatCommitsAfterALaterOneIsNeitherSkippedNorReordered) {
  auto before = insert({{"sku-z", 1}});
  pqxx::connection slow_conn{url()};
  pqxx::work slow{slow_conn};
  slow.exec("SELECT pg_current_xact_id()"); // takes its transaction id now
  auto fast = insert({{"sku-b", 1}});       // a later transaction id, committed first
  start();
  ASSERT_TRUE(delivered(1));
  // Let the publisher read the journal twice more while the slow writer is still open.
  auto polls = [&] {
    return scalar<std::string>("SELECT COALESCE(max(state_change)::text, '') FROM "
                               "pg_stat_activity WHERE application_name = "
                               "'mercato-outbox-publisher' AND state = 'idle'");
  };
  for (int i = 0; i < 2; ++i) {
    auto seen = polls();
    ASSERT_TRUE(eventually([&] { return polls() != seen; }, 10s, 5ms));
  }
  EXPECT_EQ(receiver.delivered_count(), 1u) << "a row after an open transaction went out";
  slow.exec("INSERT INTO journal (id, entity_kind, entity_id, event_type, payload, published, "
            "seq, request_id) VALUES ('01900000-0000-7000-8000-00000000ffff', 'stock', 'sku-a', "
            "'adjusted', '{\"delta\": 1, \"note\": \"ünïcode\"}', "
            "'{\"delta\": 1, \"note\": \"ünïcode\"}', 1, 'req-1')");
  slow.commit();
  ASSERT_TRUE(delivered(3));
  EXPECT_EQ(deduped_ids(),
            (std::vector<std::string>{before[0], "01900000-0000-7000-8000-00000000ffff", fast[0]}));
  expect_ordered_and_signed();
}

} // namespace
} // namespace mercato::test
