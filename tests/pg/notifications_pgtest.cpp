// The notification feeder (adapters/pg/notifications_projection.cpp) and store against a real
// PostgreSQL: each milestone of an order becomes one delivery per planned channel, whatever
// duplicates, late facts and restarts of the feeder; opted-out channels get nothing; the texts
// are in the customer's locale; preferences round-trip; the admin retry moves only failed ones.

#include "adapters/pg/notification_dispatcher.hpp"
#include "adapters/pg/notification_store.hpp"
#include "tests/support/e2e_env.hpp"
#include "tests/support/fake_provider.hpp"
#include "tests/support/projection_fixture.hpp"
#include "tests/support/smtp_sink.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>
#include <thread>

namespace mercato::test {
namespace {

class Notifications : public projection_test {
protected:
  std::string projection_name() const override {
    return "notifications";
  }

  void spawn_actors() override {
    projection_test::spawn_actors();
    store = pg::spawn_notification_store(sys(), url(), 1);
  }

  void TearDown() override {
    store = nullptr;
    projection_test::TearDown();
  }

  static order_event fact(const std::string& type, const std::string& status_after,
                          const std::string& external_id, std::string data = "{}") {
    auto e = order_ev("fact_recorded", status_after, 1'700'000'100'000);
    e.status.clear();
    e.fact.type = type;
    e.fact.source = "logistics";
    e.fact.external_id = external_id;
    e.fact.data = std::move(data);
    return e;
  }

  static order_event confirmed_placement(const std::string& id, const std::string& customer) {
    auto e = placed(id, customer, 1234, 1'700'000'000'000);
    e.status_after = "confirmed";
    e.placement.email = "checkout@example.com";
    return e;
  }

  void put_prefs(notification_preferences p) {
    auto res = ask<notification_preferences>(store, atom::put_v, std::move(p));
    ASSERT_TRUE(res) << render(res.error());
  }

  // "kind/channel/status" of every delivery of `order`, in key order.
  std::string deliveries(const std::string& order) {
    return scalar<std::string>(
      "SELECT COALESCE(string_agg(milestone || '/' || channel || '/' || status, ' ' ORDER BY "
      "delivery_key), '') FROM notifications WHERE order_id = '"
      + order + "'");
  }

  static std::string render(const caf::error& err) {
    return caf::to_string(err);
  }

  pg::dispatcher_settings email_settings(int max_attempts) const {
    pg::dispatcher_settings cfg;
    cfg.smtp.url = sink.url();
    cfg.smtp.from = "orders@mercato.test";
    cfg.smtp.timeout = std::chrono::milliseconds{5000};
    cfg.retry = {max_attempts, 1, 2}; // milliseconds: the test waits on conditions, not delays
    return cfg;
  }

  // Sends rounds until the email delivery of `order` is no longer pending (deadline 10 s).
  std::string email_status_after_rounds(const std::string& order, int max_attempts) {
    std::string status;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    do {
      pg::dispatch_once(url(), email_settings(max_attempts));
      status = scalar<std::string>("SELECT status FROM notifications WHERE order_id = '" + order
                                   + "' AND channel = 'email'");
    } while (status == "pending" && std::chrono::steady_clock::now() < deadline);
    return status;
  }

  // Sends rounds with `cfg` until the `channel` delivery of `order` is no longer pending
  // (deadline 10 s).
  std::string status_after_rounds(const std::string& order, const std::string& channel,
                                  const pg::dispatcher_settings& cfg) {
    std::string status;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    do {
      pg::dispatch_once(url(), cfg);
      status = scalar<std::string>("SELECT COALESCE(max(status), 'none') FROM notifications "
                                   "WHERE order_id = '"
                                   + order + "' AND channel = '" + channel + "'");
    } while ((status == "pending" || status == "none")
             && std::chrono::steady_clock::now() < deadline);
    return status;
  }

  pg::dispatcher_settings provider_settings(int max_attempts) const {
    auto cfg = email_settings(max_attempts);
    cfg.sms = {sms.url(), "sms-key", std::chrono::milliseconds{300}};
    cfg.push = {push.url(), "push-key", std::chrono::milliseconds{300}};
    return cfg;
  }

