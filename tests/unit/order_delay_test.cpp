// Delay detection of orders as pure rules: when a delay_warning or delivery_expected_soon is due,
// that each is recorded once, and that neither moves the status.

#include "actors/order/order_rules.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using namespace mercato;

constexpr int64_t placed_at = 1000;

order::delay_policy policy() {
  order::delay_policy p;
  p.expected_ms = {{"paid", 100}, {"confirmed", 200}, {"shipped", 300}};
  p.soon_window_ms = 1000;
  return p;
}

template <class Events>
void apply_all(order::state& s, const Events& events) {
  for (const auto& e : events)
    order::apply(s, e);
}

// Decides, stamps the next check as the actor does, and applies.
void record(order::state& s, order::decision d, int64_t now_ms,
            const order::delay_policy& p = policy()) {
  ASSERT_TRUE(d);
  order::stamp_next_check(s, *d, p, now_ms);
  apply_all(s, *d);
}

order::state placed(const order::delay_policy& p = policy()) {
  order_placement pl;
  pl.order_id = "ord_1";
  pl.customer_id = "ada";
  pl.checkout_id = "co_1";
  pl.lines.push_back(cart_line{"a", "A", 1, 100});
  order::state s;
  record(s, order::decide_place(s, pl, placed_at), placed_at, p);
  return s;
}

order_status_cmd to(const std::string& status) {
  return order_status_cmd{caller{"ada", true, ""}, status, ""};
}

order_fact_cmd fact(std::string type, std::string external_id, int64_t occurred_at_ms,
                    int64_t eta_ms = 0) {
  order_fact_cmd f;
  f.source = "logistics";
  f.type = std::move(type);
  f.external_id = std::move(external_id);
  f.occurred_at_ms = occurred_at_ms;
  f.eta_ms = eta_ms;
  return f;
}

std::vector<const timeline_entry*> own_entries(const order::state& s) {
  std::vector<const timeline_entry*> out;
  for (const auto& f : s.timeline)
    if (f.source == order::own_source)
      out.push_back(&f);
  return out;
}

} // namespace

