#include "actors/payment/payment_rules.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace mercato::payment {
namespace {

using ps = payment_status;
using pe = trigger;

struct rule {
  std::optional<ps> from;
  pe ev;
  // Expected: either an error code or (to, changes).
  mercato_errc err;
  ps to;
  bool changes;
};

rule ok(std::optional<ps> from, pe ev, ps to, bool changes) {
  return {from, ev, mercato_errc::none, to, changes};
}

rule fails(std::optional<ps> from, pe ev, mercato_errc err) {
  return {from, ev, err, ps::pending, false};
}

class PaymentRules : public ::testing::TestWithParam<rule> {};

TEST_P(PaymentRules, LeadToTheExpectedStatus) {
  const auto& r = GetParam();
  auto step = next_status(r.from, r.ev);
  auto from = r.from ? to_string(*r.from) : std::string{"none"};
  if (r.err != mercato_errc::none) {
    ASSERT_FALSE(step) << from << " + " << to_string(r.ev);
    EXPECT_EQ(errc_of(step.error()), r.err) << from << " + " << to_string(r.ev);
    return;
  }
  ASSERT_TRUE(step) << from << " + " << to_string(r.ev) << ": " << render(step.error());
  EXPECT_EQ(step->to, r.to) << from << " + " << to_string(r.ev);
  EXPECT_EQ(step->changes, r.changes) << from << " + " << to_string(r.ev);
}

constexpr std::optional<ps> none = std::nullopt;

INSTANTIATE_TEST_SUITE_P(
  Commands, PaymentRules,
  ::testing::Values(
    // authorize: only a new payment changes; every repeat keeps the first outcome.
    ok(none, pe::authorize, ps::pending, true), ok(ps::pending, pe::authorize, ps::pending, false),
    ok(ps::declined, pe::authorize, ps::declined, false),
    ok(ps::voided, pe::authorize, ps::voided, false),
    ok(ps::captured, pe::authorize, ps::captured, false),
    // capture
    fails(none, pe::capture, mercato_errc::not_found),
    fails(ps::pending, pe::capture, mercato_errc::conflict),
    ok(ps::authorized, pe::capture, ps::captured, true),
    ok(ps::captured, pe::capture, ps::captured, false),
    fails(ps::declined, pe::capture, mercato_errc::conflict),
    fails(ps::voided, pe::capture, mercato_errc::conflict),
    fails(ps::refunded, pe::capture, mercato_errc::conflict),
    // cancel: a tombstone for an unknown id; never after a capture.
    ok(none, pe::cancel, ps::voided, true), ok(ps::pending, pe::cancel, ps::voided, true),
    ok(ps::authorized, pe::cancel, ps::voided, true), ok(ps::voided, pe::cancel, ps::voided, false),
    ok(ps::declined, pe::cancel, ps::declined, false),
    fails(ps::captured, pe::cancel, mercato_errc::conflict),
    fails(ps::refunded, pe::cancel, mercato_errc::conflict),
    // refund
    fails(none, pe::refund, mercato_errc::not_found),
    fails(ps::authorized, pe::refund, mercato_errc::conflict),
    fails(ps::pending, pe::refund, mercato_errc::conflict),
    ok(ps::captured, pe::refund, ps::refunded, true),
    ok(ps::refunded, pe::refund, ps::refunded, false)));

INSTANTIATE_TEST_SUITE_P(
  ProviderReports, PaymentRules,
  ::testing::Values(ok(ps::pending, pe::provider_authorized, ps::authorized, true),
                    ok(ps::pending, pe::provider_declined, ps::declined, true),
                    ok(ps::authorized, pe::provider_authorized, ps::authorized, false),
                    // Late: after a void nothing authorises or declines any more.
                    ok(ps::voided, pe::provider_authorized, ps::voided, false),
                    ok(ps::voided, pe::provider_declined, ps::voided, false),
                    ok(ps::declined, pe::provider_authorized, ps::declined, false),
                    ok(ps::authorized, pe::provider_captured, ps::captured, true),
                    ok(ps::pending, pe::provider_captured, ps::pending, false),
                    ok(ps::authorized, pe::provider_voided, ps::voided, true),
                    ok(ps::pending, pe::provider_voided, ps::voided, true),
                    ok(ps::captured, pe::provider_voided, ps::captured, false),
                    ok(ps::captured, pe::provider_refunded, ps::refunded, true),
                    // Never backwards.
                    ok(ps::refunded, pe::provider_authorized, ps::refunded, false),
                    ok(ps::captured, pe::provider_authorized, ps::captured, false),
                    fails(none, pe::provider_authorized, mercato_errc::not_found),
                    fails(none, pe::provider_voided, mercato_errc::not_found)));

TEST(PaymentRulesFailed, AreExactlyDeclinedAndVoided) {
  EXPECT_TRUE(is_failed(ps::declined));
  EXPECT_TRUE(is_failed(ps::voided));
  for (auto s : {ps::pending, ps::authorized, ps::captured, ps::refunded})
    EXPECT_FALSE(is_failed(s)) << to_string(s);
}

payment_request request(const std::string& id, int64_t amount = 2599) {
  payment_request req;
  req.payment_id = id;
  req.customer_id = "cust-1";
  req.amount_minor = amount;
  req.currency = "EUR";
  req.token = "tok_ok";
  req.request_id = "req-1";
  return req;
}

// Applies every event of `d` to `s`.
void apply_all(state& s, const decision& d) {
  ASSERT_TRUE(d) << render(d.error());
  for (const auto& e : *d)
    apply(s, e);
}

TEST(PaymentDecisions, AnAuthorisationIsRequestedOnceAndRepeatsChangeNothing) {
  state s;
  s.view.payment_id = "p-1";
  auto d = decide_authorize(s, request("p-1"), "sandbox", 1000);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ(d->front().type, "requested");
  EXPECT_EQ(d->front().status, "pending");
  EXPECT_EQ(d->front().amount_minor, 2599);
  EXPECT_EQ(d->front().provider, "sandbox");
  EXPECT_EQ(d->front().customer_id, "cust-1");
  apply_all(s, d);
  EXPECT_TRUE(reached_provider(s));
  auto again = decide_authorize(s, request("p-1"), "sandbox", 2000);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  auto other = decide_authorize(s, request("p-1", 100), "sandbox", 2000);
  ASSERT_FALSE(other);
  EXPECT_EQ(errc_of(other.error()), mercato_errc::idempotency_mismatch);
  auto bad = decide_authorize(state{}, request("p-1", 0), "sandbox", 2000);
  ASSERT_FALSE(bad);
  EXPECT_EQ(errc_of(bad.error()), mercato_errc::invalid_request);
}

TEST(PaymentDecisions, ACancelOfAnUnknownIdIsATombstoneThatFencesAnyAmount) {
  state s;
  s.view.payment_id = "p-2";
  auto d = decide_cancel(s, "sandbox", 1000);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ(d->front().type, "voided");
  EXPECT_EQ(d->front().detail, "voided before authorisation");
  EXPECT_EQ(d->front().provider, "sandbox");
  EXPECT_EQ(d->front().amount_minor, 0);
  apply_all(s, d);
  EXPECT_FALSE(reached_provider(s)); // nothing to void at the provider
  auto late = decide_authorize(s, request("p-2", 100), "sandbox", 2000);
  ASSERT_TRUE(late);
  EXPECT_TRUE(late->empty());
  auto answer = authorisation_answer(s);
  ASSERT_FALSE(answer);
  EXPECT_EQ(errc_of(answer.error()), mercato_errc::payment_declined);
  auto again = decide_cancel(s, "sandbox", 3000);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
}

TEST(PaymentDecisions, TheProviderAnswerIsRecordedWhenItMovesTheStatusOrNamesItsId) {
  state s;
  apply_all(s, decide_authorize(s, request("p-3"), "http", 1000));
  auto pending
    = decide_answer(s, provider_outcome{payment_status::pending, "psp_3", "", 0}, "r", 2000);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u); // the provider's id, needed to void there later
  apply_all(s, pending);
  EXPECT_EQ(s.view.provider_ref, "psp_3");
  auto same
    = decide_answer(s, provider_outcome{payment_status::pending, "psp_3", "", 0}, "r", 3000);
  ASSERT_TRUE(same);
  EXPECT_TRUE(same->empty());
  auto declined = decide_answer(
    s, provider_outcome{payment_status::declined, "psp_3", "insufficient funds", 0}, "r", 4000);
  apply_all(s, declined);
  EXPECT_EQ(s.view.status, payment_status::declined);
  EXPECT_EQ(s.view.detail, "insufficient funds");
}

