// The stock actor and its shard region under CAF's deterministic scheduler and virtual clock:
// durability before acknowledgement, failure handling, supervision, passivation and expiry.

#include "actors/stock/stock_actor.hpp"

#include "actors/protocol/errors.hpp"
#include "runtime/shard_region.hpp"
#include "tests/support/entity_fixture.hpp"

#include <caf/all.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace mercato;
using namespace std::chrono_literals;

namespace {

class StockActor : public test::entity_fixture {
protected:
  StockActor() {
    cfg.journal = journal;
    cfg.recovery = recovery;
    cfg.snapshot_every = 3;
    cfg.fault_injection = true;
    cfg.now_ms = [this] { return virtual_now_ms(); };
    runtime::region_settings rs;
    rs.kind = "stock";
    rs.passivate_after = 1000ms;
    rs.backoff_min = 10ms;
    rs.watch = raw_journal;
    region = runtime::spawn_region(sys, rs, make_stock_spawner(cfg), &metrics);
    sched.run();
  }

  // Asks the region itself (not an entity behind it).
  template <class Result, class... Ts>
  caf::expected<Result> ask_region(Ts... xs) {
    auto out = std::make_shared<caf::expected<Result>>(caf::sec::request_timeout);
    sys.spawn([out, region = region, xs...](caf::event_based_actor* self) {
      self->request(region, std::chrono::milliseconds{60000}, xs...)
        .then([out](Result r) { *out = std::move(r); },
              [out](caf::error& e) { *out = std::move(e); });
    });
    sched.run();
    return *out;
  }

  // The journal commits the oldest append it holds back (`db->hold_appends`).
  void commit_held_append() {
    caf::anon_send(raw_journal, atom::flush_v);
    sched.run();
  }

  // From here on, entities live behind a region of their own with `other` settings; the fixture's
  // region stops with the test.
  void use_settings(const stock_settings& other) {
    runtime::region_settings rs;
    rs.kind = "stock";
    replaced.push_back(region);
    region = runtime::spawn_region(sys, rs, make_stock_spawner(other), nullptr);
  }

  void TearDown() override {
    for (auto& r : replaced)
      caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
    replaced.clear();
    entity_fixture::TearDown();
  }

  stock_settings cfg;
  std::vector<caf::actor> replaced;
};

mercato_errc code_of(const caf::error& e) {
  return errc_of(e);
}

} // namespace

TEST_F(StockActor, SetThenGetReturnsDurableView) {
  auto v = ask<stock_view>("s1", atom::set_v, stock_set_cmd{10, "req-1"});
  ASSERT_TRUE(v) << render(v.error());
  EXPECT_EQ(v->on_hand, 10);
  EXPECT_EQ(v->version, 1u);
  auto g = ask<stock_view>("s1", atom::get_v);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->available, 10);
}

TEST_F(StockActor, UnknownSkuIsNotFound) {
  auto g = ask<stock_view>("nope", atom::get_v);
  ASSERT_FALSE(g);
  EXPECT_EQ(code_of(g.error()), mercato_errc::not_found);
}

TEST_F(StockActor, ReservationIsAcknowledgedOnlyWhenDurable) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{2, ""})));
  db->hold_appends = true;
  auto r1 = send<reservation_view>("s1", atom::reserve_v, reserve_cmd{"a", 1, 60000, ""});
  auto r2 = send<reservation_view>("s1", atom::reserve_v, reserve_cmd{"b", 1, 60000, ""});
  auto r3 = send<reservation_view>("s1", atom::reserve_v, reserve_cmd{"c", 1, 60000, ""});
  sched.run();
  EXPECT_FALSE(answered(1)) << "no reply before the journal made it durable";
  EXPECT_FALSE(answered(2));
  ASSERT_TRUE(answered(3)) << "the third is refused at once: pending holds count";
  ASSERT_FALSE(*r3);
  EXPECT_EQ(code_of(r3->error()), mercato_errc::insufficient_stock);
  auto g = ask<stock_view>("s1", atom::get_v);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->reserved, 0) << "reads show durable state only";
  // Two pipelined decisions: the first append is in flight, the second waits behind it.
  commit_held_append();
  commit_held_append();
  ASSERT_TRUE(*r1);
  ASSERT_TRUE(*r2);
  EXPECT_EQ((*r2)->expires_at_ms, epoch_ms + 60000);
  g = ask<stock_view>("s1", atom::get_v);
  EXPECT_EQ(g->reserved, 2);
  EXPECT_EQ(db->event_count("stock", "s1"), 3u);
}

