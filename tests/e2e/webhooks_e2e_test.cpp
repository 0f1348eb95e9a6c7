// End-to-end tests of the outbox publisher: the real `mercato` binary delivers the events of
// stock changed through the API to a webhook receiver on loopback.

#include "runtime/util/crypto.hpp"
#include "tests/support/e2e_env.hpp"
#include "tests/support/webhook_receiver.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>

namespace {

namespace mt = mercato::test;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* webhook_secret = "e2e-outbox-secret-0123456789";

class WebhooksE2E : public ::testing::Test {
protected:
  void SetUp() override {
    auto dsn = mt::superuser_dsn();
    if (!dsn)
      GTEST_SKIP() << mt::test_database_url_env << " is unset";
    env_ = std::make_unique<mt::server_env>(*dsn);
    // The secret goes in a file, as a credential should (it has no flag).
    config_path_ = "/tmp/mercato-webhooks-e2e-" + std::to_string(::getpid()) + ".json";
    std::ofstream{config_path_} << json{{"webhooks", {{"secret", webhook_secret}}}}.dump();
  }

  void TearDown() override {
    if (env_ && env_->has_server())
      env_->server().dump_log_if_failed();
    env_.reset();
    if (!config_path_.empty())
      ::unlink(config_path_.c_str());
  }

  void start(int max_attempts) {
    mt::server_options opts;
    opts.extra_args = {"--config",
                       config_path_,
                       "--webhook-endpoints",
                       receiver_.url(),
                       "--webhook-max-attempts",
                       std::to_string(max_attempts),
                       "--webhook-backoff-min-ms",
                       "5",
                       "--webhook-backoff-max-ms",
                       "50",
                       "--webhook-poll-ms",
                       "20"};
    env_->start(opts);
    admin_ = env_->token("admin");
  }

  void create_stock(const std::string& sku) {
    auto res = env_->http().put(
      "/v1/products/" + sku,
      {{"name", "Product " + sku}, {"price_minor", 1999}, {"currency", "USD"}}, admin_);
    ASSERT_TRUE(res.status == 200 || res.status == 201) << res.describe();
    res = env_->http().put("/v1/stock/" + sku, {{"on_hand", 10}}, admin_);
    ASSERT_EQ(res.status, 200) << res.describe();
    res = env_->http().post("/v1/stock/" + sku + "/adjustments",
                            {{"delta", 5}, {"reason", "restock"}}, admin_);
    ASSERT_EQ(res.status, 200) << res.describe();
  }

  // The deduplicated events of aggregate `sku`, in arrival order.
  std::vector<json> events_of(const std::string& sku) {
    std::vector<json> out;
    for (const auto& r : receiver_.deduped()) {
      auto body = json::parse(r.body, nullptr, false);
      if (!body.is_discarded() && body.value("aggregate_id", "") == sku)
        out.push_back(body);
    }
    return out;
  }

  std::unique_ptr<mt::server_env> env_;
  std::string config_path_;
  mt::webhook_receiver receiver_;
  std::string admin_;
};

TEST_F(WebhooksE2E, StockEventsReachTheReceiverInSeqOrderThroughFailures) {
  receiver_.fail_next(3);
  start(8);
  create_stock("hook-mug");
  create_stock("hook-cup");
  ASSERT_TRUE(mt::eventually(
    [&] { return events_of("hook-mug").size() >= 2 && events_of("hook-cup").size() >= 2; }, 30s))
    << receiver_.requests().size() << " requests";
  for (const std::string sku : {"hook-mug", "hook-cup"}) {
    SCOPED_TRACE(sku);
    auto events = events_of(sku);
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i]["aggregate_type"], "stock");
      EXPECT_EQ(events[i]["seq"], static_cast<int64_t>(i + 1)) << events[i];
    }
  }
  for (const auto& r : receiver_.deduped()) {
    EXPECT_EQ(r.signature, mercato::util::hmac_sha256_hex(webhook_secret, r.body));
    EXPECT_EQ(json::parse(r.body)["id"], r.event_id);
  }
}

