#include "adapters/pg/recovery.hpp"

#include "adapters/pg/codec.hpp"
#include "adapters/pg/journal.hpp"
#include "adapters/pg/migrate.hpp"
#include "tests/support/pg_fixture.hpp"

#include <caf/all.hpp>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <set>

namespace mercato::test {
namespace {

class Recovery : public migrated_pg_test {
protected:
  void spawn_actors() override {
    journal = pg::spawn_journal(sys(), url(), config::journal_settings{}, nullptr);
    recovery = pg::spawn_recovery(sys(), url(), 2);
  }

  void TearDown() override {
    // Handles first: the actor system waits for every actor before it goes away.
    journal = nullptr;
    recovery = nullptr;
    pg_test::TearDown();
  }

  void append(persist_request req) {
    auto res = ask<uint64_t>(journal, atom::append_v, std::move(req));
    ASSERT_TRUE(res) << render(res.error());
  }

  journal_actor journal;
  recovery_actor recovery;
};

stock_snapshot sample_snapshot() {
  stock_snapshot s;
  s.exists = true;
  s.on_hand = 42;
  s.holds.push_back(stock_hold{"r-1", 2, 1700000900000});
  s.holds.push_back(stock_hold{"r-2", 5, 1700000950000});
  s.closed.push_back(stock_closed_hold{"r-0", stock_event_type::committed, 1});
  return s;
}

TEST_F(Recovery, UnknownEntityIsEmptyNotAnError) {
  auto res
    = ask<recovery_data>(recovery, atom::load_v, std::string{"stock"}, std::string{"never-seen"});
  ASSERT_TRUE(res) << render(res.error());
  EXPECT_EQ(res->last_seq, 0u);
  EXPECT_EQ(res->snapshot_seq, 0u);
  EXPECT_TRUE(res->snapshot.empty());
  EXPECT_TRUE(res->events.empty());
}

TEST_F(Recovery, LoadsTheSnapshotAndOnlyTheEventsAfterIt) {
  auto first = stock_request("sku-1", 1, 3);
  first.snapshot = caf::make_message(sample_snapshot());
  append(first);
  auto later = stock_request("sku-1", 4, 0);
  later.events.push_back(caf::make_message(reserved_event("r-3", 7, 1700000001000)));
  stock_event released;
  released.type = stock_event_type::released;
  released.reservation_id = "r-1";
  released.qty = 2;
  released.at_ms = 1700000002000;
  later.events.push_back(caf::make_message(released));
  append(later);
  auto res = ask<recovery_data>(recovery, atom::load_v, std::string{"stock"}, std::string{"sku-1"});
  ASSERT_TRUE(res) << render(res.error());
  EXPECT_EQ(res->snapshot_seq, 3u);
  EXPECT_EQ(res->last_seq, 5u);
  ASSERT_TRUE(res->snapshot.match_elements<stock_snapshot>());
  const auto& snap = res->snapshot.get_as<stock_snapshot>(0);
  EXPECT_TRUE(snap.exists);
  EXPECT_EQ(snap.on_hand, 42);
  ASSERT_EQ(snap.holds.size(), 2u);
  EXPECT_EQ(snap.holds[1].reservation_id, "r-2");
  EXPECT_EQ(snap.holds[1].qty, 5);
  EXPECT_EQ(snap.holds[1].expires_at_ms, 1700000950000);
  ASSERT_EQ(snap.closed.size(), 1u);
  EXPECT_EQ(snap.closed[0].outcome, stock_event_type::committed);
  ASSERT_EQ(res->events.size(), 2u);
  ASSERT_TRUE(res->events[0].match_elements<stock_event>());
  const auto& ev4 = res->events[0].get_as<stock_event>(0);
  EXPECT_EQ(ev4.type, stock_event_type::reserved);
  EXPECT_EQ(ev4.reservation_id, "r-3");
  EXPECT_EQ(ev4.qty, 7);
  EXPECT_EQ(ev4.expires_at_ms, 1700000001000 + 900000);
  EXPECT_EQ(ev4.at_ms, 1700000001000);
  const auto& ev5 = res->events[1].get_as<stock_event>(0);
  EXPECT_EQ(ev5.type, stock_event_type::released);
  EXPECT_EQ(ev5.reservation_id, "r-1");
  EXPECT_EQ(ev5.qty, 2);
}

TEST_F(Recovery, LoadsEveryEventWithoutSnapshot) {
  append(stock_request("sku-2", 1, 4));
  append(stock_request("sku-2", 5, 1));
  auto res = ask<recovery_data>(recovery, atom::load_v, std::string{"stock"}, std::string{"sku-2"});
  ASSERT_TRUE(res) << render(res.error());
  EXPECT_TRUE(res->snapshot.empty());
  EXPECT_EQ(res->snapshot_seq, 0u);
  EXPECT_EQ(res->last_seq, 5u);
  ASSERT_EQ(res->events.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    const auto& ev = res->events[i].get_as<stock_event>(0);
    EXPECT_EQ(ev.type, stock_event_type::adjusted);
    EXPECT_EQ(ev.delta, static_cast<int64_t>(i + 1));
    EXPECT_EQ(ev.reason, "restock");
  }
}

TEST_F(Recovery, SnapshotAtTheLastSeqLeavesNoEvents) {
  auto req = stock_request("sku-3", 1, 2);
  req.snapshot = caf::make_message(sample_snapshot());
  append(req);
  auto res = ask<recovery_data>(recovery, atom::load_v, std::string{"stock"}, std::string{"sku-3"});
  ASSERT_TRUE(res) << render(res.error());
  EXPECT_EQ(res->snapshot_seq, 2u);
  EXPECT_EQ(res->last_seq, 2u);
  EXPECT_TRUE(res->events.empty());
}

// Entities that start at once are read in one statement per reader; each gets its own rows, and
// one whose journal does not decode fails alone.
TEST_F(Recovery, EntitiesLoadedTogetherGetTheirOwnRowsAndFailAlone) {
  for (int i = 0; i < 20; ++i) {
    auto req = stock_request("sku-m" + std::to_string(i), 1, 1 + i % 3);
    if (i % 4 == 0)
      req.snapshot = caf::make_message(sample_snapshot());
    append(req);
  }
  // A journal with a hole at seq 2.
  query("INSERT INTO journal (entity_kind, entity_id, seq, event_type, payload) SELECT 'stock', "
        "'sku-hole', v.s, j.event_type, j.payload FROM journal j, (VALUES (1), (3)) v (s) WHERE "
        "j.entity_kind = 'stock' AND j.entity_id = 'sku-m0' AND j.seq = 1");
  std::vector<std::pair<std::string, std::string>> keys;
  for (int i = 0; i < 20; ++i)
    keys.emplace_back("stock", "sku-m" + std::to_string(i));
  keys.emplace_back("stock", "sku-hole");
  keys.emplace_back("stock", "never-seen");
  keys.emplace_back("spaceship", "x");
  caf::scoped_actor self{sys()};
  std::vector<caf::expected<recovery_data>> got;
  {
    std::vector<decltype(self->request(recovery, std::chrono::seconds{5}, atom::load_v,
                                       std::string{}, std::string{}))>
      pending;
    for (const auto& [kind, id] : keys) // all sent before any answer is awaited
      pending.push_back(self->request(recovery, std::chrono::seconds{5}, atom::load_v, kind, id));
    for (auto& p : pending)
      p.receive([&](recovery_data& d) { got.emplace_back(std::move(d)); },
                [&](caf::error& e) { got.emplace_back(std::move(e)); });
  }
  ASSERT_EQ(got.size(), keys.size());
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(keys[i].second);
    ASSERT_TRUE(got[i]) << render(got[i].error());
    auto events = static_cast<size_t>(1 + i % 3);
    EXPECT_EQ(got[i]->last_seq, events);
    EXPECT_EQ(got[i]->snapshot.empty(), i % 4 != 0);
    EXPECT_EQ(got[i]->events.size(), i % 4 == 0 ? 0u : events);
  }
  ASSERT_FALSE(got[20]);
  EXPECT_NE(caf::to_string(got[20].error()).find("misses seq 2"), std::string::npos)
    << caf::to_string(got[20].error());
  ASSERT_TRUE(got[21]) << render(got[21].error());
  EXPECT_EQ(got[21]->last_seq, 0u);
  ASSERT_FALSE(got[22]);
  EXPECT_EQ(errc_of(got[22].error()), mercato_errc::invalid_request);
}

TEST_F(Recovery, UnknownKindIsAnInvalidRequest) {
  auto res = ask<recovery_data>(recovery, atom::load_v, std::string{"spaceship"}, std::string{"x"});
  ASSERT_FALSE(res);
  EXPECT_EQ(errc_of(res.error()), mercato_errc::invalid_request);
}

TEST_F(Recovery, UnreachableDatabaseIsStorageUnavailable) {
  auto broken = pg::spawn_recovery(sys(), "host=/nonexistent/dir dbname=x user=nobody", 1);
  auto res = ask<recovery_data>(broken, atom::load_v, std::string{"stock"}, std::string{"x"});
  ASSERT_FALSE(res);
  EXPECT_EQ(errc_of(res.error()), mercato_errc::storage_unavailable) << render(res.error());
}

TEST_F(Recovery, ReaderReconnectsAfterItsBackendIsTerminated) {
  append(stock_request("sku-4", 1, 1));
  auto load = [&] {
    return ask<recovery_data>(recovery, atom::load_v, std::string{"stock"}, std::string{"sku-4"});
  };
  // Both readers of the pool have a connection once each served a request.
  ASSERT_TRUE(load());
  ASSERT_TRUE(load());
  EXPECT_EQ(admin_scalar<int>("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE datname = '"
                              + dbname()
                              + "' "
                                "AND application_name LIKE 'mercato-recovery-%'"),
            2);
  for (int i = 0; i < 4; ++i) {
    auto res = load();
    ASSERT_TRUE(res) << render(res.error());
    EXPECT_EQ(res->last_seq, 1u);
  }
}

TEST(Codec, StockEventsRoundTripThroughJson) {
  for (auto type :
       {stock_event_type::on_hand_set, stock_event_type::adjusted, stock_event_type::reserved,
        stock_event_type::committed, stock_event_type::released, stock_event_type::expired}) {
    stock_event ev;
    ev.type = type;
    ev.delta = -3;
    ev.reason = "damaged \"in\" transit ✓";
    ev.reservation_id = "r-9";
    ev.qty = 4;
    ev.expires_at_ms = 1700000900000;
    ev.at_ms = 1700000000000;
    auto enc = pg::encode_event("stock", caf::make_message(ev));
    ASSERT_TRUE(enc) << render(enc.error());
    EXPECT_EQ(enc->type, to_string(type));
    auto dec = pg::decode_event("stock", enc->type, enc->payload);
    ASSERT_TRUE(dec) << render(dec.error());
    const auto& back = dec->get_as<stock_event>(0);
    EXPECT_EQ(back.type, ev.type);
    EXPECT_EQ(back.delta, ev.delta);
    EXPECT_EQ(back.reason, ev.reason);
    EXPECT_EQ(back.reservation_id, ev.reservation_id);
    EXPECT_EQ(back.qty, ev.qty);
    EXPECT_EQ(back.expires_at_ms, ev.expires_at_ms);
    EXPECT_EQ(back.at_ms, ev.at_ms);
  }
}

TEST(Codec, PayloadsUseSnakeCaseAndOnlyTheFieldsOfTheType) {
  auto enc = pg::encode_event("stock", caf::make_message(reserved_event("r-1", 2, 1000)));
  ASSERT_TRUE(enc);
  EXPECT_EQ(enc->type, "reserved");
  EXPECT_EQ(enc->payload,
            R"({"at_ms":1000,"expires_at_ms":901000,"qty":2,"reservation_id":"r-1"})");
}

// Encodes, checks what the stored JSON leaves out, decodes, and encodes again to the same text.
template <class Event>
Event round_trip(const std::string& kind, const Event& ev, std::vector<std::string> absent) {
  auto enc = pg::encode_event(kind, caf::make_message(ev));
  EXPECT_TRUE(enc) << render(enc.error());
  if (!enc)
    return {};
  auto stored = nlohmann::json::parse(enc->payload);
  for (const auto& key : absent)
    EXPECT_FALSE(stored.contains(key)) << key << " in " << enc->payload;
  auto dec = pg::decode_event(kind, enc->type, enc->payload);
  EXPECT_TRUE(dec) << render(dec.error());
  if (!dec)
    return {};
  auto again = pg::encode_event(kind, *dec);
  EXPECT_TRUE(again);
  if (again) {
    EXPECT_EQ(again->payload, enc->payload);
  }
  return dec->template get_as<Event>(0);
}

TEST(Codec, EmptyStructuresAreLeftOutAndDecodeToThemselves) {
  checkout_event started;
  started.type = "started";
  started.cmd.idempotency_key = "key-1";
  started.cart.cart_id = "cart-1";
  started.attempt = 1;
  auto back = round_trip("checkout", started, {});
  EXPECT_EQ(back.cmd.idempotency_key, "key-1");
  EXPECT_EQ(back.cart.cart_id, "cart-1");
  checkout_event placed;
  placed.type = "order_placed";
  placed.steps.push_back(checkout_step{"place_order", "done", "ord-1", 1000});
  back = round_trip("checkout", placed, {"cmd", "cart"});
  ASSERT_EQ(back.steps.size(), 1u);
  EXPECT_EQ(back.steps[0].detail, "ord-1");
  EXPECT_TRUE(back.cmd.idempotency_key.empty());

  order_event status;
  status.type = "status_changed";
  status.status = "confirmed";
  status.status_after = "confirmed";
  auto order_back = round_trip("order", status, {"placement", "fact"});
  EXPECT_EQ(order_back.status_after, "confirmed");
  order_event placed_order;
  placed_order.type = "placed";
  placed_order.placement.order_id = "ord-1";
  placed_order.placement.lines.push_back(cart_line{"sku-1", "Item", 2, 500});
  order_back = round_trip("order", placed_order, {"fact"});
  EXPECT_EQ(order_back.placement.order_id, "ord-1");
  ASSERT_EQ(order_back.placement.lines.size(), 1u);
  EXPECT_EQ(order_back.placement.lines[0].quantity, 2);
  order_event fact;
  fact.type = "fact_recorded";
  fact.fact.type = "shipped";
  fact.fact.seq = 3;
  order_back = round_trip("order", fact, {"placement"});
  EXPECT_EQ(order_back.fact.type, "shipped");
  EXPECT_EQ(order_back.fact.seq, 3u);
}

TEST(Codec, RefusesWrongMessagesAndUnknownKinds) {
  auto wrong = pg::encode_event("stock", caf::make_message(std::string{"x"}));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(errc_of(wrong.error()), mercato_errc::invalid_request);
  auto unknown = pg::encode_event("spaceship", caf::make_message(stock_event{}));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(errc_of(unknown.error()), mercato_errc::invalid_request);
  auto bad_type = pg::decode_event("stock", "teleported", "{}");
  EXPECT_FALSE(bad_type);
  auto bad_json = pg::decode_snapshot("stock", "{not json");
  EXPECT_FALSE(bad_json);
}

// jsonb cannot hold a NUL character; the six characters "\u0000" are ordinary text.
TEST(Codec, RefusesANulCharacterButNotTheTextThatSpellsOne) {
  order_event ev;
  ev.type = "cancelled";
  ev.status = "cancelled";
  ev.reason = "typed \\u0000 and \\\\u0000 on purpose";
  auto spelled = pg::encode_event("order", caf::make_message(ev));
  ASSERT_TRUE(spelled) << render(spelled.error());
  auto back = pg::decode_event("order", "cancelled", spelled->payload);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->get_as<order_event>(0).reason, ev.reason);
  ev.reason = std::string{"a\0b", 3};
  auto nul = pg::encode_event("order", caf::make_message(ev));
  ASSERT_FALSE(nul);
  EXPECT_EQ(errc_of(nul.error()), mercato_errc::invalid_request);
  ev.reason = std::string{"\\\0", 2}; // a backslash, then NUL
  EXPECT_FALSE(pg::encode_event("order", caf::make_message(ev)));
}