TEST_F(StockActor, AppendFailureFailsPendingAndRestartsFromJournal) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{5, ""})));
  db->fail_appends = 1;
  auto r = ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{"a", 2, 60000, ""});
  ASSERT_FALSE(r);
  EXPECT_EQ(code_of(r.error()), mercato_errc::storage_unavailable);
  sched.advance_time(500ms); // storage_retry
  sched.run();
  auto g = ask<stock_view>("s1", atom::get_v);
  ASSERT_TRUE(g) << render(g.error());
  EXPECT_EQ(g->reserved, 0) << "the failed decision is gone after recovery";
  EXPECT_EQ(g->available, 5);
  EXPECT_EQ(metrics.get_counter("mercato_entity_restarts_total", "", {{"kind", "stock"}}).value(),
            1u);
  auto again = ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{"a", 2, 60000, ""});
  EXPECT_TRUE(again) << "a retry succeeds once storage is back";
}

TEST_F(StockActor, CrashedEntityRestartsWithStateAndOthersAreUnaffected) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{5, ""})));
  ASSERT_TRUE((ask<stock_view>("s2", atom::set_v, stock_set_cmd{7, ""})));
  ASSERT_TRUE((ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{"a", 2, 60000, ""})));
  auto f = ask<bool>("s1", atom::fault_v);
  ASSERT_FALSE(f);
  auto during = send<stock_view>("s1", atom::get_v); // waits in the region during backoff
  sched.run();
  EXPECT_FALSE(answered(4));
  sched.advance_time(10ms);
  sched.run();
  ASSERT_TRUE(*during) << render(during->error());
  EXPECT_EQ((*during)->on_hand, 5);
  EXPECT_EQ((*during)->reserved, 2);
  auto other = ask<stock_view>("s2", atom::get_v);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->on_hand, 7);
}

TEST_F(StockActor, RestartBudgetRefusesWithUnavailable) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{5, ""})));
  for (int i = 0; i < 6; ++i) {
    ask<bool>("s1", atom::fault_v);
    sched.advance_time(6s); // past any backoff, still inside the 60 s window
    sched.run();
  }
  auto g = ask<stock_view>("s1", atom::get_v);
  ASSERT_FALSE(g);
  EXPECT_EQ(code_of(g.error()), mercato_errc::entity_unavailable);
}

TEST_F(StockActor, IdleEntityPassivatesAndRecoversItsState) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{5, ""})));
  ASSERT_TRUE((ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{"a", 2, 60000, ""})));
  ASSERT_TRUE((ask<stock_view>("s1", atom::commit_v, hold_cmd{"a", ""})));
  auto& passivations
    = metrics.get_counter("mercato_entity_passivations_total", "", {{"kind", "stock"}});
  sched.advance_time(1600ms);
  sched.run();
  EXPECT_EQ(passivations.value(), 1u);
  EXPECT_EQ(metrics.get_gauge("mercato_entities_live", "", {{"kind", "stock"}}).value(), 0);
  auto g = ask<stock_view>("s1", atom::get_v);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->on_hand, 3);
  EXPECT_EQ(g->version, 3u);
  auto retry = ask<stock_view>("s1", atom::commit_v, hold_cmd{"a", ""});
  EXPECT_TRUE(retry) << "closed holds survive passivation (snapshot)";
}

