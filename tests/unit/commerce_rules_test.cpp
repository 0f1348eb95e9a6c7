// The pure rules of coupons, carts, orders and checkout records, without an actor system.

#include "actors/cart/cart_rules.hpp"
#include "actors/checkout/checkout_rules.hpp"
#include "actors/coupon/coupon_rules.hpp"
#include "actors/order/order_rules.hpp"
#include "actors/protocol/errors.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace {

using namespace mercato;

template <class Events, class State>
void apply_all(State& s, const Events& events) {
  for (const auto& e : events)
    apply(s, e);
}

// -- coupons ------------------------------------------------------------------------------------

coupon_terms percent(int64_t value, int64_t usage_limit = 0, int64_t per_customer = 0) {
  coupon_terms t;
  t.code = "C";
  t.kind = "percent";
  t.value = value;
  t.usage_limit = usage_limit;
  t.per_customer_limit = per_customer;
  return t;
}

coupon::state defined(const coupon_terms& t) {
  coupon::state s;
  auto d = coupon::decide_define(s, t, 1);
  EXPECT_TRUE(d);
  apply_all(s, *d);
  return s;
}

coupon_use_cmd use(const std::string& id, const std::string& customer, int64_t subtotal = 1000) {
  return coupon_use_cmd{id, customer, subtotal, ""};
}

TEST(CouponRules, ValidatesTerms) {
  EXPECT_EQ(coupon::validate(percent(10)), "");
  EXPECT_NE(coupon::validate(percent(0)), "");
  EXPECT_NE(coupon::validate(percent(101)), "");
  auto t = percent(10);
  t.kind = "bogus";
  EXPECT_NE(coupon::validate(t), "");
  t = percent(10);
  t.starts_at_ms = 10;
  t.ends_at_ms = 5;
  EXPECT_NE(coupon::validate(t), "");
}

TEST(CouponRules, DiscountNeverExceedsTheSubtotal) {
  EXPECT_EQ(coupon::discount_of(percent(10), 1999), 199);
  coupon_terms fixed = percent(10);
  fixed.kind = "fixed";
  fixed.value = 5000;
  EXPECT_EQ(coupon::discount_of(fixed, 1200), 1200);
  EXPECT_EQ(coupon::discount_of(fixed, 0), 0);
}

TEST(CouponRules, HeldUsesCountAgainstTheLimitAtOnce) {
  auto s = defined(percent(10, 2));
  for (auto id : {"a", "b"}) {
    auto d = coupon::decide_reserve(s, use(id, std::string{"cust-"} + id), 1);
    ASSERT_TRUE(d);
    apply_all(s, *d);
  }
  auto third = coupon::decide_reserve(s, use("c", "cust-c"), 1);
  ASSERT_FALSE(third);
  EXPECT_EQ(errc_of(third.error()), mercato_errc::conflict);
  // A released use frees its slot; a committed one never does.
  apply_all(s, *coupon::decide_release(s, use("a", "cust-a"), 1));
  apply_all(s, *coupon::decide_commit(s, use("b", "cust-b"), 1));
  EXPECT_TRUE(coupon::decide_reserve(s, use("c", "cust-c"), 1));
  auto spent = coupon::decide_release(s, use("b", "cust-b"), 1);
  ASSERT_FALSE(spent);
  EXPECT_EQ(errc_of(spent.error()), mercato_errc::conflict);
  EXPECT_EQ(coupon::to_view(s, 0).used, 1);
}

TEST(CouponRules, ReserveIsIdempotentAndPerCustomerLimited) {
  auto s = defined(percent(10, 0, 1));
  apply_all(s, *coupon::decide_reserve(s, use("a", "ada"), 1));
  auto again = coupon::decide_reserve(s, use("a", "ada"), 1);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  auto second = coupon::decide_reserve(s, use("b", "ada"), 1);
  ASSERT_FALSE(second);
  EXPECT_EQ(errc_of(second.error()), mercato_errc::conflict);
  EXPECT_TRUE(coupon::decide_reserve(s, use("c", "bob"), 1));
  // Releasing an unknown use is harmless (compensation does not know what ran).
  auto unknown = coupon::decide_release(s, use("zzz", "ada"), 1);
  ASSERT_TRUE(unknown);
  EXPECT_TRUE(unknown->empty());
}