TEST(PaymentDecisions, AWebhookIsRecordedOnceAndItsIdSurvivesTheSnapshot) {
  state s;
  apply_all(s, decide_authorize(s, request("p-4"), "http", 1000));
  payment_confirmation c;
  c.event_id = "evt-1";
  c.payment_id = "p-4";
  c.status = payment_status::authorized;
  EXPECT_FALSE(is_duplicate(s, c));
  auto d = decide_webhook(s, c, 2000);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 1u);
  EXPECT_TRUE(d->front().changed);
  apply_all(s, d);
  EXPECT_EQ(s.view.status, payment_status::authorized);
  auto restored = from_state_snapshot(snapshot_of(s));
  EXPECT_TRUE(is_duplicate(restored, c));
  EXPECT_EQ(restored.view.status, payment_status::authorized);
  // Another event with the same news is recorded (its id remembered) but changes nothing.
  c.event_id = "evt-2";
  auto same = decide_webhook(restored, c, 3000);
  ASSERT_TRUE(same);
  ASSERT_EQ(same->size(), 1u);
  EXPECT_FALSE(same->front().changed);
  c.amount_minor = 1;
  auto wrong = decide_webhook(restored, c, 3000);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(errc_of(wrong.error()), mercato_errc::conflict);
  auto unknown = decide_webhook(state{}, c, 3000);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(errc_of(unknown.error()), mercato_errc::not_found);
}

