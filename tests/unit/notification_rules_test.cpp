#include "actors/protocol/notification_rules.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace mercato;
using namespace mercato::notify;

namespace {

order_change fact(std::string type, std::string status_after, std::string id = "x-1") {
  order_change c;
  c.type = "fact_recorded";
  c.fact_type = std::move(type);
  c.fact_id = std::move(id);
  c.status_after = std::move(status_after);
  return c;
}

notification_preferences prefs_with(channel_set c) {
  notification_preferences p;
  p.customer_id = "c-1";
  p.channels = c;
  p.email = "ann@example.com";
  p.phone = "+84901234567";
  return p;
}

std::map<std::string, std::string> order_vars() {
  return {{"order_id", "o-42"}, {"total", "12.34 USD"}};
}

} // namespace

TEST(NotificationMilestones, EveryApiMilestoneHasAKindAndARule) {
  auto rules = default_rules();
  for (const char* kind :
       {"order_confirmed", "production_started", "production_completed", "handed_to_carrier",
        "out_for_delivery", "delivery_expected_soon", "delivered", "delay_warning",
        "order_cancelled", "refunded", "delivery_failed"}) {
    EXPECT_TRUE(is_kind(kind)) << kind;
    ASSERT_EQ(rules.count(kind), 1u) << kind;
    EXPECT_FALSE(rules[kind].channels.empty()) << kind;
  }
  EXPECT_EQ(rules.size(), kinds().size());
}

TEST(NotificationMilestones, PartnerFactsThatMoveTheOrderAreMilestones) {
  EXPECT_EQ(milestone_of(fact("production_started", "in_production")).kind, "production_started");
  EXPECT_EQ(milestone_of(fact("handed_to_carrier", "shipped")).kind, "handed_to_carrier");
  // in_transit first also means the carrier has it: the same milestone, so the same key.
  auto a = milestone_of(fact("in_transit", "shipped"));
  EXPECT_EQ(a.kind, "handed_to_carrier");
  EXPECT_EQ(a.key, milestone_of(fact("handed_to_carrier", "shipped", "y-2")).key);
  EXPECT_EQ(milestone_of(fact("delivered", "delivered")).kind, "delivered");
  EXPECT_EQ(milestone_of(fact("refunded", "refunded")).kind, "refunded");
}

TEST(NotificationMilestones, LateFactsAndInformationalOnesAreNoMilestone) {
  // out_for_delivery arriving after delivered: the customer already knows more.
  EXPECT_TRUE(milestone_of(fact("out_for_delivery", "delivered")).kind.empty());
  EXPECT_TRUE(milestone_of(fact("eta_updated", "shipped")).kind.empty());
  EXPECT_TRUE(milestone_of(fact("payment_captured", "confirmed")).kind.empty());
}

TEST(NotificationMilestones, PlacementConfirmationAndCancellation) {
  order_change placed{"placed", "", "", "", "confirmed"};
  EXPECT_EQ(milestone_of(placed).kind, "order_confirmed");
  order_change unpaid{"placed", "", "", "", "paid"};
  EXPECT_TRUE(milestone_of(unpaid).kind.empty());
  order_change confirmed{"status_changed", "confirmed", "", "", "confirmed"};
  EXPECT_EQ(milestone_of(confirmed).kind, "order_confirmed");
  order_change cancelled{"cancelled", "cancelled", "", "", "cancelled"};
  EXPECT_EQ(milestone_of(cancelled).kind, "order_cancelled");
  order_change compensated{"compensated", "", "", "", "cancelled"};
  EXPECT_TRUE(milestone_of(compensated).kind.empty());
}

TEST(NotificationMilestones, DelayWarningsAreOnePerStatus) {
  auto a = milestone_of(fact("delay_warning", "confirmed", "delay_warning:confirmed"));
  auto b = milestone_of(fact("delay_warning", "in_production", "delay_warning:in_production"));
  EXPECT_EQ(a.kind, "delay_warning");
  EXPECT_NE(a.key, b.key);
  EXPECT_EQ(a.key, milestone_of(fact("delay_warning", "confirmed", "delay_warning:confirmed")).key);
}