TEST_F(WebhooksE2E, AFailingEndpointEndsInTheAdminDeadLetters) {
  receiver_.fail_always(true);
  start(2);
  create_stock("hook-dead");
  json items;
  ASSERT_TRUE(mt::eventually(
    [&] {
      auto res = env_->http().get("/v1/admin/dead-letters?kind=webhook", admin_);
      if (res.status != 200)
        return false;
      items = res.json()["items"];
      return items.size() >= 2;
    },
    30s))
    << items;
  for (const auto& item : items) {
    EXPECT_EQ(item["kind"], "webhook") << item;
    EXPECT_EQ(item["target"], receiver_.url()) << item;
    EXPECT_EQ(item["aggregate_id"], "hook-dead") << item;
    EXPECT_EQ(item["attempts"], 2) << item;
  }
  EXPECT_EQ(receiver_.delivered_count(), 0u);

  // Back up, the endpoint takes a letter an operator sends again, signed like the rest, once.
  receiver_.fail_always(false);
  auto letter = items[0];
  auto target = "/v1/admin/dead-letters/" + letter["id"].get<std::string>() + "/retry";
  auto res = env_->http().post(target, json::object(), admin_);
  ASSERT_EQ(res.status, 200) << res.describe();
  EXPECT_TRUE(res.json()["resolved_at"].is_string()) << res.describe();
  ASSERT_TRUE(mt::eventually([&] { return receiver_.delivered_count() >= 1; }, 10s));
  auto got = receiver_.deduped();
  auto again = std::find_if(got.begin(), got.end(),
                            [&](const auto& r) { return r.event_id == letter["event_id"]; });
  ASSERT_NE(again, got.end());
  EXPECT_EQ(again->signature, mercato::util::hmac_sha256_hex(webhook_secret, again->body));
  EXPECT_EQ(json::parse(again->body)["aggregate_id"], "hook-dead");
  auto second = env_->http().post(target, json::object(), admin_);
  EXPECT_EQ(second.status, 409) << second.describe();
  EXPECT_EQ(second.json().value("code", ""), "conflict");
}

// An endpoint that is down does not lose its events to the dead letters: after five failed
// POSTs its circuit opens and the events wait; once it answers again, a probe after the
// cool-down closes the circuit and every event arrives, in order, none dead-lettered.
TEST_F(WebhooksE2E, ADownEndpointDefersItsEventsUntilItAnswersAgain) {
  receiver_.fail_always(true);
  start(8);
  create_stock("hook-down");
  auto circuit = [&] {
    auto res = env_->http().get("/v1/admin/circuits", admin_);
    for (const auto& c : res.json().value("items", json::array()))
      if (c.value("name", "") == "webhook " + receiver_.url())
        return c;
    return json::object();
  };
  ASSERT_TRUE(mt::eventually([&] { return circuit().value("state", "") == "open"; }, 30s))
    << circuit().dump();
  auto tried = receiver_.requests().size();
  EXPECT_EQ(tried, 5u) << "the circuit opens after five failed POSTs";
  receiver_.clear_failures();
  ASSERT_TRUE(mt::eventually([&] { return events_of("hook-down").size() >= 2; }, 30s))
    << receiver_.requests().size() << " requests; circuit " << circuit().dump();
  auto events = events_of("hook-down");
  for (size_t i = 0; i < events.size(); ++i)
    EXPECT_EQ(events[i]["seq"], static_cast<int64_t>(i + 1)) << events[i];
  EXPECT_EQ(circuit().value("state", ""), "closed");
  auto letters = env_->http().get("/v1/admin/dead-letters?kind=webhook", admin_);
  ASSERT_EQ(letters.status, 200) << letters.describe();
  EXPECT_TRUE(letters.json()["items"].empty()) << letters.body;
}

} // namespace