  void text_only_customer(const std::string& id) {
    notification_preferences p;
    p.customer_id = id;
    p.channels = {true, false, true, true}; // in-app, SMS, push; no email
    p.phone = "+84901230000";
    put_prefs(p);
  }

  notification_store_actor store;
  smtp_sink sink;
  fake_provider sms;
  fake_provider push;
};

TEST_F(Notifications, EachMilestoneOncePerChannelDespiteDuplicatesAndLateFacts) {
  notification_preferences p;
  p.customer_id = "ada";
  p.channels = {true, true, false, false};
  p.email = "ada@example.com";
  p.locale = "vi";
  put_prefs(p);
  append("order", "o-1", 1, {caf::make_message(confirmed_placement("o-1", "ada"))});
  append("order", "o-1", 2,
         {caf::make_message(fact("handed_to_carrier", "shipped", "lg-1", R"({"carrier":"GHN"})")),
          caf::make_message(fact("handed_to_carrier", "shipped", "lg-1-dup")),
          caf::make_message(fact("in_transit", "shipped", "lg-2"))});
  append("order", "o-1", 5,
         {caf::make_message(fact("delivered", "delivered", "lg-3")),
          // Late: the order is delivered already, so nobody is told it is on the way.
          caf::make_message(fact("out_for_delivery", "delivered", "lg-4"))});
  ASSERT_TRUE(synced());
  EXPECT_EQ(deliveries("o-1"), "delivered/email/pending delivered/in_app/delivered "
                               "handed_to_carrier/email/pending handed_to_carrier/in_app/delivered "
                               "order_confirmed/email/pending order_confirmed/in_app/delivered");
  EXPECT_EQ(scalar<std::string>("SELECT body FROM notifications WHERE order_id = 'o-1' AND "
                                "kind = 'handed_to_carrier' AND channel = 'in_app'"),
            "Đơn hàng o-1 của bạn đã được giao cho GHN.");
  EXPECT_EQ(scalar<std::string>("SELECT address FROM notifications WHERE order_id = 'o-1' AND "
                                "kind = 'delivered' AND channel = 'email'"),
            "ada@example.com");
  // A restarted feeder replays nothing twice: the offset moved with the rows.
  stop_runner();
  start_runner();
  append("order", "o-1", 7, {caf::make_message(fact("delivered", "delivered", "lg-5"))});
  ASSERT_TRUE(synced());
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM notifications WHERE order_id = 'o-1'"), 6);
}

TEST_F(Notifications, OptedOutChannelsReceiveNothing) {
  notification_preferences p;
  p.customer_id = "bob";
  p.channels = {false, false, false, false}; // nothing at all
  p.kinds.push_back({"delivered", {true, false, false, false}});
  put_prefs(p);
  append("order", "o-2", 1, {caf::make_message(confirmed_placement("o-2", "bob"))});
  append("order", "o-2", 2, {caf::make_message(fact("delivered", "delivered", "lg-1"))});
  ASSERT_TRUE(synced());
  EXPECT_EQ(deliveries("o-2"), "delivered/in_app/delivered");
}

TEST_F(Notifications, WithoutPreferencesTheInboxAndTheCheckoutAddressAreUsed) {
  append("order", "o-3", 1, {caf::make_message(confirmed_placement("o-3", "cy"))});
  ASSERT_TRUE(synced());
  EXPECT_EQ(deliveries("o-3"), "order_confirmed/email/pending order_confirmed/in_app/delivered");
  EXPECT_EQ(scalar<std::string>("SELECT subject || ' | ' || address FROM notifications WHERE "
                                "order_id = 'o-3' AND channel = 'email'"),
            "Order o-3 is confirmed | checkout@example.com");
}

TEST_F(Notifications, PreferencesRoundTripAndDefaultToTheInbox) {
  auto none = ask<notification_preferences>(store, atom::get_v, std::string{"dan"});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->version, 0u);
  EXPECT_TRUE(none->channels.in_app);
  EXPECT_FALSE(none->channels.email);
  notification_preferences p;
  p.customer_id = "dan";
  p.channels = {true, false, true, false};
  p.kinds.push_back({"delay_warning", {false, false, true, false}});
  p.kinds.push_back({"delivered", {true, false, false, true}});
  p.phone = "+84901234567";
  p.locale = "vi";
  p.quiet = {true, 22 * 60, 7 * 60, "Asia/Ho_Chi_Minh"};
  put_prefs(p);
  put_prefs(p);
  auto got = ask<notification_preferences>(store, atom::get_v, std::string{"dan"});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->version, 2u);
  EXPECT_EQ(got->channels, p.channels);
  EXPECT_EQ(got->kinds, p.kinds);
  EXPECT_EQ(got->phone, p.phone);
  EXPECT_EQ(got->locale, "vi");
  EXPECT_EQ(got->quiet, p.quiet);
}

