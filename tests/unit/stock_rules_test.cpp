#include "actors/stock/stock_rules.hpp"

#include "actors/protocol/errors.hpp"

#include <gtest/gtest.h>

using namespace mercato;
using namespace mercato::stock;

namespace {

constexpr int64_t t0 = 1'700'000'000'000;

// Decides and applies as the actor does once everything is durable.
void run(state& s, const decision& d) {
  ASSERT_TRUE(d) << render(d.error());
  for (const auto& e : *d)
    apply(s, e);
}

state with_on_hand(int64_t n) {
  state s;
  run(s, decide_set(s, n, t0));
  return s;
}

mercato_errc code(const decision& d) {
  return d ? mercato_errc::none : errc_of(d.error());
}

} // namespace

TEST(StockRules, SetCreatesTheItem) {
  auto s = with_on_hand(10);
  EXPECT_TRUE(s.exists);
  EXPECT_EQ(s.on_hand, 10);
  EXPECT_EQ(s.available(), 10);
}

TEST(StockRules, ReserveHoldsUnits) {
  auto s = with_on_hand(10);
  run(s, decide_reserve(s, "r1", 3, 60000, t0));
  EXPECT_EQ(s.reserved, 3);
  EXPECT_EQ(s.available(), 7);
  EXPECT_EQ(s.holds.at("r1").expires_at_ms, t0 + 60000);
}

TEST(StockRules, ReserveIsIdempotentPerReservationId) {
  auto s = with_on_hand(10);
  run(s, decide_reserve(s, "r1", 3, 60000, t0));
  auto again = decide_reserve(s, "r1", 3, 60000, t0 + 5);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(s.reserved, 3);
}

TEST(StockRules, ReserveWithSameIdAndOtherQuantityConflicts) {
  auto s = with_on_hand(10);
  run(s, decide_reserve(s, "r1", 3, 60000, t0));
  EXPECT_EQ(code(decide_reserve(s, "r1", 4, 60000, t0)), mercato_errc::conflict);
}

TEST(StockRules, ReserveBeyondAvailableIsInsufficientStock) {
  auto s = with_on_hand(5);
  run(s, decide_reserve(s, "r1", 4, 60000, t0));
  EXPECT_EQ(code(decide_reserve(s, "r2", 2, 60000, t0)), mercato_errc::insufficient_stock);
  EXPECT_EQ(s.available(), 1);
}

TEST(StockRules, ReserveRejectsNonPositiveQuantities) {
  auto s = with_on_hand(5);
  EXPECT_EQ(code(decide_reserve(s, "r1", 0, 60000, t0)), mercato_errc::invalid_request);
  EXPECT_EQ(code(decide_reserve(s, "r1", -1, 60000, t0)), mercato_errc::invalid_request);
  EXPECT_EQ(code(decide_reserve(s, "", 1, 60000, t0)), mercato_errc::invalid_request);
}

TEST(StockRules, UnknownItemIsNotFound) {
  state s;
  EXPECT_EQ(code(decide_reserve(s, "r1", 1, 60000, t0)), mercato_errc::not_found);
  EXPECT_EQ(code(decide_adjust(s, 1, "count", t0)), mercato_errc::not_found);
}

TEST(StockRules, AbsurdQuantitiesAreRejectedWithoutOverflow) {
  auto s = with_on_hand(max_on_hand);
  EXPECT_EQ(code(decide_set(s, max_on_hand + 1, t0)), mercato_errc::invalid_request);
  EXPECT_EQ(code(decide_set(s, -1, t0)), mercato_errc::invalid_request);
  EXPECT_EQ(code(decide_adjust(s, std::numeric_limits<int64_t>::max(), "x", t0)),
            mercato_errc::invalid_request);
  EXPECT_EQ(code(decide_adjust(s, std::numeric_limits<int64_t>::min(), "x", t0)),
            mercato_errc::invalid_request);
  EXPECT_EQ(code(decide_adjust(s, 1, "x", t0)), mercato_errc::conflict);
  EXPECT_EQ(code(decide_reserve(s, "r", std::numeric_limits<int64_t>::max(), 1000, t0)),
            mercato_errc::invalid_request);
  EXPECT_EQ(s.on_hand, max_on_hand);
}