TEST_F(StockActor, ASnapshotTakenWithAReleaseInFlightRemembersItsHoldAsReleased) {
  // snapshot_every is 3: the append of the release (seq 6) carries a snapshot.
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{5, ""})));
  ASSERT_TRUE((ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{"a", 2, 60000, ""})));
  ASSERT_TRUE((ask<stock_view>("s1", atom::commit_v, hold_cmd{"a", ""})));
  ASSERT_TRUE((ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{"b", 1, 60000, ""})));
  ASSERT_TRUE((ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{"c", 1, 60000, ""})));
  ASSERT_TRUE((ask<stock_view>("s1", atom::release_v, hold_cmd{"b", ""})));
  ASSERT_TRUE((ask<stock_view>("s1", atom::release_v, hold_cmd{"c", ""})));
  sched.advance_time(1600ms);
  sched.run();
  auto g = ask<stock_view>("s1", atom::get_v);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->version, 7u);
  EXPECT_EQ(g->on_hand, 3);
  EXPECT_EQ(g->reserved, 0);
  EXPECT_TRUE((ask<stock_view>("s1", atom::release_v, hold_cmd{"b", ""})))
    << "a release is answered again after recovery";
  EXPECT_TRUE((ask<stock_view>("s1", atom::commit_v, hold_cmd{"a", ""})));
  auto again = ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{"b", 1, 60000, ""});
  ASSERT_FALSE(again) << "a released id is not taken again";
  EXPECT_EQ(code_of(again.error()), mercato_errc::conflict);
}

TEST_F(StockActor, EntityWithActiveHoldsStaysAlive) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{5, ""})));
  ASSERT_TRUE((ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{"a", 2, 600000, ""})));
  sched.advance_time(1600ms);
  sched.run();
  EXPECT_EQ(
    metrics.get_counter("mercato_entity_passivations_total", "", {{"kind", "stock"}}).value(), 0u);
}

// A hold due hours away still expires on time: its item's timer runs at most
// `runtime::max_entity_timer` and is set again until the hold is due.
TEST_F(StockActor, AFarOffHoldExpiresOnTimeThroughShorterTimers) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{5, ""})));
  ASSERT_TRUE((ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{"a", 2, 7'200'000, ""})));
  for (int minute = 1; minute < 120; ++minute) {
    sched.advance_time(60s);
    sched.run();
  }
  sched.advance_time(59'999ms); // 1 ms before the hold is due
  sched.run();
  EXPECT_EQ(ask<stock_view>("s1", atom::get_v)->reserved, 2);
  sched.advance_time(1ms);
  sched.run();
  EXPECT_EQ(ask<stock_view>("s1", atom::get_v)->reserved, 0);
  EXPECT_EQ(db->event_count("stock", "s1"), 3u) << "one expiry, journaled once";
}

// What an item that passivated leaves behind: no address of it anywhere (the journal is watched
// by the region, not by each entity), and its own timer holds it at most
// `runtime::max_entity_timer`, however far off its last expiry was. Either would keep the whole
// actor allocated (CAF frees an actor's memory once no handle or address of it is left).
TEST_F(StockActor, APassivatedItemIsHeldByNeitherTheJournalNorItsTimer) {
  std::vector<caf::actor> started; // the test's own handles: each counts one strong reference
  auto spawner = make_stock_spawner(cfg);
  runtime::region_settings rs;
  rs.kind = "stock";
  rs.passivate_after = 1000ms;
  rs.watch = raw_journal;
  replaced.push_back(region);
  region = runtime::spawn_region(
    sys, rs,
    [spawner, &started](caf::local_actor* self, const std::string& key, bool known_new) {
      started.push_back(spawner(self, key, known_new));
      return started.back();
    },
    nullptr);
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{5, ""})));
  ASSERT_TRUE((ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{"a", 2, 7'200'000, ""})));
  ASSERT_TRUE((ask<stock_view>("s1", atom::release_v, hold_cmd{"a", ""})));
  sched.advance_time(1600ms); // passivates: no hold is active
  sched.run();
  ASSERT_EQ(started.size(), 1u);
  auto* block = caf::actor_cast<caf::actor_control_block*>(started.front());
  EXPECT_EQ(block->weak_refs.load(), 1u) << "an address of it is left (a monitor, say)";
  sched.advance_time(runtime::max_entity_timer);
  sched.run();
  EXPECT_EQ(block->strong_refs.load(), 1u) << "only the test's handle is left";
  // And the key still works: a new actor recovers it.
  EXPECT_EQ(ask<stock_view>("s1", atom::get_v)->available, 5);
  EXPECT_EQ(started.size(), 2u);
}