TEST_F(Notifications, ListsPageNewestFirstAndRetryMovesOnlyFailedOnes) {
  append("order", "o-4", 1, {caf::make_message(confirmed_placement("o-4", "eve"))});
  append("order", "o-4", 2,
         {caf::make_message(fact("production_started", "in_production", "mf-1"))});
  ASSERT_TRUE(synced());
  notification_query q;
  q.customer_id = "eve";
  q.limit = 3;
  auto page = ask<notification_page>(store, atom::list_v, q);
  ASSERT_TRUE(page) << render(page.error());
  ASSERT_EQ(page->items.size(), 3u);
  EXPECT_FALSE(page->next_cursor.empty());
  EXPECT_GT(std::stoll(page->items[0].id), std::stoll(page->items[1].id));
  q.cursor = page->next_cursor;
  auto rest = ask<notification_page>(store, atom::list_v, q);
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->items.size(), 1u);
  EXPECT_TRUE(rest->next_cursor.empty());
  q.cursor = "garbage!";
  EXPECT_FALSE(ask<notification_page>(store, atom::list_v, q));
  auto pending = page->items[0].channel == "email" ? page->items[0] : page->items[1];
  ASSERT_EQ(pending.status, "pending");
  auto refused = ask<notification_record>(store, atom::retry_v, pending.id);
  EXPECT_FALSE(refused);
  query("UPDATE notifications SET status = 'dead', attempts = 5 WHERE id = " + pending.id);
  auto again = ask<notification_record>(store, atom::retry_v, pending.id);
  ASSERT_TRUE(again) << render(again.error());
  EXPECT_EQ(again->status, "pending");
  EXPECT_EQ(again->attempts, 5);
  EXPECT_FALSE(ask<notification_record>(store, atom::retry_v, std::string{"999999"}));
  notification_query dead;
  dead.status = "dead";
  auto none = ask<notification_page>(store, atom::list_v, dead);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->items.empty());
}

TEST_F(Notifications, EmailIsSentOnceWithItsIdempotencyKeyAndEveryAttemptIsLogged) {
  append("order", "o-5", 1, {caf::make_message(confirmed_placement("o-5", "fay"))});
  ASSERT_TRUE(synced());
  ASSERT_EQ(email_status_after_rounds("o-5", 3), "delivered");
  EXPECT_EQ(pg::dispatch_once(url(), email_settings(3)), 0); // nothing is due any more
  auto got = sink.messages();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].rcpt_to.at(0), "<checkout@example.com>");
  EXPECT_EQ(got[0].message_id,
            "<" + notify::idempotency_key("o-5/order_confirmed/email") + "@mercato.invalid>");
  EXPECT_EQ(scalar<std::string>("SELECT string_agg(outcome || ':' || attempt, ',') FROM "
                                "notification_attempts"),
            "accepted:1");
}

TEST_F(Notifications, EmailRetriesThenFallsBackToSmsAndLogsEachAttempt) {
  notification_preferences p;
  p.customer_id = "gus";
  p.channels = {true, true, true, false};
  p.email = "gus@example.com";
  p.phone = "+84901234567";
  put_prefs(p);
  append("order", "o-6", 1, {caf::make_message(confirmed_placement("o-6", "gus"))});
  ASSERT_TRUE(synced());
  sink.refuse_next(3);
  ASSERT_EQ(email_status_after_rounds("o-6", 3), "failed");
  EXPECT_EQ(sink.refused(), 3);
  EXPECT_TRUE(sink.messages().empty());
  EXPECT_EQ(scalar<std::string>("SELECT string_agg(outcome || ':' || attempt, ',' ORDER BY id) "
                                "FROM notification_attempts"),
            "failed:1,failed:2,failed:3");
  EXPECT_EQ(deliveries("o-6"), "order_confirmed/email/failed order_confirmed/in_app/delivered "
                               "order_confirmed/sms/pending");
  EXPECT_EQ(scalar<std::string>("SELECT address || ' ' || subject FROM notifications WHERE "
                                "order_id = 'o-6' AND channel = 'sms'"),
            "+84901234567 Order o-6 is confirmed");
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM dead_letters"), 0);
}