// Checkout events of one append, by type ("started", "order_placed", ...).
persist_request checkout_request(const std::string& id, uint64_t first_seq,
                                 std::vector<std::string> types) {
  persist_request req;
  req.kind = "checkout";
  req.entity_id = id;
  req.first_seq = first_seq;
  for (auto& type : types) {
    checkout_event ev;
    ev.type = std::move(type);
    ev.at_ms = 1700000000000;
    req.events.push_back(caf::make_message(ev));
  }
  return req;
}

std::set<std::string> as_set(const std::vector<std::string>& ids) {
  return {ids.begin(), ids.end()};
}

TEST_F(Recovery, OpenCheckoutsAreTheStartedOnesNotYetCompletedOrFailed) {
  append(checkout_request("co-started", 1, {"started"}));
  append(checkout_request("co-placed", 1, {"started", "order_placed"}));
  append(checkout_request("co-completed", 1, {"started", "order_placed", "completed"}));
  append(checkout_request("co-failed", 1, {"started", "failed"}));
  append(checkout_request("co-retried", 1, {"started", "failed"}));
  append(checkout_request("co-retried", 3, {"started"}));
  append(checkout_request("co-finished-later", 1, {"started", "order_placed"}));
  EXPECT_EQ(as_set(pg::open_checkouts(url())),
            (std::set<std::string>{"co-started", "co-placed", "co-retried", "co-finished-later"}));
  append(checkout_request("co-finished-later", 3, {"completed"}));
  append(checkout_request("co-retried", 4, {"failed"}));
  // A batch of other kinds leaves them as they are.
  append(stock_request("sku-1", 1, 2));
  EXPECT_EQ(as_set(pg::open_checkouts(url())), (std::set<std::string>{"co-started", "co-placed"}));
}

