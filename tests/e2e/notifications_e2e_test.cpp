// End-to-end tests of notifications: the real `mercato` binary on a fresh PostgreSQL database.
// Preferences are validated and kept per customer; an order walked through its milestones with
// duplicated and late facts fills the customer's inbox once per milestone, in their locale.

#include "tests/support/fake_provider.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/jwt_mint.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/shop_fixture.hpp"
#include "tests/support/smtp_sink.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

namespace mt = mercato::test;
using mt::eventually;
using json = nlohmann::json;
using namespace std::chrono_literals;

// RFC 3339 UTC, `offset` from now: facts must be recent, or the order would find itself late.
std::string rfc3339_from_now(std::chrono::seconds offset) {
  auto at = std::chrono::system_clock::now() + offset;
  std::time_t secs = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

class NotificationsE2E : public mt::shop_test {
protected:
  json valid_prefs() {
    return {
      {"channels", {{"in_app", true}, {"email", true}, {"sms", false}, {"push", false}}},
      {"email", "ada@example.com"},
      {"locale", "vi"},
      {"quiet_hours", {{"start", "22:00"}, {"end", "07:00"}, {"time_zone", "Asia/Ho_Chi_Minh"}}}};
  }

  mt::http_response post_fact(const std::string& order_id, const std::string& source,
                              const std::string& type, const std::string& external_id,
                              std::chrono::seconds occurred, json data = json::object()) {
    return http().post("/v1/orders/" + order_id + "/events",
                       {{"source", source},
                        {"type", type},
                        {"external_id", external_id},
                        {"occurred_at", rfc3339_from_now(occurred)},
                        {"data", std::move(data)}},
                       env_->token("service"));
  }
};

} // namespace

TEST_F(NotificationsE2E, PreferencesAreValidatedAndKeptPerCustomer) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto put = http().put("/v1/customers/ada/preferences", valid_prefs(), ada_);
  ASSERT_EQ(put.status, 200) << put.describe();
  auto body = put.json();
  EXPECT_EQ(body["version"], 1);
  EXPECT_EQ(body["channels"]["email"], true);
  EXPECT_EQ(body["quiet_hours"]["start"], "22:00");
  EXPECT_EQ(body["quiet_hours"]["time_zone"], "Asia/Ho_Chi_Minh");

  // Each bad body is a 400 problem naming the field, and changes nothing.
  auto bad = [&](json b, const std::string& field) {
    auto res = http().put("/v1/customers/ada/preferences", b, ada_);
    EXPECT_EQ(res.status, 400) << res.describe();
    EXPECT_EQ(res.header("content-type"), "application/problem+json") << res.describe();
    EXPECT_NE(res.body.find(field), std::string::npos) << field << ": " << res.describe();
  };
  auto p = valid_prefs();
  p["channels"]["fax"] = true;
  bad(p, "channels.fax");
  p = valid_prefs();
  p["channels"]["email"] = "yes";
  bad(p, "channels.email");
  p = valid_prefs();
  p["channels"]["sms"] = true; // no phone
  bad(p, "channels.sms");
  p = valid_prefs();
  p["email"] = "not-an-address";
  bad(p, "email");
  p = valid_prefs();
  p["phone"] = "0901234567";
  bad(p, "phone");
  p = valid_prefs();
  p["locale"] = "xx";
  bad(p, "locale");
  p = valid_prefs();
  p["quiet_hours"]["time_zone"] = "../../etc/passwd";
  bad(p, "quiet_hours.time_zone");
  p = valid_prefs();
  p["quiet_hours"]["start"] = "25:00";
  bad(p, "quiet_hours.start");
  p = valid_prefs();
  p["kinds"] = {{"birthday", {{"email", true}}}};
  bad(p, "kinds.birthday");
  p = valid_prefs();
  p.erase("channels");
  bad(p, "channels");
  auto malformed = http().request(
    mt::http_request{"PUT", "/v1/customers/ada/preferences", "{\"channels\":", {}}.bearer(ada_));
  EXPECT_EQ(malformed.status, 400) << malformed.describe();
  auto still = http().get("/v1/customers/ada/preferences", ada_);
  ASSERT_EQ(still.status, 200) << still.describe();
  EXPECT_EQ(still.json()["version"], 1);

  // Only the customer themselves or an admin.
  auto bob = mt::mint_token(env_->secret(), "bob", "customer");
  EXPECT_EQ(http().put("/v1/customers/ada/preferences", valid_prefs(), bob).status, 403);
  EXPECT_EQ(http().get("/v1/customers/ada/preferences", bob).status, 403);
  EXPECT_EQ(http().get("/v1/customers/ada/notifications", bob).status, 403);
  EXPECT_EQ(http().put("/v1/customers/ada/preferences", valid_prefs()).status, 401);
  EXPECT_EQ(
    http().put("/v1/customers/ada/preferences", valid_prefs(), env_->token("service")).status, 403);
  auto by_admin
    = http().put("/v1/customers/bob/preferences", {{"channels", {{"in_app", false}}}}, admin_);
  ASSERT_EQ(by_admin.status, 200) << by_admin.describe();
  EXPECT_EQ(by_admin.json()["channels"]["in_app"], false);
  auto fresh
    = http().get("/v1/customers/cy/preferences", mt::mint_token(env_->secret(), "cy", "customer"));
  ASSERT_EQ(fresh.status, 200) << fresh.describe();
  EXPECT_EQ(fresh.json()["version"], 0);
  EXPECT_EQ(fresh.json()["channels"]["in_app"], true);
}

