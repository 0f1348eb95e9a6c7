#include "actors/payment/payment_rules.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <tuple>

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

} // namespace
} // namespace mercato::payment