TEST_F(StockActor, HoldExpiresByItsOwnTimer) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{5, ""})));
  ASSERT_TRUE((ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{"a", 2, 2000, ""})));
  sched.advance_time(1999ms);
  sched.run();
  EXPECT_EQ(ask<stock_view>("s1", atom::get_v)->reserved, 2);
  sched.advance_time(1ms);
  sched.run();
  auto g = ask<stock_view>("s1", atom::get_v);
  EXPECT_EQ(g->reserved, 0);
  EXPECT_EQ(g->available, 5);
  EXPECT_EQ(db->event_count("stock", "s1"), 3u) << "the expiry is journaled";
}

TEST_F(StockActor, SnapshotsAreTakenEveryNEvents) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{50, ""})));
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE((ask<reservation_view>("s1", atom::reserve_v,
                                       reserve_cmd{"r" + std::to_string(i), 1, 60000, ""})));
  auto key = std::make_pair(std::string{"stock"}, std::string{"s1"});
  EXPECT_EQ(db->entities[key].snapshot_seq, 3u);
}

TEST_F(StockActor, ShutdownStopsEntitiesDespitePendingTimers) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{5, ""})));
  ASSERT_TRUE((ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{"a", 2, 3600000, ""})));
  auto before = sys.registry().running();
  caf::anon_send_exit(region, caf::exit_reason::user_shutdown);
  sched.run(); // no timers triggered: the hold's expiry must not be what ends the entity
  EXPECT_EQ(sys.registry().running(), before - 2) << "the region and its entity are gone";
}

TEST_F(StockActor, ShorterHoldExpiresBeforeLongerOne) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{9, ""})));
  ASSERT_TRUE((ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{"long", 4, 10000, ""})));
  ASSERT_TRUE((ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{"short", 2, 2000, ""})));
  sched.advance_time(2000ms);
  sched.run();
  EXPECT_EQ(ask<stock_view>("s1", atom::get_v)->reserved, 4) << "the short hold is back";
  sched.advance_time(7999ms);
  sched.run();
  EXPECT_EQ(ask<stock_view>("s1", atom::get_v)->reserved, 4);
  sched.advance_time(1ms);
  sched.run();
  EXPECT_EQ(ask<stock_view>("s1", atom::get_v)->reserved, 0);
}

TEST_F(StockActor, DueHoldsExpireTogetherInOneAppend) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{100, ""})));
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE((ask<reservation_view>("s1", atom::reserve_v,
                                       reserve_cmd{"r" + std::to_string(i), 1, 5000, ""})));
  ASSERT_TRUE((ask<stock_view>("s1", atom::release_v, hold_cmd{"r3", ""})));
  auto appends_before = db->appends;
  sched.advance_time(5000ms);
  sched.run();
  EXPECT_EQ(db->appends, appends_before + 1) << "one append for all nine due holds";
  EXPECT_EQ(db->event_count("stock", "s1"), 1u + 10u + 1u + 9u);
  EXPECT_EQ(ask<stock_view>("s1", atom::get_v)->reserved, 0);
}

TEST_F(StockActor, TwoAppendsInFlightStayInOrder) {
  auto deep = cfg;
  deep.max_appends_in_flight = 2;
  use_settings(deep);
  ASSERT_TRUE((ask<stock_view>("d1", atom::set_v, stock_set_cmd{5, ""})));
  db->hold_appends = true;
  auto r1 = send<reservation_view>("d1", atom::reserve_v, reserve_cmd{"a", 1, 60000, ""});
  auto r2 = send<reservation_view>("d1", atom::reserve_v, reserve_cmd{"b", 2, 60000, ""});
  sched.run();
  EXPECT_EQ(db->held.size(), 2u) << "the second append did not wait for the first";
  commit_held_append();
  ASSERT_TRUE(*r1);
  ASSERT_TRUE(*r2);
  auto g = ask<stock_view>("d1", atom::get_v);
  EXPECT_EQ(g->reserved, 3);
  EXPECT_EQ(g->version, 3u);
}