TEST(StockRules, CommitTurnsHoldIntoSale) {
  auto s = with_on_hand(10);
  run(s, decide_reserve(s, "r1", 3, 60000, t0));
  run(s, decide_commit(s, "r1", t0 + 1));
  EXPECT_EQ(s.on_hand, 7);
  EXPECT_EQ(s.reserved, 0);
  EXPECT_EQ(s.available(), 7);
  auto again = decide_commit(s, "r1", t0 + 2);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty()) << "a retried commit changes nothing";
}

TEST(StockRules, CommitOrReleaseOfUnknownHoldIsNotFound) {
  auto s = with_on_hand(10);
  EXPECT_EQ(code(decide_commit(s, "nope", t0)), mercato_errc::not_found);
  EXPECT_EQ(code(decide_release(s, "nope", t0)), mercato_errc::not_found);
}

TEST(StockRules, CommitOfExpiredHoldConflicts) {
  auto s = with_on_hand(10);
  run(s, decide_reserve(s, "r1", 3, 1000, t0));
  EXPECT_EQ(code(decide_commit(s, "r1", t0 + 1000)), mercato_errc::conflict)
    << "due but not yet expired by the timer";
  auto ex = decide_expire(s, "r1", t0 + 1000);
  ASSERT_EQ(ex.size(), 1u);
  apply(s, ex.front());
  EXPECT_EQ(s.reserved, 0);
  EXPECT_EQ(code(decide_commit(s, "r1", t0 + 2000)), mercato_errc::conflict);
  auto rel = decide_release(s, "r1", t0 + 2000);
  ASSERT_TRUE(rel);
  EXPECT_TRUE(rel->empty()) << "releasing an expired hold is already satisfied";
}

// The checkout settling an order it placed: the units go to the order if they still can.
TEST(StockRules, LateSaleSellsAHoldPastItsTime) {
  auto s = with_on_hand(10);
  run(s, decide_reserve(s, "r1", 3, 1000, t0));
  run(s, decide_commit(s, "r1", t0 + 5000, true));
  EXPECT_EQ(s.on_hand, 7);
  EXPECT_EQ(s.reserved, 0);
  EXPECT_TRUE(decide_expire(s, "r1", t0 + 6000).empty()) << "a sold hold never expires";
}

TEST(StockRules, LateSaleSellsAnExpiredHoldWhileItsUnitsAreAvailable) {
  auto s = with_on_hand(10);
  run(s, decide_reserve(s, "r1", 3, 1000, t0));
  apply(s, decide_expire(s, "r1", t0 + 1000).at(0));
  ASSERT_EQ(s.available(), 10);
  run(s, decide_commit(s, "r1", t0 + 2000, true));
  EXPECT_EQ(s.on_hand, 7);
  EXPECT_EQ(s.available(), 7);
  auto again = decide_commit(s, "r1", t0 + 3000, true);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty()) << "a retried late sale sells nothing twice";
  EXPECT_EQ(code(decide_release(s, "r1", t0 + 3000)), mercato_errc::conflict)
    << "a late sale is a sale: releasing it is refused";

  // Recovery folds the same events into the same state.
  state replayed;
  apply(replayed, decide_set(replayed, 10, t0)->at(0));
  stock_event reserved{};
  reserved.type = stock_event_type::reserved;
  reserved.reservation_id = "r1";
  reserved.qty = 3;
  reserved.expires_at_ms = t0 + 1000;
  apply(replayed, reserved);
  auto expired = reserved;
  expired.type = stock_event_type::expired;
  apply(replayed, expired);
  auto sold = expired;
  sold.type = stock_event_type::committed;
  apply(replayed, sold);
  EXPECT_EQ(replayed.on_hand, s.on_hand);
  EXPECT_EQ(replayed.reserved, s.reserved);
}