TEST_F(Notifications, QuietHoursEndWhereTheCustomersClockSaysAndAnUnknownZoneIsUtc) {
  auto until = [&](const std::string& tz, int start, int end, const std::string& at) {
    return scalar<std::string>("SELECT COALESCE(to_char(mercato_quiet_until('" + tz + "', "
                               + std::to_string(start) + ", " + std::to_string(end) + ", '" + at
                               + "') AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), 'none')");
  };
  constexpr int ten_pm = 22 * 60, seven_am = 7 * 60, nine_am = 9 * 60, five_pm = 17 * 60;
  EXPECT_EQ(until("UTC", ten_pm, seven_am, "2026-01-01 23:30+00"), "2026-01-02 07:00");
  EXPECT_EQ(until("UTC", ten_pm, seven_am, "2026-01-02 06:59+00"), "2026-01-02 07:00");
  EXPECT_EQ(until("UTC", ten_pm, seven_am, "2026-01-02 07:00+00"), "none");
  EXPECT_EQ(until("UTC", ten_pm, seven_am, "2026-01-01 12:00+00"), "none");
  EXPECT_EQ(until("UTC", nine_am, five_pm, "2026-01-01 09:00+00"), "2026-01-01 17:00");
  EXPECT_EQ(until("UTC", nine_am, five_pm, "2026-01-01 08:59+00"), "none");
  // 23:00 in Ho Chi Minh City (UTC+7) is quiet until 07:00 there, midnight UTC.
  EXPECT_EQ(until("Asia/Ho_Chi_Minh", ten_pm, seven_am, "2026-01-01 16:00+00"), "2026-01-02 00:00");
  EXPECT_EQ(until("Asia/Ho_Chi_Minh", ten_pm, seven_am, "2026-01-01 12:00+00"), "none");
  EXPECT_EQ(until("Not/A_Zone", ten_pm, seven_am, "2026-01-01 23:30+00"), "2026-01-02 07:00");
  EXPECT_EQ(until("UTC", ten_pm, ten_pm, "2026-01-01 22:30+00"), "none") << "an empty window";
}

TEST_F(Notifications, AnEmailDueInQuietHoursWaitsForTheirEndAndAnUrgentOneDoesNot) {
  // Quiet from an hour ago to an hour from now, on the customer's clock.
  auto now_min
    = scalar<int>("SELECT (extract(hour FROM now() AT TIME ZONE 'Asia/Ho_Chi_Minh') * "
                  "60 + extract(minute FROM now() AT TIME ZONE 'Asia/Ho_Chi_Minh'))::int");
  notification_preferences p;
  p.customer_id = "ivy";
  p.channels = {true, true, false, false};
  p.email = "ivy@example.com";
  p.quiet = {true, (now_min + 1440 - 60) % 1440, (now_min + 60) % 1440, "Asia/Ho_Chi_Minh"};
  put_prefs(p);
  append("order", "o-8", 1, {caf::make_message(confirmed_placement("o-8", "ivy"))});
  ASSERT_TRUE(synced());
  EXPECT_EQ(pg::dispatch_once(url(), email_settings(3)), 0);
  EXPECT_TRUE(sink.messages().empty());
  EXPECT_EQ(deliveries("o-8"), "order_confirmed/email/pending order_confirmed/in_app/delivered")
    << "the inbox is not interrupted by quiet hours";
  auto wait_s = scalar<double>("SELECT extract(epoch FROM next_attempt_at - now()) FROM "
                               "notifications WHERE order_id = 'o-8' AND channel = 'email'");
  EXPECT_GT(wait_s, 58 * 60) << "deferred to the end of the quiet hours";
  EXPECT_LE(wait_s, 60 * 60);
  // An urgent delivery (as a rule may make it) is sent through the quiet hours.
  query("UPDATE notifications SET priority = 'urgent', next_attempt_at = now() WHERE order_id = "
        "'o-8' AND channel = 'email'");
  ASSERT_EQ(email_status_after_rounds("o-8", 3), "delivered");
  EXPECT_EQ(sink.messages().size(), 1u);
}