TEST_F(NotificationsE2E, EveryMilestoneReachesTheInboxOnceInTheCustomersLocale) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  // The inbox only: nothing may be planned for email, SMS or push.
  auto prefs = http().put("/v1/customers/ada/preferences",
                          {{"channels", {{"in_app", true}}}, {"locale", "vi"}}, ada_);
  ASSERT_EQ(prefs.status, 200) << prefs.describe();
  auto order_id = place_order(ada_, "notify");
  ASSERT_FALSE(order_id.empty());
  // Facts duplicated (same and other external id) and one that arrives after its successor.
  ASSERT_EQ(post_fact(order_id, "manufacturing", "production_started", "mf-1", -60s).status, 202);
  ASSERT_EQ(post_fact(order_id, "manufacturing", "production_started", "mf-1", -60s).status, 202);
  ASSERT_EQ(post_fact(order_id, "manufacturing", "production_started", "mf-1b", -59s).status, 202);
  ASSERT_EQ(post_fact(order_id, "manufacturing", "production_completed", "mf-2", -50s).status, 202);
  ASSERT_EQ(post_fact(order_id, "logistics", "handed_to_carrier", "lg-1", -40s,
                      {{"carrier", "GHN"}, {"tracking_url", "https://track.example/1"}})
              .status,
            202);
  // Out for delivery happened before the delivery but is told after it: too late to notify.
  ASSERT_EQ(post_fact(order_id, "logistics", "delivered", "lg-3", -20s).status, 202);
  ASSERT_EQ(post_fact(order_id, "logistics", "out_for_delivery", "lg-2", -30s).status, 202);

  const std::set<std::string> expected{"order_confirmed", "production_started",
                                       "production_completed", "handed_to_carrier", "delivered"};
  json items;
  ASSERT_TRUE(eventually(
    [&] {
      auto res = http().get("/v1/customers/ada/notifications", ada_);
      items = res.status == 200 ? res.json()["items"] : json::array();
      return items.size() >= expected.size();
    },
    10s))
    << items;
  // A last fact after the others: once it is in the inbox, everything before it was fed.
  ASSERT_EQ(post_fact(order_id, "support", "returned", "sp-1", -10s).status, 202);
  ASSERT_EQ(post_fact(order_id, "payment", "refunded", "pay-9", -5s).status, 202);
  ASSERT_TRUE(eventually(
    [&] {
      items = http().get("/v1/customers/ada/notifications", ada_).json()["items"];
      return !items.empty() && items[0]["kind"] == "refunded";
    },
    10s))
    << items;
  std::multiset<std::string> kinds;
  for (const auto& n : items) {
    EXPECT_EQ(n["channel"], "in_app") << n;
    EXPECT_EQ(n["status"], "delivered") << n;
    EXPECT_EQ(n["order_id"], order_id) << n;
    EXPECT_EQ(n["locale"], "vi") << n;
    EXPECT_EQ(n["body"].get<std::string>().find("{{"), std::string::npos) << n;
    kinds.insert(n["kind"].get<std::string>());
  }
  auto all = expected;
  all.insert("refunded");
  EXPECT_EQ(kinds, std::multiset<std::string>(all.begin(), all.end()));
  for (const auto& n : items) {
    if (n["kind"] == "handed_to_carrier") {
      EXPECT_EQ(n["body"], "Đơn hàng " + order_id
                             + " của bạn đã được giao cho GHN. Theo dõi tại "
                               "https://track.example/1");
    }
  }

  // Nothing went to a channel she did not allow; the admin's log says the same.
  auto pending = http().get("/v1/admin/notifications?status=pending", admin_);
  ASSERT_EQ(pending.status, 200) << pending.describe();
  EXPECT_TRUE(pending.json()["items"].empty()) << pending.body;
  EXPECT_EQ(http().get("/v1/admin/notifications?status=lost", admin_).status, 400);
  EXPECT_EQ(http().get("/v1/admin/notifications", ada_).status, 403);
  auto admin_view = http().get("/v1/customers/ada/notifications?limit=2", admin_);
  ASSERT_EQ(admin_view.status, 200) << admin_view.describe();
  EXPECT_EQ(admin_view.json()["items"].size(), 2u);
  EXPECT_TRUE(admin_view.json()["next_cursor"].is_string());
  // The inbox is delivered at once: there is nothing to retry.
  auto id = items[0]["id"].get<std::string>();
  EXPECT_EQ(http().post("/v1/admin/notifications/" + id + "/retry", json::object(), admin_).status,
            409);
}