TEST(StockRules, LateSaleOfAnExpiredHoldWhoseUnitsWereSoldIsShort) {
  auto s = with_on_hand(5);
  run(s, decide_reserve(s, "r1", 3, 1000, t0));
  apply(s, decide_expire(s, "r1", t0 + 1000).at(0));
  run(s, decide_reserve(s, "other", 4, 60000, t0 + 1500));
  EXPECT_EQ(code(decide_commit(s, "r1", t0 + 2000, true)), mercato_errc::insufficient_stock);
  EXPECT_EQ(s.on_hand, 5) << "nothing oversold";
  EXPECT_EQ(s.reserved, 4);
}

TEST(StockRules, LateSaleNeverSellsAReleasedHoldAndWaitsForAPendingOne) {
  auto s = with_on_hand(10);
  run(s, decide_reserve(s, "r1", 3, 60000, t0));
  auto rel = decide_release(s, "r1", t0 + 1);
  ASSERT_TRUE(rel);
  auto decided = s;
  for (const auto& e : *rel)
    apply_decided(decided, e);
  EXPECT_EQ(code(decide_commit(decided, "r1", t0 + 2, true)), mercato_errc::entity_unavailable)
    << "its units are about to be freed: retry";
  for (const auto& e : *rel)
    apply(s, e);
  EXPECT_EQ(code(decide_commit(s, "r1", t0 + 3, true)), mercato_errc::conflict)
    << "given back on purpose (a cancelled order): never sold again";
}

TEST(StockRules, ReleaseReturnsUnitsAndCommitAfterReleaseConflicts) {
  auto s = with_on_hand(10);
  run(s, decide_reserve(s, "r1", 4, 60000, t0));
  run(s, decide_release(s, "r1", t0 + 1));
  EXPECT_EQ(s.available(), 10);
  EXPECT_EQ(code(decide_commit(s, "r1", t0 + 2)), mercato_errc::conflict);
  EXPECT_EQ(code(decide_reserve(s, "r1", 4, 60000, t0 + 3)), mercato_errc::conflict)
    << "a closed reservation id is not reused";
}

TEST(StockRules, ReleaseOfCommittedHoldConflicts) {
  auto s = with_on_hand(10);
  run(s, decide_reserve(s, "r1", 4, 60000, t0));
  run(s, decide_commit(s, "r1", t0 + 1));
  EXPECT_EQ(code(decide_release(s, "r1", t0 + 2)), mercato_errc::conflict);
}

TEST(StockRules, ExpiryWaitsForItsTime) {
  auto s = with_on_hand(10);
  run(s, decide_reserve(s, "r1", 2, 1000, t0));
  EXPECT_TRUE(decide_expire(s, "r1", t0 + 999).empty());
  EXPECT_EQ(decide_expire(s, "r1", t0 + 1000).size(), 1u);
  EXPECT_TRUE(decide_expire(s, "other", t0 + 5000).empty());
}

TEST(StockRules, OnHandCannotFallBelowHeldUnits) {
  auto s = with_on_hand(10);
  run(s, decide_reserve(s, "r1", 6, 60000, t0));
  EXPECT_EQ(code(decide_set(s, 5, t0)), mercato_errc::conflict);
  EXPECT_EQ(code(decide_adjust(s, -5, "shrinkage", t0)), mercato_errc::conflict);
  run(s, decide_adjust(s, -4, "shrinkage", t0));
  EXPECT_EQ(s.available(), 0);
}

// Pipelining: pending decisions are judged conservatively.
TEST(StockRules, PendingReservationCountsAtOnce) {
  auto decided = with_on_hand(2);
  auto d1 = decide_reserve(decided, "a", 2, 60000, t0);
  ASSERT_TRUE(d1);
  for (const auto& e : *d1)
    apply_decided(decided, e);
  EXPECT_EQ(code(decide_reserve(decided, "b", 1, 60000, t0)), mercato_errc::insufficient_stock);
}