TEST(CouponRules, ValidityWindowAndMinimumSubtotal) {
  auto t = percent(10);
  t.starts_at_ms = 100;
  t.ends_at_ms = 200;
  t.min_subtotal_minor = 500;
  auto s = defined(t);
  EXPECT_FALSE(coupon::check(s, "ada", 1000, 50));
  EXPECT_FALSE(coupon::check(s, "ada", 1000, 200));
  EXPECT_FALSE(coupon::check(s, "ada", 499, 150));
  auto ok = coupon::check(s, "ada", 1000, 150);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 100);
}

TEST(CouponRules, SnapshotRoundTripKeepsCounts) {
  auto s = defined(percent(10, 5, 2));
  apply_all(s, *coupon::decide_reserve(s, use("a", "ada"), 1));
  apply_all(s, *coupon::decide_reserve(s, use("b", "ada"), 1));
  apply_all(s, *coupon::decide_commit(s, use("a", "ada"), 1));
  auto back = from_snapshot(coupon::to_snapshot(s));
  EXPECT_EQ(back.held, 1);
  EXPECT_EQ(back.committed, 1);
  EXPECT_EQ(back.per_customer.at("ada"), 2);
  EXPECT_FALSE(coupon::decide_reserve(back, use("c", "ada"), 1));
}

// -- carts --------------------------------------------------------------------------------------

product item(const std::string& sku, int64_t price, const std::string& currency = "USD") {
  product p;
  p.sku = sku;
  p.name = "Item " + sku;
  p.price_minor = price;
  p.currency = currency;
  return p;
}

caller ada() {
  return caller{"ada", false, ""};
}

cart::state new_cart() {
  cart::state s;
  apply_all(s, *cart::decide_create(s, ada(), "USD", 1000));
  return s;
}

TEST(CartRules, LinesTotalsAndCoupon) {
  auto s = new_cart();
  apply_all(s, *cart::decide_set_line(s, item("a", 1000), 2, 10, 1001));
  apply_all(s, *cart::decide_set_line(s, item("b", 250), 3, 10, 1002));
  apply_all(s, *cart::decide_set_line(s, item("a", 1000), 1, 10, 1003)); // replaces
  cart::policy p{86400000, 499};
  auto t = cart::totals_of(s, p);
  EXPECT_EQ(t.subtotal_minor, 1750);
  EXPECT_EQ(t.shipping_minor, 499);
  apply_all(s, *cart::decide_coupon(s, percent(10), 1004));
  t = cart::totals_of(s, p);
  EXPECT_EQ(t.discount_minor, 175);
  EXPECT_EQ(t.total_minor, 1750 - 175 + 499);
  apply_all(s, *cart::decide_set_line(s, item("b", 250), 0, 10, 1005)); // 0 removes
  EXPECT_EQ(s.lines.size(), 1u);
}

TEST(CartRules, RefusesWhatCannotBeBought) {
  auto s = new_cart();
  auto too_many = cart::decide_set_line(s, item("a", 1000), 11, 10, 1001);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(errc_of(too_many.error()), mercato_errc::insufficient_stock);
  auto currency = cart::decide_set_line(s, item("a", 1000, "EUR"), 1, 10, 1001);
  ASSERT_FALSE(currency);
  EXPECT_EQ(errc_of(currency.error()), mercato_errc::conflict);
  auto negative = cart::decide_set_line(s, item("a", 1000), -1, 10, 1001);
  ASSERT_FALSE(negative);
  EXPECT_EQ(errc_of(negative.error()), mercato_errc::invalid_request);
}