TEST_F(Notifications, AnSmsThatKeepsFailingFallsBackToPushEachWithItsIdempotencyKey) {
  text_only_customer("jo");
  append("order", "o-9", 1, {caf::make_message(confirmed_placement("o-9", "jo"))});
  ASSERT_TRUE(synced());
  sms.answer_with(503);
  ASSERT_EQ(status_after_rounds("o-9", "sms", provider_settings(2)), "failed");
  ASSERT_EQ(status_after_rounds("o-9", "push", provider_settings(2)), "delivered");
  auto texts = sms.calls();
  ASSERT_EQ(texts.size(), 2u) << "two attempts on SMS";
  for (const auto& c : texts) {
    EXPECT_EQ(c.target, "/v1/messages");
    EXPECT_EQ(c.authorization, "Bearer sms-key");
    EXPECT_EQ(c.idempotency_key, notify::idempotency_key("o-9/order_confirmed/sms"));
    EXPECT_EQ(c.body.value("to", ""), "+84901230000");
    EXPECT_EQ(c.body.value("body", "").find("o-9") != std::string::npos, true) << c.body;
  }
  auto pushed = push.calls();
  ASSERT_EQ(pushed.size(), 1u);
  EXPECT_EQ(pushed[0].target, "/v1/push");
  EXPECT_EQ(pushed[0].authorization, "Bearer push-key");
  EXPECT_EQ(pushed[0].body.value("customer_id", ""), "jo");
  EXPECT_EQ(pushed[0].idempotency_key, notify::idempotency_key("o-9/order_confirmed/push"));
  EXPECT_EQ(deliveries("o-9"), "order_confirmed/in_app/delivered order_confirmed/push/delivered "
                               "order_confirmed/sms/failed");
  EXPECT_EQ(scalar<std::string>("SELECT string_agg(channel || ':' || outcome, ',' ORDER BY id) "
                                "FROM notification_attempts"),
            "sms:failed,sms:failed,push:accepted");
}

TEST_F(Notifications, ARefusedSmsFallsBackAtOnceAndASlowProviderIsAskedAgainWithTheSameKey) {
  text_only_customer("kim");
  append("order", "o-10", 1, {caf::make_message(confirmed_placement("o-10", "kim"))});
  ASSERT_TRUE(synced());
  sms.answer_with(400);                                  // refused for good: not repeated
  push.answer_with(200, std::chrono::milliseconds{400}); // past the 300 ms timeout
  EXPECT_EQ(status_after_rounds("o-10", "sms", provider_settings(3)), "failed");
  EXPECT_EQ(sms.calls().size(), 1u);
  pg::dispatch_once(url(), provider_settings(3)); // the push times out: outcome unknown
  EXPECT_EQ(scalar<std::string>("SELECT outcome FROM notification_attempts WHERE channel = "
                                "'push'"),
            "unknown");
  push.answer_with(200);
  ASSERT_EQ(status_after_rounds("o-10", "push", provider_settings(3)), "delivered");
  auto pushed = push.calls();
  ASSERT_EQ(pushed.size(), 2u);
  EXPECT_EQ(pushed[0].idempotency_key, pushed[1].idempotency_key)
    << "a repeat carries the same key, so that the provider sends it once";
}

TEST_F(Notifications, EmailRefusedForGoodWithNoOtherChannelIsDeadLettered) {
  notification_preferences p;
  p.customer_id = "hal";
  p.channels = {false, true, false, false};
  p.email = "hal@example.com";
  put_prefs(p);
  append("order", "o-7", 1, {caf::make_message(confirmed_placement("o-7", "hal"))});
  ASSERT_TRUE(synced());
  sink.refuse_always(true);
  ASSERT_EQ(email_status_after_rounds("o-7", 5), "dead");
  EXPECT_EQ(sink.refused(), 1); // a 550 is not repeated
  EXPECT_EQ(scalar<std::string>("SELECT kind || ' ' || target || ' ' || aggregate_id || ' ' || "
                                "attempts FROM dead_letters"),
            "notification customer:hal o-7 1");
  // The letter names the delivery, never the address.
  EXPECT_EQ(scalar<int>("SELECT count(*) FROM dead_letters WHERE payload::text LIKE '%@%'"), 0);
  auto dead = ask<notification_page>(store, atom::list_v, notification_query{"", "dead", 10, ""});
  ASSERT_TRUE(dead);
  ASSERT_EQ(dead->items.size(), 1u);
  EXPECT_EQ(dead->items[0].order_id, "o-7");
}