// A hot item under more load than the journal takes: past the bound, a reservation is refused
// at once instead of queueing; commits and releases (admitted work that frees units) still wait;
// once the journal catches up, reservations are taken again.
TEST_F(StockActor, ReservationsPastTheWaitingBoundAreRefusedAtOnce) {
  auto bounded = cfg;
  bounded.max_waiting_reservations = 2;
  use_settings(bounded);
  ASSERT_TRUE((ask<stock_view>("b1", atom::set_v, stock_set_cmd{10, ""})));
  ASSERT_TRUE((ask<reservation_view>("b1", atom::reserve_v, reserve_cmd{"old", 1, 60000, ""})));
  db->hold_appends = true;
  auto r1 = send<reservation_view>("b1", atom::reserve_v, reserve_cmd{"a", 1, 60000, ""});
  sched.run(); // in flight: the buffer behind it is empty again
  auto r2 = send<reservation_view>("b1", atom::reserve_v, reserve_cmd{"b", 1, 60000, ""});
  auto r3 = send<reservation_view>("b1", atom::reserve_v, reserve_cmd{"c", 1, 60000, ""});
  auto r4 = send<reservation_view>("b1", atom::reserve_v, reserve_cmd{"d", 1, 60000, ""});
  auto done = send<stock_view>("b1", atom::release_v, hold_cmd{"old", "", false});
  sched.run();
  // Requests 0 and 1 were the set and the first hold.
  EXPECT_FALSE(answered(2)) << "in flight";
  EXPECT_FALSE(answered(3)) << "waits behind it";
  EXPECT_FALSE(answered(4)) << "waits behind it";
  ASSERT_TRUE(answered(5)) << "refused at once";
  ASSERT_FALSE(*r4);
  EXPECT_EQ(code_of(r4->error()), mercato_errc::entity_unavailable);
  EXPECT_FALSE(answered(6)) << "a release always waits";
  commit_held_append();
  commit_held_append();
  ASSERT_TRUE(*r1);
  ASSERT_TRUE(*r2);
  ASSERT_TRUE(*r3);
  ASSERT_TRUE(*done);
  db->hold_appends = false;
  EXPECT_TRUE((ask<reservation_view>("b1", atom::reserve_v, reserve_cmd{"d", 1, 60000, ""})))
    << "taken again once the journal caught up";
  auto g = ask<stock_view>("b1", atom::get_v);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->reserved, 4);
}

TEST_F(StockActor, JournalThatStopsFailsPendingRequests) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{5, ""})));
  db->hold_appends = true;
  auto r = send<reservation_view>("s1", atom::reserve_v, reserve_cmd{"a", 1, 60000, ""});
  sched.run();
  ASSERT_FALSE(answered(1));
  caf::anon_send_exit(raw_journal, caf::exit_reason::kill);
  sched.run();
  ASSERT_TRUE(answered(1)) << "an append the journal will never answer is not waited on forever";
  ASSERT_FALSE(*r);
  EXPECT_EQ(code_of(r->error()), mercato_errc::storage_unavailable);
}

// -- admin inspection ----------------------------------------------------------------------------