TEST(CartRules, OwnerOnlyAndIdleExpiry) {
  auto s = new_cart();
  cart::policy p{1000, 0};
  EXPECT_FALSE(cart::check_access(s, ada(), p, 1500));
  EXPECT_EQ(errc_of(cart::check_access(s, caller{"eve", false, ""}, p, 1500)),
            mercato_errc::not_found);
  EXPECT_FALSE(cart::check_access(s, caller{"root", true, ""}, p, 1500));
  EXPECT_EQ(errc_of(cart::check_access(s, ada(), p, 2000)), mercato_errc::cart_expired);
  // Activity pushes the expiry.
  apply_all(s, *cart::decide_set_line(s, item("a", 1), 1, 5, 1900));
  EXPECT_FALSE(cart::check_access(s, ada(), p, 2000));
}

TEST(CartRules, CheckedOutCartIsClosed) {
  auto s = new_cart();
  apply_all(s, *cart::decide_set_line(s, item("a", 1), 1, 5, 1001));
  apply_all(s, *cart::decide_checkout(s, "co_1", 1002));
  EXPECT_TRUE(cart::decide_checkout(s, "co_1", 1003)->empty());
  EXPECT_EQ(errc_of(cart::decide_checkout(s, "co_2", 1003).error()), mercato_errc::conflict);
  EXPECT_EQ(errc_of(cart::decide_set_line(s, item("a", 1), 2, 5, 1003).error()),
            mercato_errc::conflict);
}

TEST(CartRules, AFailedCheckoutGivesItsClaimBackAndNoOtherCan) {
  auto s = new_cart();
  EXPECT_EQ(errc_of(cart::decide_checkout(s, "co_1", 1001).error()), mercato_errc::conflict)
    << "an empty cart cannot be claimed";
  apply_all(s, *cart::decide_set_line(s, item("a", 1), 1, 5, 1001));
  apply_all(s, *cart::decide_checkout(s, "co_1", 1002));
  EXPECT_TRUE(cart::decide_reopen(s, "co_2", 1003)->empty()) << "not the claim of co_2";
  EXPECT_EQ(s.checkout_id, "co_1");
  apply_all(s, *cart::decide_reopen(s, "co_1", 1004));
  EXPECT_TRUE(s.checkout_id.empty());
  EXPECT_FALSE(cart::check_open(s));
  EXPECT_TRUE(cart::decide_reopen(s, "co_1", 1005)->empty()) << "given back once";
  apply_all(s, *cart::decide_checkout(s, "co_2", 1006));
  EXPECT_EQ(s.checkout_id, "co_2");
}

// -- orders -------------------------------------------------------------------------------------

order::state placed_order() {
  order_placement p;
  p.order_id = "ord_1";
  p.customer_id = "ada";
  p.checkout_id = "co_1";
  p.lines.push_back(cart_line{"a", "A", 1, 100});
  order::state s;
  apply_all(s, *order::decide_place(s, p, 1));
  return s;
}

order_status_cmd to(const std::string& status) {
  return order_status_cmd{caller{"ada", false, ""}, status, ""};
}

TEST(OrderRules, MovesForwardOnly) {
  auto s = placed_order();
  EXPECT_EQ(s.status, "paid");
  for (auto next : {"confirmed", "in_production", "produced", "shipped"})
    apply_all(s, *order::decide_advance(s, to(next), 2));
  EXPECT_EQ(s.status, "shipped");
  EXPECT_EQ(errc_of(order::decide_advance(s, to("confirmed"), 3).error()), mercato_errc::conflict);
  EXPECT_EQ(errc_of(order::decide_advance(s, to("bogus"), 3).error()),
            mercato_errc::invalid_request);
  EXPECT_TRUE(order::decide_advance(s, to("shipped"), 3)->empty());
  apply_all(s, *order::decide_advance(s, to("delivery_failed"), 4));
  apply_all(s, *order::decide_advance(s, to("delivered"), 5));
  apply_all(s, *order::decide_advance(s, to("returned"), 6));
  apply_all(s, *order::decide_advance(s, to("refunded"), 7));
  EXPECT_EQ(s.status, "refunded");
}