TEST(StockRules, PendingReleaseFreesOnlyOnceDurable) {
  auto decided = with_on_hand(2);
  run(decided, decide_reserve(decided, "a", 2, 60000, t0));
  auto rel = decide_release(decided, "a", t0 + 1);
  ASSERT_TRUE(rel);
  for (const auto& e : *rel)
    apply_decided(decided, e);
  EXPECT_EQ(code(decide_reserve(decided, "b", 1, 60000, t0)), mercato_errc::insufficient_stock)
    << "a release that is not yet durable must not be sold again";
  EXPECT_EQ(code(decide_commit(decided, "a", t0 + 2)), mercato_errc::conflict);
  for (const auto& e : *rel)
    apply_durable_to_decided(decided, e);
  EXPECT_TRUE(decide_reserve(decided, "b", 2, 60000, t0 + 3));
}

TEST(StockRules, PendingIncreaseFreesOnlyOnceDurable) {
  auto decided = with_on_hand(0);
  auto up = decide_adjust(decided, 5, "delivery", t0);
  ASSERT_TRUE(up);
  for (const auto& e : *up)
    apply_decided(decided, e);
  EXPECT_EQ(code(decide_reserve(decided, "a", 1, 60000, t0)), mercato_errc::insufficient_stock);
  auto set = decide_set(decided, 8, t0);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->front().delta, 3) << "set is relative to on_hand once all pending is durable";
  for (const auto& e : *up)
    apply_durable_to_decided(decided, e);
  EXPECT_EQ(decided.available(), 5);
}

TEST(StockRules, AvailableNeverNegativeUnderAnySequence) {
  // Every interleaving the rules allow keeps 0 <= available and reserved == sum of holds.
  auto s = with_on_hand(7);
  int64_t now = t0;
  for (int i = 0; i < 500; ++i) {
    auto id = "r" + std::to_string(i % 37);
    switch (i % 5) {
    case 0:
    case 1:
      if (auto d = decide_reserve(s, id, 1 + i % 3, 50, now); d)
        run(s, d);
      break;
    case 2:
      if (auto d = decide_commit(s, id, now); d)
        run(s, d);
      break;
    case 3:
      if (auto d = decide_release(s, id, now); d)
        run(s, d);
      break;
    case 4:
      for (const auto& [hid, h] : std::unordered_map<std::string, hold>(s.holds))
        for (const auto& e : decide_expire(s, hid, now))
          apply(s, e);
      if (i % 50 == 4)
        run(s, decide_adjust(s, 3, "restock", now));
      break;
    }
    now += 7;
    int64_t held = 0;
    for (const auto& [hid, h] : s.holds)
      held += h.qty;
    ASSERT_EQ(held, s.reserved);
    ASSERT_GE(s.available(), 0);
    ASSERT_GE(s.on_hand, 0);
  }
}

TEST(StockRules, SnapshotRoundTripKeepsHoldsAndClosedIds) {
  auto s = with_on_hand(10);
  run(s, decide_reserve(s, "a", 2, 60000, t0));
  run(s, decide_reserve(s, "b", 3, 60000, t0));
  run(s, decide_commit(s, "b", t0));
  auto back = from_snapshot(to_snapshot(s, s.closed));
  EXPECT_EQ(back.on_hand, 7);
  EXPECT_EQ(back.reserved, 2);
  EXPECT_EQ(back.holds.at("a").qty, 2);
  auto again = decide_commit(back, "b", t0);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
}

TEST(StockRules, ClosedIdsAreBounded) {
  auto s = with_on_hand(max_on_hand);
  for (size_t i = 0; i < max_closed_holds + 10; ++i) {
    auto id = "r" + std::to_string(i);
    run(s, decide_reserve(s, id, 1, 60000, t0));
    run(s, decide_release(s, id, t0));
  }
  EXPECT_EQ(s.closed.size(), max_closed_holds);
  EXPECT_EQ(s.closed.find("r9"), nullptr) << "the oldest are forgotten first";
  ASSERT_NE(s.closed.find("r10"), nullptr);
  EXPECT_EQ(s.closed.find("r10")->outcome, stock_event_type::released);
  EXPECT_EQ(s.reserved, 0);
}