TEST(PaymentDecisions, CaptureAndRefundAreRecordedOnlyWhenTheyChangeTheStatus) {
  state s;
  apply_all(s, decide_authorize(s, request("p-5"), "sandbox", 1000));
  apply_all(s, decide_answer(s, provider_outcome{payment_status::authorized, "", "", 0}, "", 2000));
  auto cap = decide_settled(s, trigger::capture, 3000);
  ASSERT_TRUE(cap);
  ASSERT_EQ(cap->size(), 1u);
  EXPECT_EQ(cap->front().type, "captured");
  apply_all(s, cap);
  auto again = check_settle(s, trigger::capture);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->changes);
  auto ref = decide_settled(s, trigger::refund, 4000);
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->front().type, "refunded");
}

// An entity that lost an authorisation takes it back from the order's record, and only that.
TEST(PaymentDecisions, AnAuthorisationRecordedByItsOrderIsAdoptedOnlyByAnEmptyEntity) {
  state s;
  s.view.payment_id = "p-6";
  payment_view recorded;
  recorded.payment_id = "p-6";
  recorded.status = payment_status::authorized;
  recorded.amount_minor = 2599;
  recorded.currency = "EUR";
  recorded.provider = "http";
  recorded.provider_ref = "psp_p-6";
  auto d = decide_adopt(s, recorded, 1000);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 1u);
  apply_all(s, d);
  EXPECT_TRUE(s.exists);
  EXPECT_EQ(s.view.status, payment_status::authorized);
  EXPECT_EQ(s.view.provider_ref, "psp_p-6");
  EXPECT_EQ(s.view.amount_minor, 2599);
  EXPECT_TRUE(check_settle(s, trigger::capture)->changes);
  // Known now: a second record changes nothing, even a different one.
  recorded.amount_minor = 1;
  EXPECT_TRUE(decide_adopt(s, recorded, 2000)->empty());
  EXPECT_EQ(s.view.amount_minor, 2599);
  // Not authorised, another id, or no amount: refused.
  for (auto change : {0, 1, 2}) {
    state empty;
    empty.view.payment_id = "p-7";
    payment_view bad = recorded;
    bad.payment_id = "p-7";
    bad.amount_minor = 2599;
    if (change == 0)
      bad.status = payment_status::pending;
    else if (change == 1)
      bad.payment_id = "p-8";
    else
      bad.amount_minor = 0;
    EXPECT_EQ(errc_of(decide_adopt(empty, bad, 1000).error()), mercato_errc::invalid_request)
      << change;
  }
}

TEST(PaymentDecisions, TextChecksRefuseWhatTheDatabaseCannotStore) {
  EXPECT_FALSE(check_id("caf\xc3\xa9"));
  EXPECT_TRUE(check_id(std::string{"a\0b", 3}));
  EXPECT_TRUE(check_id("\xc3"));
  EXPECT_TRUE(check_id(""));
  EXPECT_TRUE(check_id(std::string(201, 'x')));
  EXPECT_FALSE(check_id("co_1"));
}

} // namespace
} // namespace mercato::payment