TEST_F(StockActor, InspectionShowsDurableStateVersionAndRecentEvents) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{10, ""})));
  ASSERT_TRUE((ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{"h1", 3, 60000, ""})));
  auto text = ask_region<std::string>(atom::inspect_v, std::string{"s1"});
  ASSERT_TRUE(text) << render(text.error());
  auto j = nlohmann::json::parse(*text);
  EXPECT_EQ(j["version"], 2);
  EXPECT_EQ(j["state"]["on_hand"], 10);
  EXPECT_EQ(j["state"]["reserved"], 3);
  EXPECT_EQ(j["state"]["available"], 7);
  ASSERT_EQ(j["state"]["holds"].size(), 1u);
  EXPECT_EQ(j["state"]["holds"][0]["reservation_id"], "h1");
  ASSERT_EQ(j["recent_events"].size(), 2u);
  EXPECT_EQ(j["recent_events"][0]["seq"], 1);
  EXPECT_EQ(j["recent_events"][0]["type"], "on_hand_set");
  EXPECT_EQ(j["recent_events"][1]["type"], "reserved");
  EXPECT_EQ(j["recent_events"][1]["qty"], 3);
}

TEST_F(StockActor, InspectionKeepsOnlyTheLastEvents) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{1, ""})));
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE((ask<stock_view>("s1", atom::adjust_v, stock_adjust_cmd{1, "restock", ""})));
  auto j = nlohmann::json::parse(*ask_region<std::string>(atom::inspect_v, std::string{"s1"}));
  ASSERT_EQ(j["recent_events"].size(), stock_recent_events);
  EXPECT_EQ(j["recent_events"].back()["seq"], 31);
  EXPECT_EQ(j["recent_events"].front()["seq"], 31 - static_cast<int>(stock_recent_events) + 1);
}

TEST_F(StockActor, TheExpiryQueueHoldsNoMoreThanTwiceTheOpenHoldsOnceTheyAreSold) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{1000, ""})));
  ASSERT_TRUE((ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{"open", 1, 60000, ""})));
  // Each sold hold leaves its expiry behind until its time (a minute away): without a rebuild
  // the queue would hold all 500.
  for (int i = 0; i < 500; ++i) {
    auto id = "r" + std::to_string(i);
    ASSERT_TRUE((ask<reservation_view>("s1", atom::reserve_v, reserve_cmd{id, 1, 60000, ""})));
    ASSERT_TRUE((ask<stock_view>("s1", atom::commit_v, hold_cmd{id, ""})));
  }
  auto j = nlohmann::json::parse(*ask_region<std::string>(atom::inspect_v, std::string{"s1"}));
  EXPECT_LE(j["state"]["pending"]["expiry_entries"].get<int>(), 2 * 1 + 64 + 1);
  EXPECT_EQ(j["state"]["reserved"], 1);
  // The open hold still expires on time.
  sched.advance_time(61s);
  sched.run();
  auto g = ask<stock_view>("s1", atom::get_v);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->reserved, 0);
  EXPECT_EQ(g->on_hand, 500);
}

TEST_F(StockActor, InspectingAKeyThatIsNotLiveSpawnsNothing) {
  auto before = sys.registry().running();
  auto text = ask_region<std::string>(atom::inspect_v, std::string{"never"});
  ASSERT_FALSE(text);
  EXPECT_EQ(code_of(text.error()), mercato_errc::not_found);
  EXPECT_EQ(sys.registry().running(), before);
  auto page = ask_region<entity_page>(atom::list_v, std::string{}, int32_t{10});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 0u);
  auto passivated = ask_region<bool>(atom::passivate_v, std::string{"never"});
  ASSERT_FALSE(passivated);
  EXPECT_EQ(code_of(passivated.error()), mercato_errc::not_found);
}

TEST_F(StockActor, InspectionDoesNotDelayPassivation) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{4, ""})));
  for (int i = 0; i < 3; ++i) {
    sched.advance_time(400ms);
    sched.run();
    ASSERT_TRUE(ask_region<std::string>(atom::inspect_v, std::string{"s1"}));
  }
  // 1600 ms without a routed message: past passivate_after (1000 ms), inspections or not.
  sched.advance_time(400ms);
  sched.run();
  auto page = ask_region<entity_page>(atom::list_v, std::string{}, int32_t{10});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 0u) << "the idle entity passivated";
}

