// The order actor's delay timer under CAF's deterministic scheduler and virtual clock: armed
// after each change and after recovery, stale timers ignored, a wake-up (atom::resume) checking
// at once. The wall clock the rules see is the virtual clock plus `wall_ahead`, so a test can
// move it alone.

#include "actors/order/order_actor.hpp"

#include "actors/protocol/errors.hpp"
#include "runtime/shard_region.hpp"
#include "tests/support/entity_fixture.hpp"

#include <caf/all.hpp>

#include <gtest/gtest.h>

using namespace mercato;
using namespace std::chrono_literals;

namespace {

class OrderActor : public test::entity_fixture {
protected:
  OrderActor() {
    order_settings cfg;
    cfg.env.journal = journal;
    cfg.env.recovery = recovery;
    cfg.env.now_ms = [this] { return virtual_now_ms() + wall_ahead; };
    cfg.delays.expected_ms = {{"paid", 1000}, {"confirmed", 5000}};
    cfg.delays.soon_window_ms = 0;
    runtime::region_settings rs;
    rs.kind = "order";
    rs.passivate_after = 3600s;
    region = runtime::spawn_region(sys, rs, make_order_spawner(cfg), &metrics);
    sched.run();
  }

  template <class... Ts>
  void tell(const std::string& id, Ts... xs) {
    caf::anon_send(region, atom::route_v, id, caf::make_message(xs...));
    sched.run();
  }

  caf::expected<order_view> place(const std::string& id) {
    return ask<order_view>(id, atom::place_v, placement(id));
  }

  static order_placement placement(const std::string& id) {
    order_placement p;
    p.order_id = id;
    p.customer_id = "ada";
    p.checkout_id = "co_" + id;
    p.lines.push_back(cart_line{"a", "A", 1, 100});
    return p;
  }

  /// Asks the region to stop order `id`; true once it agreed.
  bool passivate(const std::string& id) {
    auto passivated = std::make_shared<caf::expected<bool>>(caf::sec::request_timeout);
    sys.spawn([passivated, region = region, id](caf::event_based_actor* self) {
      self->request(region, 60s, atom::passivate_v, id)
        .then([passivated](bool b) { *passivated = b; },
              [passivated](caf::error& e) { *passivated = std::move(e); });
    });
    sched.run();
    return *passivated && **passivated;
  }

  // The timeline types Mercato recorded itself for order `id`, as journaled.
  std::vector<std::string> own_entries(const std::string& id) {
    std::vector<std::string> out;
    for (const auto& msg : db->entities[{"order", id}].events) {
      const auto& e = msg.get_as<order_event>(0);
      if (e.type == "fact_recorded" && e.fact.source == order::own_source)
        out.push_back(e.fact.external_id);
    }
    return out;
  }

  void advance(std::chrono::milliseconds d) {
    sched.advance_time(d);
    sched.run();
  }

  int64_t wall_ahead = 0;
};

caller admin() {
  return caller{"ops", true, ""};
}

} // namespace

TEST_F(OrderActor, RecordsADelayWarningOnItsOwnTimer) {
  ASSERT_TRUE(place("o1"));
  advance(999ms);
  EXPECT_TRUE(own_entries("o1").empty());
  advance(1ms);
  EXPECT_EQ(own_entries("o1"), (std::vector<std::string>{"delay_warning:paid"}));
  auto v = ask<order_view>("o1", atom::get_v, admin());
  ASSERT_TRUE(v) << render(v.error());
  EXPECT_EQ(v->order.status, "paid");
  ASSERT_EQ(v->order.timeline.size(), 1u);
  EXPECT_EQ(v->order.timeline.front().type, "delay_warning");
  // Nothing more is due in this status, however long it stays.
  advance(60s);
  EXPECT_EQ(own_entries("o1").size(), 1u);
}

TEST_F(OrderActor, AChangeRearmsTheTimerForTheNewStatus) {
  ASSERT_TRUE(place("o1"));
  advance(500ms);
  ASSERT_TRUE(ask<order_view>("o1", atom::advance_v, order_status_cmd{admin(), "confirmed", ""}));
  advance(1000ms); // the timer set for paid fires, finds nothing due
  EXPECT_TRUE(own_entries("o1").empty());
  advance(3999ms);
  EXPECT_TRUE(own_entries("o1").empty());
  advance(1ms);
  EXPECT_EQ(own_entries("o1"), (std::vector<std::string>{"delay_warning:confirmed"}));
}

TEST_F(OrderActor, IgnoresAStaleTimerButChecksWhenWoken) {
  ASSERT_TRUE(place("o1"));
  wall_ahead = 2000; // past the deadline by the wall clock, before the timer fires
  tell("o1", atom::check_v, int64_t{42});
  EXPECT_TRUE(own_entries("o1").empty()) << "a timer the order did not set is ignored";
  tell("o1", atom::resume_v);
  EXPECT_EQ(own_entries("o1"), (std::vector<std::string>{"delay_warning:paid"}));
  advance(1000ms); // the real timer finds it done
  EXPECT_EQ(own_entries("o1").size(), 1u);
}