TEST(StockRules, AClosedHoldClosedAgainCountsAsTheNewestAndCopiesKeepTheOrder) {
  closed_holds c;
  c.add("a", stock_event_type::expired, 2);
  c.add("b", stock_event_type::released, 1);
  c.add("a", stock_event_type::committed, 2); // a late sale of the expired hold
  auto order = [](const closed_holds& h) {
    std::string ids;
    h.for_each([&](const std::string& id, const closed_holds::entry&) { ids += id; });
    return ids;
  };
  EXPECT_EQ(order(c), "ba");
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.find("a")->outcome, stock_event_type::committed);
  for (size_t i = 0; i + 1 < max_closed_holds; ++i)
    c.add("x" + std::to_string(i), stock_event_type::released, 1);
  EXPECT_EQ(c.find("b"), nullptr) << "b was older than a's newest close";
  ASSERT_NE(c.find("a"), nullptr);
  closed_holds copy = c;
  c.clear();
  EXPECT_EQ(copy.size(), max_closed_holds);
  EXPECT_EQ(order(copy).substr(0, 3), "ax0");
  copy.add("y", stock_event_type::released, 1);
  EXPECT_EQ(copy.find("a"), nullptr) << "the copy forgets in the same order";
  EXPECT_NE(copy.find("x0"), nullptr);
}

TEST(StockRules, OnlyTheDecidedStateRemembersClosedHoldsAfterRecovery) {
  auto recovered = with_on_hand(10);
  run(recovered, decide_reserve(recovered, "a", 2, 60000, t0));
  run(recovered, decide_commit(recovered, "a", t0));
  state decided;
  split_recovered(recovered, decided);
  EXPECT_TRUE(recovered.closed.empty());
  ASSERT_NE(decided.closed.find("a"), nullptr);
  EXPECT_EQ(decided.on_hand, 8);
  // A sale decided and then durable is remembered once, by the decided state.
  auto d = decide_reserve(decided, "b", 1, 60000, t0);
  ASSERT_TRUE(d);
  for (const auto& e : *d) {
    apply_decided(decided, e);
    apply(recovered, e);
    apply_durable_to_decided(decided, e);
  }
  auto sale = decide_commit(decided, "b", t0);
  ASSERT_TRUE(sale);
  for (const auto& e : *sale) {
    apply_decided(decided, e);
    apply(recovered, e);
    apply_durable_to_decided(decided, e);
  }
  EXPECT_TRUE(recovered.closed.empty());
  EXPECT_EQ(decided.closed.size(), 2u);
  EXPECT_EQ(recovered.on_hand, 7);
}

TEST(StockRules, ASnapshotCountsTheReleasesInFlightAsClosed) {
  auto s = with_on_hand(10);
  run(s, decide_reserve(s, "a", 2, 60000, t0));
  run(s, decide_reserve(s, "b", 3, 60000, t0));
  run(s, decide_commit(s, "a", t0));
  // "b" is being released: durable once its event is, so the closed holds do not show it yet.
  auto release = decide_release(s, "b", t0);
  ASSERT_TRUE(release);
  ASSERT_EQ(release->size(), 1u);
  auto at_seq = s;
  apply(at_seq, release->front());
  closed_holds without_b = s.closed;
  auto snap = to_snapshot(at_seq, without_b, {&release->front()});
  ASSERT_EQ(snap.closed.size(), 2u);
  EXPECT_EQ(snap.closed[0].reservation_id, "a");
  EXPECT_EQ(snap.closed[1].reservation_id, "b");
  EXPECT_EQ(snap.closed[1].outcome, stock_event_type::released);
  auto back = from_snapshot(snap);
  EXPECT_EQ(back.reserved, 0);
  EXPECT_EQ(back.on_hand, 8);
  auto retry = decide_release(back, "b", t0);
  ASSERT_TRUE(retry);
  EXPECT_TRUE(retry->empty()) << "a released hold's release is answered again";
}
