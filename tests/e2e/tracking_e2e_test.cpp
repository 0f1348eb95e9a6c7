// End-to-end tests of tracking tokens (claim `order`, minted by `mercatoctl token --order`): the
// real server on a fresh PostgreSQL database, over REST and /v1/ws. Such a token reads its one
// order and that order's timeline, and follows `order:{id}`; everything else is 403 `forbidden`.

#include "tests/support/shop_fixture.hpp"
#include "tests/support/ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace mt = mercato::test;
using mt::ws_client;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* refused = "a tracking token only reads its own order";

class TrackingTokenE2E : public mt::shop_test {
protected:
  void SetUp() override {
    shop_test::SetUp();
    if (!env_)
      return;
    start_server();
    order_ = place_order(ada_, "tracked");
    other_ = place_order(ada_, "untracked");
    ASSERT_FALSE(order_.empty());
    ASSERT_FALSE(other_.empty());
    // Settled and confirmed: no event of these orders comes unasked while a test subscribes.
    for (const auto& id : {order_, other_})
      ASSERT_TRUE(mt::eventually(
        [&] {
          return http().get("/v1/orders/" + id, ada_).json().value("status", "") == "confirmed";
        },
        10s));
  }

  /// `mercatoctl token ARGS...` with the server's secret.
  mt::command_result mint(std::vector<std::string> args) {
    args.insert(args.begin(), {mt::mercatoctl_binary(), "token"});
    try {
      return mt::run_command(args, {{"MERCATO_JWT_SECRET", env_->secret()}},
                             {"MERCATO_JWT_ISSUER", "MERCATO_JWT_AUDIENCE"});
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      return {};
    }
  }