TEST(NotificationPlan, FirstAllowedExternalChannelNowTheRestAsFallbacks) {
  auto rules = default_rules();
  auto p = plan_deliveries(rules["delivered"], prefs_with({true, true, true, false}));
  EXPECT_EQ(p.now, (std::vector<notification_channel>{notification_channel::in_app,
                                                      notification_channel::email}));
  EXPECT_EQ(p.fallbacks, std::vector<notification_channel>{notification_channel::sms});
}

TEST(NotificationPlan, OptedOutChannelsNeverAppear) {
  auto rules = default_rules();
  auto prefs = prefs_with({false, true, false, false});
  prefs.kinds.push_back({"delivered", {false, false, true, false}});
  auto p = plan_deliveries(rules["delivered"], prefs);
  EXPECT_EQ(p.now, std::vector<notification_channel>{notification_channel::sms});
  EXPECT_TRUE(p.fallbacks.empty());
  auto confirmed = plan_deliveries(rules["order_confirmed"], prefs);
  EXPECT_EQ(confirmed.now, std::vector<notification_channel>{notification_channel::email});
}

TEST(NotificationPlan, AChannelWithoutAnAddressIsNotUsed) {
  auto prefs = prefs_with({true, true, true, false});
  prefs.email.clear();
  auto p = plan_deliveries(default_rules()["delivered"], prefs);
  EXPECT_EQ(p.now, (std::vector<notification_channel>{notification_channel::in_app,
                                                      notification_channel::sms}));
}

TEST(NotificationRules, OverridesReplaceARuleAndRejectNonsense) {
  auto t = default_rules();
  EXPECT_EQ(apply_rule_overrides(t, "delivered=sms,email:all,urgent; refunded = in_app"), "");
  EXPECT_EQ(t["delivered"].channels, (std::vector<notification_channel>{
                                       notification_channel::sms, notification_channel::email}));
  EXPECT_TRUE(t["delivered"].all);
  EXPECT_TRUE(t["delivered"].urgent);
  EXPECT_EQ(t["refunded"].channels,
            std::vector<notification_channel>{notification_channel::in_app});
  auto before = t["delivered"].channels;
  EXPECT_NE(apply_rule_overrides(t, "delivered=fax"), "");
  EXPECT_NE(apply_rule_overrides(t, "shipped_to_mars=email"), "");
  EXPECT_NE(apply_rule_overrides(t, "delivered=email,email"), "");
  EXPECT_NE(apply_rule_overrides(t, "delivered=email:loud"), "");
  EXPECT_NE(apply_rule_overrides(t, "delivered"), "");
  EXPECT_EQ(t["delivered"].channels, before);
}

TEST(NotificationRules, AllFlagSendsOnEveryAllowedChannel) {
  auto t = default_rules();
  ASSERT_EQ(apply_rule_overrides(t, "delivery_failed=in_app,sms,email:all,urgent"), "");
  auto p = plan_deliveries(t["delivery_failed"], prefs_with({true, true, true, true}));
  EXPECT_EQ(p.now.size(), 3u);
  EXPECT_TRUE(p.fallbacks.empty());
}

TEST(NotificationTemplates, EveryKindRendersInEnglishAndVietnamese) {
  auto t = default_templates();
  for (const auto& kind : kinds())
    for (const char* locale : {"en", "vi"}) {
      auto vars = order_vars();
      vars["eta"] = "2026-12-03 14:00 UTC";
      auto r = render(t, kind, locale, vars);
      EXPECT_EQ(r.template_id, kind) << kind << " " << locale;
      EXPECT_EQ(r.locale, locale);
      EXPECT_TRUE(r.fallback.empty()) << r.fallback;
      EXPECT_NE(r.body.find("o-42"), std::string::npos) << r.body;
      EXPECT_EQ(r.body.find("{{"), std::string::npos) << r.body;
      EXPECT_EQ(r.subject.find("{{"), std::string::npos) << r.subject;
    }
}