TEST(OrderRules, CancelBeforeShippingOnly) {
  auto s = placed_order();
  apply_all(s, *order::decide_cancel(s, to("cancelled"), 2));
  EXPECT_EQ(s.status, "cancelled");
  EXPECT_TRUE(order::decide_cancel(s, to("cancelled"), 3)->empty());
  EXPECT_EQ(errc_of(order::decide_advance(s, to("confirmed"), 3).error()), mercato_errc::conflict);
  apply_all(s, *order::decide_compensated(s, "done", 4));
  EXPECT_TRUE(s.compensated);

  auto shipped = placed_order();
  apply_all(shipped, *order::decide_advance(shipped, to("shipped"), 2));
  EXPECT_EQ(errc_of(order::decide_cancel(shipped, to("cancelled"), 3).error()),
            mercato_errc::conflict);
}

TEST(OrderRules, PlacementIsIdempotentPerCheckout) {
  auto s = placed_order();
  order_placement same = s.placement;
  EXPECT_TRUE(order::decide_place(s, same, 2)->empty());
  same.checkout_id = "co_other";
  EXPECT_EQ(errc_of(order::decide_place(s, same, 2).error()), mercato_errc::conflict);
  EXPECT_EQ(errc_of(order::check_access(s, caller{"eve", false, ""})), mercato_errc::not_found);
}

// A checkout vouches for its order's units as well as its payment: the order starts confirmed.
TEST(OrderRules, APlacementStartsPaidOrAsItsPlacerVouches) {
  auto s = placed_order();
  EXPECT_EQ(s.status, "paid");
  order_placement p = s.placement;
  p.order_id = "ord_2";
  p.initial_status = "confirmed";
  order::state confirmed;
  apply_all(confirmed, *order::decide_place(confirmed, p, 1));
  EXPECT_EQ(confirmed.status, "confirmed");
  EXPECT_TRUE(order::decide_advance(confirmed, to("confirmed"), 2)->empty());
  p.initial_status = "shipped";
  order::state refused;
  EXPECT_EQ(errc_of(order::decide_place(refused, p, 1).error()), mercato_errc::invalid_request);
  EXPECT_FALSE(refused.exists);
}

// -- checkout records ---------------------------------------------------------------------------

TEST(CheckoutRules, RecordsAndReplays) {
  checkout::state s;
  s.checkout_id = "co_abc";
  checkout_cmd cmd;
  cmd.who = ada();
  cmd.body_digest = "d1";
  cart_view cart;
  cart.lines.push_back(cart_line{"a", "A", 1, 100});
  checkout::apply(s, checkout::started(cmd, 1, cart, 10));
  EXPECT_EQ(s.status, "processing");
  EXPECT_EQ(s.order_id, "ord_abc");
  EXPECT_FALSE(checkout::check_same_request(s, cmd));
  auto other = cmd;
  other.body_digest = "d2";
  EXPECT_EQ(errc_of(checkout::check_same_request(s, other)), mercato_errc::idempotency_mismatch);
  checkout::apply(s, checkout::failed("unavailable", "x", {}, true, {}, {}, 11));
  EXPECT_EQ(s.status, "failed");
  EXPECT_TRUE(s.retryable);
  EXPECT_TRUE(s.finished);
  checkout::apply(s, checkout::started(cmd, 2, cart, 12));
  EXPECT_EQ(s.attempt, 2u);
  EXPECT_EQ(checkout::attempt_id(s.checkout_id, 2), "co_abc-2");
  EXPECT_EQ(checkout::attempt_id(s.checkout_id, 1), "co_abc");
  checkout::order_exists(s, 50, {}, 13); // derived from the order, not journaled
  EXPECT_EQ(s.status, "completed");
  EXPECT_FALSE(s.finished) << "still to settle";
  checkout::apply(s, checkout::completed(50, {}, 14));
  EXPECT_EQ(s.status, "completed");
  EXPECT_TRUE(s.finished);
  EXPECT_EQ(s.discount_minor, 50);
}