  /// A tracking token of `sub` for `order`, as an email's link would carry it.
  std::string tracking_token(const std::string& order, const std::string& sub = "ada") {
    auto r = mint({"--sub", sub, "--role", "customer", "--order", order, "--ttl", "900"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    auto token = r.out;
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r'))
      token.pop_back();
    return token;
  }

  /// Expects 403 `forbidden` with the tracking detail.
  static void expect_refused(const mt::http_response& res, const std::string& what) {
    EXPECT_EQ(res.status, 403) << what << ": " << res.describe();
    if (res.status == 403) {
      EXPECT_EQ(res.header("content-type"), "application/problem+json") << what;
      EXPECT_EQ(res.json().value("code", ""), "forbidden") << what;
      EXPECT_EQ(res.json().value("detail", ""), refused) << what;
    }
  }

  /// A partner's fact `type` about order_, that occurred a minute ago; returns its external id.
  std::string post_fact(const std::string& type) {
    auto t = std::time(nullptr) - 60;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char at[32];
    std::strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    auto id = "tracking-" + type;
    auto res = http().post(
      "/v1/orders/" + order_ + "/events",
      {{"source", "manufacturing"}, {"type", type}, {"external_id", id}, {"occurred_at", at}},
      env_->token("service"));
    EXPECT_EQ(res.status, 202) << res.describe();
    return id;
  }

  std::unique_ptr<ws_client> connect(const std::string& token) {
    ws_client::options o;
    o.token = token;
    return std::make_unique<ws_client>(env_->server().port(), o);
  }

  std::string order_;
  std::string other_; ///< another order of the same customer
};

TEST_F(TrackingTokenE2E, ReadsItsOrderAndTimelineAndNothingElse) {
  auto token = tracking_token(order_);
  ASSERT_FALSE(token.empty());

  auto order = http().get("/v1/orders/" + order_, token);
  ASSERT_EQ(order.status, 200) << order.describe();
  EXPECT_EQ(order.json().at("order_id"), order_);
  EXPECT_EQ(order.json().at("customer_id"), "ada");
  auto fact = post_fact("production_started");
  auto timeline = http().get("/v1/orders/" + order_ + "/timeline", token);
  ASSERT_EQ(timeline.status, 200) << timeline.describe();
  EXPECT_EQ(timeline.json().at("order_id"), order_);
  ASSERT_EQ(timeline.json().at("events").size(), 1u) << timeline.describe();
  EXPECT_EQ(timeline.json().at("events")[0].value("external_id", ""), fact);

  // The same customer's other order, and every other route a customer token may use.
  expect_refused(http().get("/v1/orders/" + other_, token), "another order");
  expect_refused(http().get("/v1/orders/" + other_ + "/timeline", token), "another timeline");
  expect_refused(http().get("/v1/orders", token), "the list of orders");
  expect_refused(http().get("/v1/orders?customer_id=ada", token), "the list, filtered");
  expect_refused(http().post("/v1/orders/" + order_ + "/cancel", {{"reason", "x"}}, token),
                 "cancelling its own order");
  expect_refused(http().post("/v1/carts", json::object(), token), "a cart");
  auto cart_id = filled_cart(ada_, {{stocked_product("tracking-cart", 900, 5), 1}});
  expect_refused(http().get("/v1/carts/" + cart_id, token), "the customer's cart");
  expect_refused(
    http().request(mt::checkout_request("tracking-" + cart_id, mt::checkout_body(cart_id), token)),
    "a checkout");
  expect_refused(http().put("/v1/customers/ada/preferences",
                            {{"channels", {{"in_app", true}, {"email", false}}}}, token),
                 "changing preferences");
  expect_refused(http().get("/v1/customers/ada/preferences", token), "reading preferences");
  expect_refused(http().get("/v1/customers/ada/notifications", token), "the inbox");

  // Nothing of the above happened: the order is not cancelled, the cart still open.
  EXPECT_NE(http().get("/v1/orders/" + order_, ada_).json().value("status", ""), "cancelled");
  auto cart = http().get("/v1/carts/" + cart_id, ada_);
  ASSERT_EQ(cart.status, 200) << cart.describe();
  EXPECT_EQ(cart.json().at("lines").size(), 1u);
  EXPECT_EQ(http().get("/v1/customers/ada/preferences", ada_).status, 200);
}

TEST_F(TrackingTokenE2E, TheOrderMustStillBeItsCustomers) {
  // Bob's token naming Ada's order reads nothing: the order checks its customer as for Bob's own
  // token.
  auto bobs = tracking_token(order_, "bob");
  ASSERT_FALSE(bobs.empty());
  EXPECT_EQ(http().get("/v1/orders/" + order_, bobs).status, 404);
  EXPECT_EQ(http().get("/v1/orders/" + order_ + "/timeline", bobs).status, 404);
  EXPECT_EQ(connect(bobs)->subscribe("order:" + order_).at("code"), "forbidden");
}

TEST_F(TrackingTokenE2E, MercatoctlMintsOnlyACustomersTrackingToken) {
  auto r = mint({"--sub", "ops", "--role", "admin", "--order", order_});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("--role customer"), std::string::npos) << r.describe();
  r = mint({"--sub", "ada", "--role", "customer", "--order", "ord 1"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  r = mint({"--json", "--sub", "ada", "--role", "customer", "--order", order_});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  auto out = json::parse(r.out);
  EXPECT_EQ(out.at("order"), order_);
  EXPECT_EQ(http().get("/v1/orders/" + order_, out.at("token").get<std::string>()).status, 200);

  // A token that carries the claim with another role, or a malformed order id, is refused as a
  // whole (401), whoever signed it.
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  auto admin = mt::mint_hs256(
    {{"sub", "ops"}, {"role", "admin"}, {"order", order_}, {"exp", now + 600}}, env_->secret());
  auto res = http().get("/v1/orders/" + order_, admin);
  EXPECT_EQ(res.status, 401) << res.describe();
  EXPECT_EQ(res.json().value("detail", ""),
            "the token's order claim is invalid (an order id, on a customer token only)");
  auto bad = mt::mint_hs256(
    {{"sub", "ada"}, {"role", "customer"}, {"order", "../" + order_}, {"exp", now + 600}},
    env_->secret());
  EXPECT_EQ(http().get("/v1/orders/" + order_, bad).status, 401);
}

TEST_F(TrackingTokenE2E, FollowsItsOrderOverWebSocketAndNoOtherTopic) {
  auto token = tracking_token(order_);
  ASSERT_FALSE(token.empty());
  auto c = connect(token);
  auto snap = c->subscribe("order:" + order_);
  ASSERT_EQ(snap.at("type"), "snapshot") << snap.dump();
  EXPECT_EQ(snap.at("data").at("order_id"), order_);
  auto last = snap.at("seq").get<uint64_t>();

  auto refuse = [&](const std::string& topic) {
    auto f = c->subscribe(topic);
    EXPECT_EQ(f.at("type"), "error") << topic << ": " << f.dump();
    EXPECT_EQ(f.value("code", ""), "forbidden") << topic << ": " << f.dump();
    EXPECT_EQ(f.value("topic", ""), topic);
  };
  refuse("order:" + other_);
  refuse("customer:ada");
  auto cart_id = filled_cart(ada_, {{stocked_product("tracking-ws", 900, 5), 1}});
  refuse("cart:" + cart_id);

  // A fresh token extends the session only when it tracks the same order.
  auto renew = [&](const std::string& fresh) {
    c->send(json{{"op", "auth"}, {"token", fresh}}.dump());
    return c->next();
  };
  EXPECT_EQ(renew(ada_).at("code"), "forbidden") << "no wider token mid-session";
  EXPECT_EQ(renew(tracking_token(other_)).at("code"), "forbidden") << "nor another order's";
  EXPECT_EQ(renew(tracking_token(order_)).at("type"), "authenticated");
  refuse("customer:ada");

  // The subscription it has is live: a partner's fact arrives as the next event.
  auto fact = post_fact("production_started");
  auto f = c->next();
  ASSERT_EQ(f.at("type"), "event") << f.dump();
  EXPECT_EQ(f.at("topic"), "order:" + order_);
  EXPECT_EQ(f.at("seq").get<uint64_t>(), last + 1);
  EXPECT_EQ(f.at("data").at("event").value("external_id", ""), fact) << f.dump();
}

} // namespace