TEST_F(StockActor, RegionListsLiveEntitiesInKeyOrderByPage) {
  for (auto sku : {"c", "a", "d", "b"})
    ASSERT_TRUE((ask<stock_view>(sku, atom::set_v, stock_set_cmd{1, ""})));
  auto first = ask_region<entity_page>(atom::list_v, std::string{}, int32_t{3});
  ASSERT_TRUE(first) << render(first.error());
  ASSERT_EQ(first->items.size(), 3u);
  EXPECT_EQ(first->items[0].key, "a");
  EXPECT_EQ(first->items[1].key, "b");
  EXPECT_EQ(first->items[2].key, "c");
  EXPECT_TRUE(first->more);
  EXPECT_EQ(first->total, 4u);
  for (const auto& x : first->items) {
    EXPECT_EQ(x.kind, "stock");
    EXPECT_EQ(x.status, "running");
    EXPECT_EQ(x.mailbox, 0) << "sampled from an idle entity";
    EXPECT_EQ(x.restarts, 0u);
  }
  auto second = ask_region<entity_page>(atom::list_v, std::string{"c"}, int32_t{3});
  ASSERT_TRUE(second);
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].key, "d");
  EXPECT_FALSE(second->more);
  auto count = ask_region<entity_page>(atom::list_v, std::string{}, int32_t{0});
  ASSERT_TRUE(count);
  EXPECT_TRUE(count->items.empty());
  EXPECT_EQ(count->total, 4u);
  EXPECT_FALSE(ask_region<entity_page>(atom::list_v, std::string{}, int32_t{-1}));
}

TEST_F(StockActor, ListShowsRestartsAndPassivationOnRequest) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{2, ""})));
  EXPECT_FALSE((ask<bool>("s1", atom::fault_v)));
  sched.advance_time(10ms); // backoff_min
  sched.run();
  auto page = ask_region<entity_page>(atom::list_v, std::string{}, int32_t{10});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].restarts, 1u);
  EXPECT_EQ(page->items[0].status, "running");
  auto asked = ask_region<bool>(atom::passivate_v, std::string{"s1"});
  ASSERT_TRUE(asked);
  EXPECT_TRUE(*asked);
  page = ask_region<entity_page>(atom::list_v, std::string{}, int32_t{10});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 0u);
  EXPECT_EQ(ask<stock_view>("s1", atom::get_v)->on_hand, 2) << "it recovers on next use";
}

// -- storage outages and absent keys ------------------------------------------------------------

TEST_F(StockActor, StorageFailuresSpendNoRestartBudgetAndRefuseAtOnceMeanwhile) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{50, ""})));
  for (int i = 0; i < 8; ++i) { // more than the budget of 5 restarts
    db->fail_appends = 1;
    auto r = ask<reservation_view>("s1", atom::reserve_v,
                                   reserve_cmd{"a" + std::to_string(i), 1, 60000, ""});
    ASSERT_FALSE(r);
    EXPECT_EQ(code_of(r.error()), mercato_errc::storage_unavailable);
    auto during = ask<stock_view>("s1", atom::get_v);
    ASSERT_FALSE(during) << "answered at once while the entity waits for the database";
    EXPECT_EQ(code_of(during.error()), mercato_errc::storage_unavailable);
    sched.advance_time(500ms); // storage_retry
    sched.run();
  }
  auto g = ask<stock_view>("s1", atom::get_v);
  ASSERT_TRUE(g) << render(g.error());
  EXPECT_EQ(g->reserved, 0);
  EXPECT_EQ(
    metrics.get_counter("mercato_entity_storage_waits_total", "", {{"kind", "stock"}}).value(), 8u);
}

TEST_F(StockActor, ARecoveryThatFailsForStorageIsRetriedUntilTheDatabaseIsBack) {
  ASSERT_TRUE((ask<stock_view>("s1", atom::set_v, stock_set_cmd{4, ""})));
  auto stopped = ask_region<bool>(atom::passivate_v, std::string{"s1"});
  ASSERT_TRUE(stopped && *stopped);
  db->fail_loads = 10; // two restart budgets' worth
  auto first = ask<stock_view>("s1", atom::get_v);
  ASSERT_FALSE(first);
  for (int i = 0; i < 10; ++i) {
    sched.advance_time(500ms);
    sched.run();
  }
  EXPECT_EQ(db->fail_loads, 0) << "retried while the database was away";
  auto g = ask<stock_view>("s1", atom::get_v);
  ASSERT_TRUE(g) << render(g.error());
  EXPECT_EQ(g->on_hand, 4);
}