// An Idempotency-Key answers its first checkout for its retention; after it, a request under
// the key begins a new use whose cart claim and order carry the renewing attempt's id. A retry
// within a use keeps the use's order.
TEST(CheckoutRules, AKeyPastItsRetentionBeginsANewUseWithAnOrderOfItsOwn) {
  checkout::state s;
  s.checkout_id = "co_key";
  checkout_cmd cmd;
  cmd.who = ada();
  cmd.body_digest = "d1";
  cart_view cart;
  cart.lines.push_back(cart_line{"a", "A", 1, 100});
  constexpr int64_t day = 86400000;
  EXPECT_FALSE(checkout::renews(s, day, 0)) << "nothing to renew";
  checkout::apply(s, checkout::started(cmd, 1, cart, 1000));
  EXPECT_EQ(checkout::use_id(s), "co_key");
  EXPECT_FALSE(checkout::renews(s, day, 1000 + 2 * day)) << "still processing";
  checkout::order_exists(s, 0, {}, 1001);
  EXPECT_FALSE(checkout::renews(s, day, 1000 + 2 * day)) << "completed but not settled";
  checkout::apply(s, checkout::completed(0, {}, 1002));
  EXPECT_FALSE(checkout::renews(s, day, 1000 + day - 1)) << "within the retention";
  EXPECT_FALSE(checkout::renews(s, 0, 1000 + 100 * day)) << "0 keeps keys for ever";
  ASSERT_TRUE(checkout::renews(s, day, 1000 + day));
  auto next = cmd;
  next.body_digest = "d2";
  checkout::apply(s, checkout::started(next, 2, cart, 1000 + day, true));
  EXPECT_EQ(s.status, "processing");
  EXPECT_EQ(s.first_attempt, 2u);
  EXPECT_EQ(checkout::use_id(s), "co_key-2");
  EXPECT_EQ(s.order_id, "ord_key-2");
  EXPECT_EQ(s.created_at_ms, 1000 + day) << "the new use's retention counts from its start";
  EXPECT_FALSE(checkout::check_same_request(s, next));
  EXPECT_TRUE(checkout::check_same_request(s, cmd)) << "the last use's body is another body now";
  // A retryable failure of the new use is retried under the same use and order.
  checkout::apply(s, checkout::failed("unavailable", "x", {}, true, {}, {}, 1000 + day + 1));
  EXPECT_FALSE(checkout::renews(s, day, 1000 + day + 2));
  checkout::apply(s, checkout::started(next, 3, cart, 1000 + day + 2));
  EXPECT_EQ(s.first_attempt, 2u);
  EXPECT_EQ(s.order_id, "ord_key-2");
  EXPECT_EQ(checkout::attempt_id(s.checkout_id, s.attempt), "co_key-3");
  EXPECT_EQ(s.created_at_ms, 1000 + day);
}

// A restarted node replays `started` then `completed`, with nothing in between: the completed
// record alone says the checkout completed, and with what discount.
TEST(CheckoutRules, CompletedAloneRecordsTheOutcome) {
  checkout::state s;
  s.checkout_id = "co_done";
  checkout::apply(s, checkout::started(checkout_cmd{}, 1, cart_view{}, 10));
  checkout::apply(s, checkout::completed(70, {}, 11));
  EXPECT_EQ(s.status, "completed");
  EXPECT_TRUE(s.finished);
  EXPECT_EQ(s.discount_minor, 70);
  EXPECT_EQ(s.order_id, "ord_done");
}

// Journals written before the order's existence was derived hold an `order_placed` record.
TEST(CheckoutRules, AnOrderPlacedRecordOfAnOlderJournalIsReplayed) {
  checkout::state s;
  s.checkout_id = "co_old";
  checkout::apply(s, checkout::started(checkout_cmd{}, 1, cart_view{}, 10));
  checkout_event legacy;
  legacy.type = "order_placed";
  legacy.discount_minor = 30;
  legacy.at_ms = 11;
  checkout::apply(s, legacy);
  EXPECT_EQ(s.status, "completed");
  EXPECT_FALSE(s.finished);
  EXPECT_EQ(s.discount_minor, 30);
  checkout::apply(s, checkout::completed(0, {}, 12));
  EXPECT_EQ(s.discount_minor, 30) << "a completed record without a discount keeps the old one";
  EXPECT_TRUE(s.finished);
}