TEST_F(OrderActor, ArmsItsTimerAgainAfterRecovery) {
  ASSERT_TRUE(place("o1"));
  ASSERT_TRUE(passivate("o1")) << "the order stops although its timer is pending";
  advance(500ms);
  // Woken by a read: recovery arms the timer of the new incarnation.
  ASSERT_TRUE(ask<order_view>("o1", atom::get_v, admin()));
  EXPECT_TRUE(own_entries("o1").empty());
  advance(500ms);
  EXPECT_EQ(own_entries("o1"), (std::vector<std::string>{"delay_warning:paid"}));
}

TEST_F(OrderActor, RecoveryRecordsWhatFellDueWhileStopped) {
  ASSERT_TRUE(place("o1"));
  caf::anon_send_exit(region, caf::exit_reason::user_shutdown);
  sched.run();
  runtime::region_settings rs;
  rs.kind = "order";
  rs.passivate_after = 3600s;
  order_settings cfg;
  cfg.env.journal = journal;
  cfg.env.recovery = recovery;
  cfg.env.now_ms = [this] { return epoch_ms + wall_ahead; };
  cfg.delays.expected_ms = {{"paid", 1000}};
  region = runtime::spawn_region(sys, rs, make_order_spawner(cfg), &metrics);
  sched.run();
  wall_ahead = 5000;
  tell("o1", atom::resume_v); // what the sweeper sends
  EXPECT_EQ(own_entries("o1"), (std::vector<std::string>{"delay_warning:paid"}));
}

// An order id the checkout has just minted starts without a recovery query.
TEST_F(OrderActor, ANewlyMintedOrderStartsWithoutRecovery) {
  auto v = ask_new<order_view>("o-new", atom::place_v, placement("o-new"));
  ASSERT_TRUE(v) << render(v.error());
  EXPECT_EQ(v->order.status, "paid");
  EXPECT_EQ(db->loads["order"], 0u);
  EXPECT_EQ(db->event_count("order", "o-new"), 1u);
  // Restarts always recover.
  ASSERT_TRUE(passivate("o-new"));
  ASSERT_TRUE(ask<order_view>("o-new", atom::get_v, admin()));
  EXPECT_EQ(db->loads["order"], 1u);
}

// Taken for new but already journaled: the first append hits the fence (seq 1 is taken), the
// caller is told to retry, and the restarted order is the journaled one, placed once.
TEST_F(OrderActor, AnIdWronglyTakenForNewIsFencedByTheJournal) {
  ASSERT_TRUE(place("o1"));
  ASSERT_TRUE(passivate("o1"));
  auto again = ask_new<order_view>("o1", atom::place_v, placement("o1"));
  ASSERT_FALSE(again);
  EXPECT_EQ(errc_of(again.error()), mercato_errc::entity_unavailable) << render(again.error());
  EXPECT_EQ(db->event_count("order", "o1"), 1u) << "placed once";
  advance(100ms); // the region's restart backoff
  auto retried = ask<order_view>("o1", atom::place_v, placement("o1"));
  ASSERT_TRUE(retried) << render(retried.error());
  EXPECT_EQ(retried->version, 1u);
  EXPECT_EQ(db->event_count("order", "o1"), 1u);
}

TEST_F(OrderActor, ImportsAMarketplaceOrderOnceAndTakesOnlyLaterVersions) {
  imported_order o;
  o.platform = sales_platform::shopee;
  o.order_code = "241201ABCD1234";
  o.order_id = "shopee-241201ABCD1234";
  o.currency = "MYR";
  o.final_minor = 9380;
  o.updated_at_ms = 1000;
  const auto id = o.order_id;
  EXPECT_EQ(ask<import_outcome>(id, atom::upsert_v, o), import_outcome::imported);
  EXPECT_EQ(ask<import_outcome>(id, atom::upsert_v, o), import_outcome::unchanged);
  auto older = o;
  older.updated_at_ms = 500;
  older.status = imported_status::completed;
  EXPECT_EQ(ask<import_outcome>(id, atom::upsert_v, older), import_outcome::unchanged);
  auto later = o;
  later.updated_at_ms = 2000;
  later.status = imported_status::cancelled;
  EXPECT_EQ(ask<import_outcome>(id, atom::upsert_v, later), import_outcome::updated);
  auto events = [&] { return db->entities[{"order", id}].events.size(); };
  ASSERT_EQ(events(), 2u);
  // A cancelled marketplace order returns no stock or payment, and nobody waits for it.
  advance(60s);
  EXPECT_EQ(events(), 2u);
  auto v = ask<order_view>(id, atom::get_v, caller{"ops", true, ""});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->order.status, "cancelled");
  EXPECT_EQ(v->version, 2u);
}