TEST(OrderDelay, NothingIsCheckedWithoutAnExpectation) {
  order::delay_policy none;
  none.soon_window_ms = 0;
  auto s = placed(none);
  EXPECT_EQ(s.next_check_ms, 0);
  EXPECT_EQ(order::next_check_ms(s, none, placed_at), 0);
  EXPECT_TRUE(order::decide_checks(s, none, placed_at + 1'000'000'000).empty());
  EXPECT_EQ(order::next_check_ms(order::state{}, policy(), placed_at), 0);
  EXPECT_TRUE(order::decide_checks(order::state{}, policy(), placed_at + 1'000'000).empty());
}

TEST(OrderDelay, WarnsExactlyAtTheEndOfTheExpectedStay) {
  auto s = placed();
  EXPECT_EQ(order::status_since_ms(s), placed_at);
  EXPECT_EQ(order::next_check_ms(s, policy(), placed_at), placed_at + 100);
  EXPECT_EQ(s.next_check_ms, placed_at + 100) << "the placement carries its first check";
  EXPECT_TRUE(order::decide_checks(s, policy(), placed_at + 99).empty());

  auto due = order::decide_checks(s, policy(), placed_at + 100);
  ASSERT_EQ(due.size(), 1u);
  const auto& e = due.front();
  EXPECT_EQ(e.type, "fact_recorded");
  EXPECT_EQ(e.fact.type, "delay_warning");
  EXPECT_EQ(e.fact.source, "mercato");
  EXPECT_EQ(e.fact.external_id, "delay_warning:paid");
  EXPECT_EQ(e.fact.occurred_at_ms, placed_at + 100);
  EXPECT_EQ(e.fact.recorded_at_ms, placed_at + 100);
  EXPECT_EQ(e.fact.seq, 1u);
  EXPECT_EQ(e.fact.label, "Delayed: the order is not confirmed yet");
  auto data = nlohmann::json::parse(e.fact.data);
  EXPECT_EQ(data["status"], "paid");
  EXPECT_EQ(data["expected_ms"], 100);
  EXPECT_EQ(data["elapsed_ms"], 100);
  EXPECT_EQ(data["since"], "1970-01-01T00:00:01.000Z");
  EXPECT_EQ(data["due_at"], "1970-01-01T00:00:01.100Z");
  EXPECT_EQ(e.status_after, "paid");
  EXPECT_EQ(e.next_check_ms, 0) << "nothing else is pending once warned";
}

TEST(OrderDelay, ALateCheckReportsTheTimeElapsed) {
  auto s = placed();
  auto due = order::decide_checks(s, policy(), placed_at + 5000);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(due.front().fact.data)["elapsed_ms"], 5000);
  EXPECT_EQ(due.front().fact.occurred_at_ms, placed_at + 5000);
}

TEST(OrderDelay, NeverMovesTheStatus) {
  auto s = placed();
  apply_all(s, order::decide_checks(s, policy(), placed_at + 100));
  EXPECT_EQ(s.status, "paid");
  EXPECT_EQ(s.own_status, "paid");
  EXPECT_EQ(order::status_of_fact("delay_warning"), "");
  EXPECT_EQ(order::status_of_fact("delivery_expected_soon"), "");
  // The order may still move on as before.
  record(s, order::decide_advance(s, to("confirmed"), placed_at + 150), placed_at + 150);
  EXPECT_EQ(s.status, "confirmed");
}

TEST(OrderDelay, RepeatedChecksDoNotDuplicateTheWarning) {
  auto s = placed();
  apply_all(s, order::decide_checks(s, policy(), placed_at + 100));
  for (int64_t later : {placed_at + 100, placed_at + 101, placed_at + 100'000})
    EXPECT_TRUE(order::decide_checks(s, policy(), later).empty()) << later;
  EXPECT_EQ(order::next_check_ms(s, policy(), placed_at + 200), 0);
  EXPECT_EQ(own_entries(s).size(), 1u);
  // Replaying the same warning as a fact (e.g. a redelivered command) is a duplicate too.
  order_fact_cmd replay;
  replay.source = "mercato";
  replay.type = "delay_warning";
  replay.external_id = "delay_warning:paid";
  EXPECT_TRUE(order::decide_fact(s, replay, placed_at + 300)->empty());
}

TEST(OrderDelay, AStatusChangeArmsTheNextExpectation) {
  auto s = placed();
  apply_all(s, order::decide_checks(s, policy(), placed_at + 150));
  record(s, order::decide_advance(s, to("confirmed"), placed_at + 400), placed_at + 400);
  EXPECT_EQ(order::status_since_ms(s), placed_at + 400);
  EXPECT_EQ(order::next_check_ms(s, policy(), placed_at + 400), placed_at + 600);
  EXPECT_EQ(s.next_check_ms, placed_at + 600);
  EXPECT_TRUE(order::decide_checks(s, policy(), placed_at + 599).empty());
  auto due = order::decide_checks(s, policy(), placed_at + 600);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due.front().fact.external_id, "delay_warning:confirmed");
  EXPECT_EQ(due.front().fact.seq, 2u);
  apply_all(s, due);
  EXPECT_EQ(own_entries(s).size(), 2u);
}

TEST(OrderDelay, ProgressBeforeTheDeadlineMeansNoWarning) {
  auto s = placed();
  record(s, order::decide_advance(s, to("confirmed"), placed_at + 50), placed_at + 50);
  // Past the end of the stay in paid, but the order is no longer paid.
  EXPECT_TRUE(order::decide_checks(s, policy(), placed_at + 120).empty());
  EXPECT_EQ(order::next_check_ms(s, policy(), placed_at + 120), placed_at + 250);
}

TEST(OrderDelay, AStatusWithoutExpectationIsNotChecked) {
  auto s = placed();
  record(s, order::decide_advance(s, to("in_production"), placed_at + 10), placed_at + 10);
  EXPECT_EQ(order::next_check_ms(s, policy(), placed_at + 10), 0);
  EXPECT_TRUE(order::decide_checks(s, policy(), placed_at + 1'000'000).empty());
}

TEST(OrderDelay, FinalStatesAreNeverDelayed) {
  auto p = policy();
  for (const auto& status : {"delivered", "cancelled", "returned", "refunded"})
    p.expected_ms[status] = 10;
  auto cancelled = placed();
  record(cancelled, order::decide_cancel(cancelled, to("cancelled"), placed_at + 10),
         placed_at + 10, p);
  EXPECT_EQ(order::next_check_ms(cancelled, p, placed_at + 10), 0);
  EXPECT_TRUE(order::decide_checks(cancelled, p, placed_at + 1'000'000).empty());

  auto delivered = placed();
  record(delivered,
         order::decide_fact(delivered, fact("delivered", "l-1", placed_at + 10), placed_at + 10),
         placed_at + 10, p);
  EXPECT_EQ(delivered.status, "delivered");
  EXPECT_EQ(order::next_check_ms(delivered, p, placed_at + 10), 0);
  EXPECT_TRUE(order::decide_checks(delivered, p, placed_at + 1'000'000).empty());
}

TEST(OrderDelay, AFactDatesTheStatusByItsOccurrence) {
  auto s = placed();
  // Handed to the carrier 900 ms before it was reported: 300 ms of shipping were overdue
  // already when the report came.
  record(s,
         order::decide_fact(s, fact("handed_to_carrier", "l-1", placed_at + 100), placed_at + 1000),
         placed_at + 1000);
  EXPECT_EQ(s.status, "shipped");
  EXPECT_EQ(order::status_since_ms(s), placed_at + 100);
  EXPECT_EQ(s.next_check_ms, placed_at + 400);
  auto due = order::decide_checks(s, policy(), placed_at + 1000);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due.front().fact.external_id, "delay_warning:shipped");
  EXPECT_EQ(nlohmann::json::parse(due.front().fact.data)["elapsed_ms"], 900);

  // A partner clock ahead of ours does not postpone the check: capped at the recording time.
  auto ahead = placed();
  record(ahead,
         order::decide_fact(ahead, fact("in_transit", "l-2", placed_at + 50'000), placed_at + 2000),
         placed_at + 2000);
  EXPECT_EQ(order::status_since_ms(ahead), placed_at + 2000);
  EXPECT_EQ(order::next_check_ms(ahead, policy(), placed_at + 2000), placed_at + 2300);
}

TEST(OrderDelay, DeliveryExpectedSoonOncePerEta) {
  auto p = policy();
  p.expected_ms.clear();
  auto s = placed();
  record(
    s, order::decide_fact(s, fact("eta_updated", "eta-1", placed_at + 10, 20'000), placed_at + 10),
    placed_at + 10, p);
  EXPECT_EQ(s.next_check_ms, 19'000);
  EXPECT_TRUE(order::decide_checks(s, p, 18'999).empty());
  auto due = order::decide_checks(s, p, 19'000);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due.front().fact.type, "delivery_expected_soon");
  EXPECT_EQ(due.front().fact.source, "mercato");
  EXPECT_EQ(due.front().fact.external_id, "delivery_expected_soon:20000");
  EXPECT_EQ(due.front().fact.label, "Delivery expected soon");
  EXPECT_EQ(due.front().status_after, "paid");
  auto data = nlohmann::json::parse(due.front().fact.data);
  EXPECT_EQ(data["eta"], "1970-01-01T00:00:20.000Z");
  EXPECT_EQ(data["window_ms"], 1000);
  apply_all(s, due);
  EXPECT_TRUE(order::decide_checks(s, p, 19'500).empty());
  EXPECT_EQ(order::next_check_ms(s, p, 19'500), 0);

  // A new ETA is told again, once.
  record(s, order::decide_fact(s, fact("eta_updated", "eta-2", placed_at + 20, 19'800), 19'600),
         19'600, p);
  EXPECT_EQ(s.eta_ms, 19'800);
  auto again = order::decide_checks(s, p, 19'600);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again.front().fact.external_id, "delivery_expected_soon:19800");
  apply_all(s, again);
  EXPECT_TRUE(order::decide_checks(s, p, 19'700).empty());
  EXPECT_EQ(own_entries(s).size(), 2u);
}

TEST(OrderDelay, TheWindowLabelSaysHowSoon) {
  auto p = policy();
  p.expected_ms.clear();
  p.soon_window_ms = 86'400'000;
  auto s = placed();
  record(s, order::decide_fact(s, fact("eta_updated", "eta-1", placed_at, 90'000'000), placed_at),
         placed_at, p);
  auto due = order::decide_checks(s, p, 3'600'000);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due.front().fact.label, "Delivery expected within 24 hours");
}

TEST(OrderDelay, AnEtaInThePastIsNotSoon) {
  auto p = policy();
  p.expected_ms.clear();
  auto s = placed();
  record(s,
         order::decide_fact(s, fact("eta_updated", "eta-1", placed_at, placed_at + 500),
                            placed_at + 600),
         placed_at + 600, p);
  EXPECT_EQ(s.eta_ms, placed_at + 500);
  EXPECT_EQ(order::next_check_ms(s, p, placed_at + 600), 0);
  EXPECT_TRUE(order::decide_checks(s, p, placed_at + 600).empty());
  // Exactly at the ETA it is no longer ahead either.
  EXPECT_EQ(order::next_check_ms(s, p, placed_at + 500), 0);
}

TEST(OrderDelay, AnEtaAlreadyWithinTheWindowIsToldAtOnce) {
  auto p = policy();
  p.expected_ms.clear();
  auto s = placed();
  record(s,
         order::decide_fact(s, fact("eta_updated", "eta-1", placed_at, placed_at + 500),
                            placed_at + 100),
         placed_at + 100, p);
  EXPECT_EQ(s.next_check_ms, std::max<int64_t>(placed_at + 500 - 1000, 1));
  ASSERT_EQ(order::decide_checks(s, p, placed_at + 100).size(), 1u);
}

TEST(OrderDelay, NoDeliveryExpectedOnceDelivered) {
  auto p = policy();
  p.expected_ms.clear();
  auto s = placed();
  record(s, order::decide_fact(s, fact("eta_updated", "eta-1", placed_at, 10'000), placed_at),
         placed_at, p);
  record(s, order::decide_fact(s, fact("delivered", "l-9", 8'000), 8'000), 8'000, p);
  EXPECT_EQ(s.status, "delivered");
  EXPECT_EQ(s.next_check_ms, 0);
  EXPECT_TRUE(order::decide_checks(s, p, 9'500).empty());
}

TEST(OrderDelay, ADelayAndASoonDeliveryDueTogetherAreBothRecorded) {
  auto s = placed();
  record(s, order::decide_fact(s, fact("handed_to_carrier", "l-1", placed_at), placed_at),
         placed_at);
  record(
    s,
    order::decide_fact(s, fact("eta_updated", "eta-1", placed_at, placed_at + 900), placed_at + 10),
    placed_at + 10);
  EXPECT_EQ(s.next_check_ms, placed_at - 100) << "the soon window of the ETA has begun";
  auto due = order::decide_checks(s, policy(), placed_at + 300);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].fact.type, "delay_warning");
  EXPECT_EQ(due[1].fact.type, "delivery_expected_soon");
  EXPECT_EQ(due[0].fact.seq + 1, due[1].fact.seq);
  EXPECT_EQ(due[1].next_check_ms, 0);
  apply_all(s, due);
  EXPECT_EQ(s.status, "shipped");
  EXPECT_TRUE(order::decide_checks(s, policy(), placed_at + 400).empty());
}

TEST(OrderDelay, PartnersCannotSpeakForMercato) {
  EXPECT_FALSE(is_event_source(order::own_source));
  EXPECT_FALSE(is_event_type("delay_warning"));
  EXPECT_FALSE(is_event_type("delivery_expected_soon"));
  // A partner fact that happens to use the same external id does not count as the warning.
  auto s = placed();
  order_fact_cmd f = fact("packed", "delay_warning:paid", placed_at);
  f.source = "fulfillment";
  record(s, order::decide_fact(s, f, placed_at + 10), placed_at + 10);
  ASSERT_EQ(order::decide_checks(s, policy(), placed_at + 100).size(), 1u);
}

TEST(OrderDelay, AChangedPolicyIsStampedForTheSweeper) {
  auto s = placed();
  EXPECT_EQ(s.next_check_ms, placed_at + 100);
  auto longer = policy();
  longer.expected_ms["paid"] = 5000;
  // Woken at the old time: nothing is due under the new policy, but the read model must learn
  // the new time, or the order would sleep through it.
  auto d = order::decide_checks(s, longer, placed_at + 100);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d.front().type, "checks_rescheduled");
  EXPECT_EQ(d.front().next_check_ms, placed_at + 5000);
  EXPECT_EQ(d.front().status_after, "paid");
  apply_all(s, d);
  EXPECT_EQ(s.next_check_ms, placed_at + 5000);
  EXPECT_EQ(s.status, "paid");
  EXPECT_TRUE(s.timeline.empty());
  EXPECT_TRUE(order::decide_checks(s, longer, placed_at + 200).empty());

  // An order journaled before delay detection (no schedule stamped) gets one the same way.
  auto legacy = placed();
  legacy.next_check_ms = 0;
  auto l = order::decide_checks(legacy, policy(), placed_at + 50);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l.front().next_check_ms, placed_at + 100);
}

TEST(OrderDelay, AnOrderWithoutOwnTransitionTimeCountsFromItsPlacement) {
  auto s = placed();
  s.own_status_at_ms = 0; // a snapshot from before the field existed
  EXPECT_EQ(order::status_since_ms(s), placed_at);
}