TEST_F(NotificationsE2E, EmailIsSubmittedToTheSmtpServerOnceWithRetries) {
  mt::smtp_sink sink;
  sink.refuse_next(2); // two temporary refusals, then it takes the message
  ASSERT_NO_FATAL_FAILURE(
    start_server({"--smtp-url", sink.url(), "--smtp-from", "orders@mercato.test",
                  "--notification-backoff-min-ms", "10", "--notification-backoff-max-ms", "20"}));
  auto prefs = http().put(
    "/v1/customers/ada/preferences",
    {{"channels", {{"in_app", true}, {"email", true}}}, {"email", "ada@example.com"}}, ada_);
  ASSERT_EQ(prefs.status, 200) << prefs.describe();
  auto order_id = place_order(ada_, "mail");
  ASSERT_FALSE(order_id.empty());
  json email;
  ASSERT_TRUE(eventually(
    [&] {
      auto items = http().get("/v1/customers/ada/notifications", ada_).json()["items"];
      for (const auto& n : items)
        if (n["channel"] == "email" && n["status"] == "delivered")
          email = n;
      return !email.is_null();
    },
    15s))
    << sink.refused();
  EXPECT_EQ(email["attempts"], 3) << email;
  EXPECT_EQ(sink.refused(), 2);
  auto got = sink.messages();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].rcpt_to.at(0), "<ada@example.com>");
  EXPECT_NE(got[0].data.find("Subject: Order " + order_id + " is confirmed"), std::string::npos)
    << got[0].data;
  // The time to notify is exported, once per accepted message.
  auto count
    = mt::metric_value(http().get("/metrics").body, "mercato_notification_delivery_seconds_count",
                       {{"channel", "email"}});
  ASSERT_TRUE(count.has_value());
  EXPECT_EQ(*count, 1.0);

  // The operator's view: mercatoctl lists the delivered email of this order.
  auto r
    = mt::run_command({mt::mercatoctl_binary(), "--json", "notifications", "--status", "delivered"},
                      {{"MERCATO_URL", env_->server().base_url()}, {"MERCATO_TOKEN", admin_}},
                      {"MERCATO_URL", "MERCATO_TOKEN"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  auto listed = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(listed.is_object()) << r.out;
  int emails = 0;
  for (const auto& n : listed["items"])
    emails += n["channel"] == "email" && n["order_id"] == order_id ? 1 : 0;
  EXPECT_EQ(emails, 1) << r.out;
  auto bad
    = mt::run_command({mt::mercatoctl_binary(), "notifications", "--status", "lost"},
                      {{"MERCATO_URL", env_->server().base_url()}, {"MERCATO_TOKEN", admin_}},
                      {"MERCATO_URL", "MERCATO_TOKEN"});
  EXPECT_NE(bad.exit_code, 0) << bad.describe();
}

// The rules change without a restart: SIGHUP reads the configuration file again. An order
// confirmed before goes to the inbox only; one confirmed after is also emailed.
TEST_F(NotificationsE2E, SighupReloadsTheRulesFromTheConfigurationFile) {
  auto path = ::testing::TempDir() + "mercato-rules-" + std::to_string(::getpid()) + ".json";
  auto write_rules = [&](const std::string& rules) {
    std::ofstream{path} << json{{"notifications", {{"rules", rules}}}}.dump();
  };
  write_rules("order_confirmed=in_app");
  // At info, the node logs each reload: the test waits for that line.
  ASSERT_NO_FATAL_FAILURE(start_server({"--config", path, "--log-level", "info"}));
  ASSERT_EQ(
    http()
      .put("/v1/customers/ada/preferences",
           {{"channels", {{"in_app", true}, {"email", true}}}, {"email", "ada@example.com"}}, ada_)
      .status,
    200);
  auto channels_of = [&](const std::string& order_id) {
    std::set<std::string> out;
    auto items = http().get("/v1/customers/ada/notifications", ada_).json()["items"];
    for (const auto& n : items)
      if (n.value("order_id", "") == order_id)
        out.insert(n.value("channel", ""));
    return out;
  };
  auto before = place_order(ada_, "rules-a");
  ASSERT_TRUE(eventually([&] { return channels_of(before).count("in_app") == 1; }, 10s));

  // SIGHUP, then true once the node logged `line` about it.
  auto hang_up_until_logged = [&](const std::string& line) {
    env_->server().signal(SIGHUP);
    return eventually(
      [&] { return env_->server().log_tail(1 << 20).find(line) != std::string::npos; }, 10s);
  };
  write_rules("order_confirmed=in_app,email");
  ASSERT_TRUE(hang_up_until_logged("notification rules reloaded"));
  auto after = place_order(ada_, "rules-b");
  ASSERT_TRUE(eventually([&] { return channels_of(after).size() == 2; }, 10s))
    << "channels of the later order";
  EXPECT_EQ(channels_of(before), std::set<std::string>{"in_app"}) << "nothing told twice";
  EXPECT_TRUE(env_->server().is_running());

  // A file that no longer loads changes nothing and stops nothing.
  std::ofstream{path} << "{not json";
  ASSERT_TRUE(hang_up_until_logged("configuration not reloaded"));
  EXPECT_TRUE(env_->server().is_running());
  ::unlink(path.c_str());
}

// kill -9 while 500 milestones are being sent by SMS: after the restart each goes out once at the
// provider (which honours idempotency keys, as SMS APIs do); a message whose send was cut off
// before it was recorded is repeated with its own key, so the provider sends it once anyway.
TEST_F(NotificationsE2E, AKillNineDuringABurstOfFiveHundredMilestonesSendsEachOnce) {
  mt::fake_provider sms;
  // The kill lands inside the burst: the provider answers 150 calls and holds the next one.
  sms.hold_after(150);
  // One customer places 100 orders in a few seconds: past the per-client write limit.
  ASSERT_NO_FATAL_FAILURE(start_server({"--sms-url", sms.url(), "--rate-write-rps", "0"}));
  auto kim = mt::mint_token(env_->secret(), "kim", "customer");
  auto prefs = http().put(
    "/v1/customers/kim/preferences",
    {{"channels", {{"in_app", false}, {"email", false}, {"sms", true}}}, {"phone", "+15550100"}},
    kim);
  ASSERT_EQ(prefs.status, 200) << prefs.describe();
  constexpr int orders = 100;
  auto sku = stocked_product("burst", 1000, orders);
  std::vector<std::string> order_ids;
  for (int i = 0; i < orders; ++i) {
    auto cart = filled_cart(kim, {{sku, 1}});
    auto res = http().request(mt::checkout_request("burst-" + cart, mt::checkout_body(cart), kim));
    ASSERT_EQ(res.status, 201) << res.describe();
    order_ids.push_back(res.json().at("order_id").get<std::string>());
  }
  // Four more milestones each: 100 confirmations + 400 facts = 500 messages.
  const std::vector<std::pair<std::string, std::string>> facts{
    {"manufacturing", "production_started"},
    {"manufacturing", "production_completed"},
    {"logistics", "handed_to_carrier"},
    {"logistics", "delivered"}};
  for (const auto& order_id : order_ids) {
    json batch = json::array();
    int k = 0;
    for (const auto& [source, type] : facts)
      batch.push_back({{"order_id", order_id},
                       {"source", source},
                       {"type", type},
                       {"external_id", type},
                       {"occurred_at", rfc3339_from_now(std::chrono::seconds{-60 + 10 * k++})}});
    auto res = http().post("/v1/events", batch, env_->token("service"));
    ASSERT_EQ(res.status, 207) << res.describe();
  }
  ASSERT_TRUE(eventually([&] { return sms.calls().size() == 151; }, 60s)) << sms.calls().size();
  env_->server().kill9();
  auto before_restart = sms.calls().size();
  ASSERT_EQ(before_restart, 151u) << "one call at a time per customer";
  sms.release();
  ASSERT_NO_FATAL_FAILURE(env_->restart());

  // What the killed sender had claimed goes again at once, not when its lease (60 s) runs out.
  ASSERT_TRUE(eventually([&] { return sms.sent().size() >= 500; }, 90s)) << sms.sent().size();
  EXPECT_NE(env_->server().log_tail(1 << 20).find("an earlier sender claimed and never recorded"),
            std::string::npos);
  // Each (order, milestone) once at the provider, and the log agrees: nothing left to send.
  std::map<std::string, int> per_order;
  std::set<std::string> keys;
  for (const auto& c : sms.sent()) {
    EXPECT_EQ(c.body.value("to", ""), "+15550100") << c.body;
    keys.insert(c.idempotency_key);
  }
  EXPECT_EQ(keys.size(), 500u);
  auto repeated = sms.calls().size() - sms.sent().size();
  std::cout << "[ notifications ] kill -9 after " << before_restart << " of 500 SMS calls; "
            << repeated << " repeated with their key after the restart\n";
  EXPECT_LE(repeated, 1u) << "the sender sends one message at a time";
  ASSERT_TRUE(eventually(
    [&] {
      auto pending = http().get("/v1/admin/notifications?status=pending", admin_);
      return pending.status == 200 && pending.json()["items"].empty();
    },
    30s));
  // The log agrees: 500 SMS deliveries, each delivered.
  std::map<std::string, int> by_status;
  std::string target = "/v1/customers/kim/notifications?limit=100";
  for (int page = 0; page < 20; ++page) {
    auto body = http().get(target, admin_).json();
    for (const auto& n : body["items"])
      ++by_status[n["channel"].get<std::string>() + "/" + n["status"].get<std::string>()];
    if (!body["next_cursor"].is_string())
      break;
    target = "/v1/customers/kim/notifications?limit=100&cursor="
             + body["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(by_status, (std::map<std::string, int>{{"sms/delivered", 500}}));
}