TEST(NotificationTemplates, OptionalPartsShowOnlyWithTheirValue) {
  auto t = default_templates();
  auto vars = order_vars();
  auto bare = render(t, "handed_to_carrier", "en", vars);
  EXPECT_EQ(bare.body, "Your order o-42 was handed to the carrier.");
  vars["carrier"] = "GHN";
  vars["tracking_url"] = "https://track.example/1";
  auto full = render(t, "handed_to_carrier", "en", vars);
  EXPECT_EQ(full.body, "Your order o-42 was handed to GHN. Track it at https://track.example/1");
}

TEST(NotificationTemplates, UnknownLocaleFallsBackToEnglishAndSaysSo) {
  auto r = render(default_templates(), "delivered", "fr", order_vars());
  EXPECT_EQ(r.locale, "en");
  EXPECT_EQ(r.subject, "Order o-42 was delivered");
  EXPECT_NE(r.fallback.find("fr"), std::string::npos);
}

TEST(NotificationTemplates, MissingVariableFallsBackToTheGenericTextOfTheLocale) {
  // delivery_expected_soon needs the ETA.
  auto r = render(default_templates(), "delivery_expected_soon", "vi", order_vars());
  EXPECT_EQ(r.template_id, "generic");
  EXPECT_EQ(r.locale, "vi");
  EXPECT_EQ(r.body, "Đơn hàng o-42 của bạn có cập nhật mới: Dự kiến giao trong 24 giờ.");
  EXPECT_NE(r.fallback.find("eta"), std::string::npos);
}

TEST(NotificationTemplates, UnknownTemplateAndEmptyTableStillGiveAWholeMessage) {
  auto r = render(default_templates(), "no_such_template", "en", order_vars());
  EXPECT_EQ(r.template_id, "generic");
  EXPECT_EQ(r.subject, "Update on order o-42");
  auto bare = render(template_table{}, "delivered", "en", order_vars());
  EXPECT_EQ(bare.subject, "Delivered");
  EXPECT_EQ(bare.body, "Delivered: o-42");
  EXPECT_FALSE(bare.fallback.empty());
}

TEST(NotificationTemplates, VariablesAreNotExpandedTwice) {
  auto vars = order_vars();
  vars["carrier"] = "{{order_id}}";
  auto r = render(default_templates(), "handed_to_carrier", "en", vars);
  EXPECT_EQ(r.body, "Your order o-42 was handed to {{order_id}}.");
}

TEST(NotificationRetries, BackoffDoublesIsCappedAndJittered) {
  retry_policy p{5, 1000, 5000};
  EXPECT_EQ(backoff_ms(p, 1, 0.0), 500);
  EXPECT_EQ(backoff_ms(p, 1, 0.999999), 999);
  EXPECT_EQ(backoff_ms(p, 2, 0.0), 1000);
  EXPECT_EQ(backoff_ms(p, 3, 0.0), 2000);
  EXPECT_EQ(backoff_ms(p, 4, 0.0), 2500); // capped at 5000 before the jitter
  EXPECT_EQ(backoff_ms(p, 60, 1.0), 5000);
  for (int a = 1; a < 40; ++a) {
    auto d = backoff_ms(p, a, 0.5);
    EXPECT_GE(d, 500);
    EXPECT_LE(d, 5000);
  }
}

TEST(NotificationRetries, RetryThenFallbackThenDead) {
  retry_policy p{3, 10, 100};
  EXPECT_EQ(after_failure(p, 1, false, true), failure_action::retry);
  EXPECT_EQ(after_failure(p, 2, false, true), failure_action::retry);
  EXPECT_EQ(after_failure(p, 3, false, true), failure_action::fallback);
  EXPECT_EQ(after_failure(p, 3, false, false), failure_action::dead);
  // A refusal for good skips the remaining attempts.
  EXPECT_EQ(after_failure(p, 1, true, true), failure_action::fallback);
  EXPECT_EQ(after_failure(p, 1, true, false), failure_action::dead);
}

TEST(NotificationRetries, IdempotencyKeyIsStablePerDeliveryAndOpaque) {
  auto a = idempotency_key("ord_1/delivered/email");
  EXPECT_EQ(a, idempotency_key("ord_1/delivered/email"));
  EXPECT_NE(a, idempotency_key("ord_1/delivered/sms"));
  EXPECT_NE(a, idempotency_key("ord_2/delivered/email"));
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a.find("ord_1"), std::string::npos);
}