TEST(CheckoutRules, AFailureThatStillOwesACompensationStaysOpenUntilItIsDone) {
  checkout::state s;
  s.checkout_id = "co_owe";
  checkout::apply(s, checkout::started(checkout_cmd{}, 1, cart_view{}, 10));
  checkout::apply(s,
                  checkout::failed("payment_declined", "x", {}, false, {}, {"void_payment"}, 11));
  EXPECT_EQ(s.status, "failed");
  EXPECT_FALSE(s.finished) << "the void is still owed";
  EXPECT_EQ(s.owed, std::vector<std::string>{"void_payment"});
  checkout::apply(s, checkout::compensated({}, 12));
  EXPECT_TRUE(s.finished);
  EXPECT_TRUE(s.owed.empty());
  EXPECT_EQ(s.status, "failed");
}

} // namespace

// -- order timeline -------------------------------------------------------------------------------

namespace {

order_fact_cmd fact(std::string source, std::string type, std::string external_id,
                    int64_t occurred_at_ms, int64_t eta_ms = 0) {
  order_fact_cmd f;
  f.source = std::move(source);
  f.type = std::move(type);
  f.external_id = std::move(external_id);
  f.occurred_at_ms = occurred_at_ms;
  f.eta_ms = eta_ms;
  return f;
}

// What must not depend on arrival order: the facts in occurrence order, the status and when it
// was entered, the ETA.
std::string outcome(const order::state& s) {
  std::string out = s.status + " since " + std::to_string(order::status_since_ms(s)) + " eta "
                    + std::to_string(s.eta_ms) + ":";
  for (const auto& f : s.timeline)
    out += " " + std::to_string(f.occurred_at_ms) + "/" + f.source + "/" + f.type + "/"
           + f.external_id;
  return out;
}

order::state record_all(const std::vector<order_fact_cmd>& facts) {
  auto s = placed_order();
  apply_all(s, *order::decide_advance(s, to("confirmed"), 2));
  int64_t now = 1000;
  for (const auto& f : facts) {
    auto d = order::decide_fact(s, f, ++now);
    EXPECT_TRUE(d);
    apply_all(s, *d);
  }
  return s;
}

} // namespace

TEST(OrderTimeline, DuplicatesAreIgnoredAndStatusFollowsFacts) {
  auto s = placed_order();
  auto d = order::decide_fact(s, fact("logistics", "handed_to_carrier", "trk-1", 50), 100);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ(d->front().status_after, "shipped");
  apply_all(s, *d);
  EXPECT_EQ(s.status, "shipped");
  EXPECT_TRUE(
    order::decide_fact(s, fact("logistics", "handed_to_carrier", "trk-1", 50), 101)->empty());
  // The same external id from another source is another fact.
  EXPECT_EQ(order::decide_fact(s, fact("support", "packed", "trk-1", 40), 102)->size(), 1u);
  // A late fact of an earlier stage is kept but does not move the status back.
  apply_all(s, *order::decide_fact(s, fact("manufacturing", "production_started", "m-1", 10), 103));
  EXPECT_EQ(s.status, "shipped");
  EXPECT_EQ(s.timeline.front().type, "production_started");
  EXPECT_EQ(errc_of(order::decide_cancel(s, to("cancelled"), 104).error()), mercato_errc::conflict);
}

