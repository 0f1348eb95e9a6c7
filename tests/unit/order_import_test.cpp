// Marketplace orders as order entities: the pure rules of importing one (order_rules), so that a
// replayed or older payload changes nothing and a later one is a new event on the same order.

#include "actors/order/order_rules.hpp"
#include "actors/protocol/errors.hpp"

#include <gtest/gtest.h>

using namespace mercato;

namespace {

imported_order tiktok_order(imported_status status, int64_t updated_at_ms) {
  imported_order o;
  o.platform = sales_platform::tiktok;
  o.order_code = "576461413038785752";
  o.order_id = "tiktok-576461413038785752";
  o.currency = "USD";
  o.lines.push_back(cart_line{"sku-1", "Mug", 2, 1000});
  o.gross_minor = 2000;
  o.seller_discount_minor = 150;
  o.platform_discount_minor = 50;
  o.shipping_minor = 300;
  o.final_minor = 2100;
  o.status = status;
  o.order_date_ms = 1733040000000;
  o.updated_at_ms = updated_at_ms;
  return o;
}

// The state once `events` are applied.
order::state after(order::state s, const std::vector<order_event>& events) {
  for (const auto& e : events)
    order::apply(s, e);
  return s;
}

} // namespace

TEST(OrderImport, ANewOrderIsPlacedWithItsImport) {
  auto d = order::decide_import({}, tiktok_order(imported_status::pending, 1000), 5000);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 1u);
  const auto& e = d->front();
  EXPECT_EQ(e.type, "placed");
  EXPECT_EQ(e.status_after, "confirmed");
  EXPECT_EQ(e.market.order_code, "576461413038785752");
  EXPECT_EQ(e.placement.order_id, "tiktok-576461413038785752");
  EXPECT_EQ(e.placement.sums.subtotal_minor, 2000);
  EXPECT_EQ(e.placement.sums.discount_minor, 200);
  EXPECT_EQ(e.placement.sums.shipping_minor, 300);
  EXPECT_EQ(e.placement.sums.total_minor, 2100);
  auto s = after({}, *d);
  EXPECT_TRUE(s.exists);
  EXPECT_TRUE(order::is_imported(s));
  EXPECT_EQ(s.created_at_ms, 1733040000000); // when the buyer ordered
  EXPECT_EQ(s.market.platform, sales_platform::tiktok);
}

TEST(OrderImport, AReplayedPayloadChangesNothing) {
  auto o = tiktok_order(imported_status::pending, 1000);
  auto s = after({}, *order::decide_import({}, o, 5000));
  auto d = order::decide_import(s, o, 6000);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->empty());
}

TEST(OrderImport, AnOlderPayloadChangesNothing) {
  auto s
    = after({}, *order::decide_import({}, tiktok_order(imported_status::completed, 2000), 5000));
  auto d = order::decide_import(s, tiktok_order(imported_status::pending, 1000), 6000);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->empty());
  EXPECT_EQ(s.status, "delivered");
}

TEST(OrderImport, ALaterCancellationIsANewEventOnTheSameOrder) {
  auto s = after({}, *order::decide_import({}, tiktok_order(imported_status::pending, 1000), 5000));
  auto later = tiktok_order(imported_status::cancelled, 9000);
  later.cancel_reason = "out of stock";
  auto d = order::decide_import(s, later, 10000);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ(d->front().type, "status_changed");
  EXPECT_EQ(d->front().status_after, "cancelled");
  auto s2 = after(s, *d);
  EXPECT_EQ(s2.status, "cancelled");
  EXPECT_EQ(s2.cancel_reason, "out of stock");
  EXPECT_EQ(s2.market.updated_at_ms, 9000);
  EXPECT_EQ(s2.created_at_ms, 1733040000000); // an update keeps the order's day
}

TEST(OrderImport, MapsEveryStatus) {
  EXPECT_EQ(order::status_of_import(imported_status::pending), "confirmed");
  EXPECT_EQ(order::status_of_import(imported_status::completed), "delivered");
  EXPECT_EQ(order::status_of_import(imported_status::cancelled), "cancelled");
  EXPECT_EQ(order::status_of_import(imported_status::returned), "returned");
  // The platform may restate a cancelled order as completed: it decides, not Mercato's path.
  auto s = after({}, *order::decide_import({}, tiktok_order(imported_status::cancelled, 1000), 1));
  auto s2 = after(s, *order::decide_import(s, tiktok_order(imported_status::completed, 2000), 2));
  EXPECT_EQ(s2.status, "delivered");
}

TEST(OrderImport, RefusesAnIdTakenByAnotherOrder) {
  order::state web;
  order_placement p;
  p.order_id = "tiktok-576461413038785752";
  p.customer_id = "ada";
  p.checkout_id = "co_1";
  p.lines.push_back(cart_line{"a", "A", 1, 100});
  web = after(web, *order::decide_place(web, p, 1));
  auto d = order::decide_import(web, tiktok_order(imported_status::pending, 1000), 2);
  ASSERT_FALSE(d);
  EXPECT_EQ(errc_of(d.error()), mercato_errc::conflict);
  auto other = tiktok_order(imported_status::pending, 1000);
  auto s = after({}, *order::decide_import({}, other, 1));
  other.order_code = "another";
  EXPECT_FALSE(order::decide_import(s, other, 2));
}

TEST(OrderImport, RefusesWebOrdersAndEmptyCodes) {
  auto o = tiktok_order(imported_status::pending, 1);
  o.platform = sales_platform::web;
  EXPECT_FALSE(order::decide_import({}, o, 1));
  o = tiktok_order(imported_status::pending, 1);
  o.order_code.clear();
  EXPECT_FALSE(order::decide_import({}, o, 1));
}

TEST(OrderImport, OnlyAdminsSeeAMarketplaceOrder) {
  auto s = after({}, *order::decide_import({}, tiktok_order(imported_status::pending, 1), 1));
  EXPECT_TRUE(order::check_access(s, caller{"", false, ""}));
  EXPECT_TRUE(order::check_access(s, caller{"ada", false, ""}));
  EXPECT_FALSE(order::check_access(s, caller{"ops", true, ""}));
}

TEST(OrderImport, TheMarketplaceDecidesTheStatusNotMercato) {
  auto s = after({}, *order::decide_import({}, tiktok_order(imported_status::pending, 1), 1));
  order_status_cmd cmd{caller{"ops", true, ""}, "shipped", ""};
  EXPECT_FALSE(order::decide_advance(s, cmd, 2));
  cmd.status = "cancelled";
  EXPECT_FALSE(order::decide_cancel(s, cmd, 2));
}

TEST(OrderImport, OwesNoDelayChecks) {
  order::delay_policy p;
  p.expected_ms = {{"confirmed", 1000}};
  auto s = after({}, *order::decide_import({}, tiktok_order(imported_status::pending, 1), 1));
  EXPECT_EQ(order::next_check_ms(s, p, 1), 0);
  EXPECT_TRUE(order::decide_checks(s, p, 1000000).empty());
}