// A failure that still owes compensation keeps its checkout open until `compensated`.
TEST_F(Recovery, AFailureThatOwesACompensationStaysOpenUntilCompensated) {
  auto req = checkout_request("co-owes", 1, {"started", "failed"});
  checkout_event failed;
  failed.type = "failed";
  failed.owed = {"void_payment"};
  req.events.back() = caf::make_message(failed);
  append(req);
  EXPECT_EQ(as_set(pg::open_checkouts(url())), (std::set<std::string>{"co-owes"}));
  append(checkout_request("co-owes", 3, {"compensated"}));
  EXPECT_TRUE(pg::open_checkouts(url()).empty());
}

// A database with checkouts journaled before migration 0008 kept the open ones.
TEST_F(Recovery, MigrationFindsTheCheckoutsLeftOpenBeforeIt) {
  admin_exec("DROP DATABASE IF EXISTS " + dbname() + "_pre8 WITH (FORCE)");
  admin_exec("CREATE DATABASE " + dbname() + "_pre8");
  auto pre8 = dsn_with_dbname(admin_url(), dbname() + "_pre8");
  {
    pqxx::connection conn{pre8};
    pqxx::work txn{conn};
    migrate_before(txn, 8);
    txn.exec("INSERT INTO journal (entity_kind, entity_id, seq, event_type, payload) VALUES "
             "('checkout', 'co-open', 1, 'started', '{}'), "
             "('checkout', 'co-placed', 1, 'started', '{}'), "
             "('checkout', 'co-placed', 2, 'order_placed', '{}'), "
             "('checkout', 'co-done', 1, 'started', '{}'), "
             "('checkout', 'co-done', 2, 'order_placed', '{}'), "
             "('checkout', 'co-done', 3, 'completed', '{}'), "
             "('checkout', 'co-failed', 1, 'started', '{}'), "
             "('checkout', 'co-failed', 2, 'failed', '{}')");
    txn.commit();
  }
  ASSERT_EQ(pg::migrate(pre8), "");
  EXPECT_EQ(as_set(pg::open_checkouts(pre8)), (std::set<std::string>{"co-open", "co-placed"}));
  admin_exec("DROP DATABASE " + dbname() + "_pre8 WITH (FORCE)");
}

} // namespace
} // namespace mercato::test