TEST_F(Notifications, OneCustomersHangingProviderHoldsUpNoOneElseAndTheirOwnMessagesKeepOrder) {
  // hana: push, but the carrier hand-over by SMS; ivo: SMS.
  notification_preferences hana;
  hana.customer_id = "hana";
  hana.channels = {false, false, false, true};
  hana.kinds.push_back({"handed_to_carrier", {false, false, true, false}});
  hana.phone = "+84900000001";
  put_prefs(hana);
  notification_preferences ivo;
  ivo.customer_id = "ivo";
  ivo.channels = {false, false, true, false};
  ivo.phone = "+84900000002";
  put_prefs(ivo);
  append("order", "o-h", 1, {caf::make_message(confirmed_placement("o-h", "hana"))});
  append("order", "o-h", 2,
         {caf::make_message(fact("handed_to_carrier", "shipped", "lg-1")),
          caf::make_message(fact("delivered", "delivered", "lg-2"))});
  append("order", "o-i", 1, {caf::make_message(confirmed_placement("o-i", "ivo"))});
  ASSERT_TRUE(synced());

  push.hold(); // hana's first message hangs at the push provider
  auto cfg = provider_settings(3);
  cfg.push.timeout = cfg.sms.timeout = std::chrono::seconds{30};
  cfg.poll = std::chrono::milliseconds{20};
  auto sender = pg::spawn_notification_dispatcher(sys(), url(), cfg);
  auto status_of = [&](const std::string& order, const std::string& kind) {
    return scalar<std::string>("SELECT status FROM notifications WHERE order_id = '" + order
                               + "' AND kind = '" + kind + "'");
  };
  ASSERT_TRUE(eventually([&] { return status_of("o-i", "order_confirmed") == "delivered"; },
                         std::chrono::seconds{10}))
    << "ivo is told while hana's provider hangs";
  ASSERT_TRUE(eventually([&] { return push.calls().size() == 1; }, std::chrono::seconds{10}));
  for (const auto& c : sms.calls())
    EXPECT_EQ(c.body.value("to", ""), "+84900000002") << "hana's SMS waits for her push";
  EXPECT_EQ(status_of("o-h", "handed_to_carrier"), "pending");

  auto released_at = std::chrono::steady_clock::now();
  push.release();
  ASSERT_TRUE(eventually(
    [&] {
      return scalar<int>("SELECT count(*) FROM notifications WHERE order_id = 'o-h' AND status = "
                         "'delivered'")
             == 3;
    },
    std::chrono::seconds{10}));
  caf::anon_send_exit(sender, caf::exit_reason::user_shutdown);

  // Her messages left one at a time, in the order they fell due, each once.
  auto pushed = push.calls();
  ASSERT_EQ(pushed.size(), 2u);
  EXPECT_EQ(pushed[0].idempotency_key, notify::idempotency_key("o-h/order_confirmed/push"));
  EXPECT_EQ(pushed[1].idempotency_key, notify::idempotency_key("o-h/delivered/push"));
  std::vector<fake_provider::call> hers;
  for (const auto& c : sms.calls())
    if (c.body.value("to", "") == "+84900000001")
      hers.push_back(c);
  ASSERT_EQ(hers.size(), 1u);
  EXPECT_EQ(hers[0].idempotency_key, notify::idempotency_key("o-h/handed_to_carrier/sms"));
  EXPECT_GT(hers[0].at, released_at) << "sent only once the message before it was answered";
  EXPECT_GT(pushed[1].at, hers[0].at);
  EXPECT_EQ(sms.calls().size(), 2u);
}

TEST_F(Notifications, RebuildIsRefusedBecauseItWouldNotifyAgain) {
  EXPECT_THROW(pg::rebuild_projection(url(), "notifications"), std::invalid_argument);
}

} // namespace
} // namespace mercato::test