class StockRegionWithReads : public StockActor {
protected:
  StockRegionWithReads() {
    caf::anon_send_exit(region, caf::exit_reason::user_shutdown);
    runtime::region_settings rs;
    rs.kind = "stock";
    rs.passivate_after = 3600s;
    rs.is_read = is_stock_read;
    rs.absent_ttl = 60s;
    region = runtime::spawn_region(sys, rs, make_stock_spawner(cfg), &metrics);
    sched.run();
  }

  uint64_t live() {
    return ask_region<entity_page>(atom::list_v, std::string{}, int32_t{0})->total;
  }
};

TEST_F(StockRegionWithReads, ReadsOfAnUnknownSkuCostOneQueryAndLeaveNoActor) {
  for (int i = 0; i < 100; ++i) {
    auto g = ask<stock_view>("ghost", atom::get_v);
    ASSERT_FALSE(g);
    EXPECT_EQ(code_of(g.error()), mercato_errc::not_found);
  }
  EXPECT_EQ(db->loads["stock"], 1u);
  EXPECT_EQ(live(), 0u);
  EXPECT_EQ(
    metrics.get_counter("mercato_entity_absent_hits_total", "", {{"kind", "stock"}}).value(), 99u);
  // A write creates it, and reads see it from then on.
  auto set = ask<stock_view>("ghost", atom::set_v, stock_set_cmd{3, ""});
  ASSERT_TRUE(set) << render(set.error());
  auto g = ask<stock_view>("ghost", atom::get_v);
  ASSERT_TRUE(g) << render(g.error());
  EXPECT_EQ(g->on_hand, 3);
  EXPECT_EQ(live(), 1u);
}

TEST_F(StockRegionWithReads, AWriteRoutedBeforeTheReadsAnswerKeepsTheEntity) {
  auto read = send<stock_view>("k", atom::get_v);
  auto write = send<stock_view>("k", atom::set_v, stock_set_cmd{2, ""});
  sched.run();
  ASSERT_TRUE(*write) << render(write->error());
  EXPECT_FALSE(*read);
  EXPECT_EQ(live(), 1u) << "the set came after the read: k exists";
  auto g = ask<stock_view>("k", atom::get_v);
  ASSERT_TRUE(g) << render(g.error());
  EXPECT_EQ(g->on_hand, 2);
}

TEST_F(StockRegionWithReads, AnAbsentKeyIsForgottenAfterItsTtlAndOnAHandover) {
  EXPECT_FALSE((ask<stock_view>("gone", atom::get_v)));
  EXPECT_FALSE((ask<stock_view>("gone", atom::get_v)));
  EXPECT_EQ(db->loads["stock"], 1u);
  sched.advance_time(61s);
  EXPECT_FALSE((ask<stock_view>("gone", atom::get_v)));
  EXPECT_EQ(db->loads["stock"], 2u) << "read again after the ttl";
  // Another node may create the key while its shard is away: a release forgets every key.
  auto released = std::make_shared<caf::expected<std::vector<int32_t>>>(caf::sec::request_timeout);
  sys.spawn([released, region = region](caf::event_based_actor* self) {
    self->request(region, 60s, atom::release_v, std::vector<int32_t>{0}, int32_t{1})
      .then([released](std::vector<int32_t> v) { *released = std::move(v); },
            [released](caf::error& e) { *released = std::move(e); });
  });
  sched.run();
  sched.advance_time(20ms); // the region checks its handovers on a timer
  sched.run();
  ASSERT_TRUE(*released) << render(released->error());
  EXPECT_FALSE((ask<stock_view>("gone", atom::get_v)));
  EXPECT_EQ(db->loads["stock"], 3u);
}