TEST(OrderTimeline, AnyArrivalOrderWithDuplicatesGivesTheSameOutcome) {
  const std::vector<order_fact_cmd> facts{
    fact("payment", "payment_captured", "pay-1", 100),
    fact("manufacturing", "production_started", "m-1", 200),
    fact("logistics", "eta_updated", "eta-1", 250, 9000),
    fact("manufacturing", "production_completed", "m-2", 300),
    fact("fulfillment", "packed", "f-1", 350),
    fact("logistics", "handed_to_carrier", "l-1", 400),
    fact("logistics", "eta_updated", "eta-2", 450, 8000),
    fact("logistics", "in_transit", "l-2", 500),
    fact("logistics", "delivery_failed", "l-3", 600),
    fact("logistics", "out_for_delivery", "l-4", 650),
    fact("logistics", "delivered", "l-5", 700),
    fact("support", "return_requested", "s-1", 800),
  };
  auto expected = outcome(record_all(facts));
  EXPECT_EQ(record_all(facts).status, "delivered");
  EXPECT_EQ(record_all(facts).eta_ms, 8000);
  std::mt19937 rng{20261121};
  for (int round = 0; round < 300; ++round) {
    auto shuffled = facts;
    // Duplicates: every fact may arrive again, anywhere.
    for (const auto& f : facts)
      if (rng() % 3 == 0)
        shuffled.push_back(f);
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    auto s = record_all(shuffled);
    ASSERT_EQ(outcome(s), expected) << "round " << round;
    ASSERT_EQ(s.timeline.size(), facts.size());
  }
}

TEST(OrderTimeline, OnlyTheLatestWindowStaysWholeAndEveryEntryStillCounts) {
  auto s = placed_order();
  apply_all(s, *order::decide_advance(s, to("confirmed"), 2));
  const size_t scans = order::timeline_window + 30;
  int64_t now = 1000;
  for (size_t i = 0; i < scans; ++i)
    apply_all(s, *order::decide_fact(s,
                                     fact("fulfillment", "packed", "scan-" + std::to_string(i),
                                          10000 + static_cast<int64_t>(i)),
                                     ++now));
  // Late facts that occurred before every scan: outside the window from the start, yet they
  // still move the status and set the ETA.
  apply_all(s, *order::decide_fact(s, fact("logistics", "handed_to_carrier", "l-1", 500), ++now));
  apply_all(s, *order::decide_fact(s, fact("logistics", "eta_updated", "eta-1", 600, 9000), ++now));
  EXPECT_EQ(s.status, "shipped");
  EXPECT_EQ(order::status_since_ms(s), 500);
  EXPECT_EQ(s.eta_ms, 9000);
  ASSERT_EQ(s.timeline.size(), scans + 2);
  // The earliest-occurring entries keep no body; the latest `timeline_window` keep theirs.
  auto edge = s.timeline.size() - order::timeline_window;
  for (size_t i = 0; i < s.timeline.size(); ++i) {
    const auto& f = s.timeline[i];
    ASSERT_EQ(is_trimmed(f), i < edge) << "entry " << i << " (" << f.external_id << ")";
    EXPECT_FALSE(f.type.empty());
    EXPECT_FALSE(f.external_id.empty());
    if (i < edge) {
      EXPECT_TRUE(f.label.empty());
    } else {
      EXPECT_FALSE(f.label.empty());
    }
  }
  EXPECT_EQ(s.timeline.front().external_id, "l-1");
  // A trimmed entry is still a duplicate.
  EXPECT_TRUE(
    order::decide_fact(s, fact("logistics", "handed_to_carrier", "l-1", 500), ++now)->empty());
  EXPECT_TRUE(
    order::decide_fact(s, fact("fulfillment", "packed", "scan-0", 10000), ++now)->empty());
}

TEST(OrderTimeline, ATimelineHoldsABoundedNumberOfEntries) {
  auto s = placed_order();
  const int64_t at = 1000;
  while (s.timeline.size() < order::max_timeline_entries) {
    auto id = "scan-" + std::to_string(s.timeline.size());
    apply_all(s, *order::decide_fact(s, fact("logistics", "in_transit", id, at), at));
  }
  auto full = order::decide_fact(s, fact("logistics", "delivered", "l-9", at), at);
  ASSERT_FALSE(full);
  EXPECT_EQ(errc_of(full.error()), mercato_errc::conflict);
  // What is known already is still accepted as a duplicate.
  EXPECT_TRUE(order::decide_fact(s, fact("logistics", "in_transit", "scan-7", at), at)->empty());
  EXPECT_EQ(s.timeline.size(), order::max_timeline_entries);
}
