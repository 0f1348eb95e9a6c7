// End-to-end tests of marketplace orders and the daily statistics: the real `mercato` binary on a
// fresh PostgreSQL database per test, fed each platform's native payloads
// (tests/fixtures/marketplaces/) over HTTP, read back through GET /v1/stats/daily.

#include "runtime/util/time.hpp"
#include "tests/support/e2e_env.hpp"
#include "tests/support/shop_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace {

namespace mt = mercato::test;
using json = nlohmann::json;
using mt::eventually;
using mt::expect_problem;
using namespace std::chrono_literals;

std::string fixture(const std::string& name) {
  std::ifstream in{std::string{MERCATO_FIXTURES_DIR} + "/marketplaces/" + name};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class MarketplaceE2E : public mt::shop_test {
protected:
  void SetUp() override {
    shop_test::SetUp();
    if (IsSkipped() || HasFatalFailure())
      return;
    start_server();
    service_ = env_->token("service");
    customer_ = env_->token("customer");
  }

  // Posts `body` as it is (native text: money in JSON numbers keeps its decimals).
  mt::http_response push(const std::string& platform, const std::string& body,
                         const std::string& query = "", const std::string& token = "") {
    mt::http_request req;
    req.method = "POST";
    req.target = "/v1/marketplaces/" + platform + "/orders" + query;
    req.body = body;
    req.with_header("Content-Type", "application/json").bearer(token.empty() ? service_ : token);
    return env_->http().request(req);
  }

  // The statistics of 2024-11 and 2024-12 by "date platform currency".
  std::map<std::string, json> stats(const std::string& extra = "") {
    auto res = env_->http().get("/v1/stats/daily?from=2024-11-01&to=2024-12-31" + extra, admin_);
    EXPECT_EQ(res.status, 200) << res.describe();
    std::map<std::string, json> out;
    if (res.status != 200)
      return out;
    for (const auto& row : res.json())
      out[row["stat_date"].get<std::string>() + " " + row["platform"].get<std::string>() + " "
          + row["currency"].get<std::string>()]
        = row;
    return out;
  }

  // Runs mercatoctl against this server with `token` in MERCATO_TOKEN.
  mt::command_result ctl(std::vector<std::string> args, const std::string& token) {
    args.insert(args.begin(), mt::mercatoctl_binary());
    try {
      return mt::run_command(args,
                             {{"MERCATO_URL", env_->server().base_url()}, {"MERCATO_TOKEN", token}},
                             {"MERCATO_URL", "MERCATO_TOKEN"});
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      return {};
    }
  }

  std::string service_;
  std::string customer_;
};

TEST_F(MarketplaceE2E, NativeBatchesLandTheirGoodRecordsAndReplaysChangeNothing) {
  auto first = push("tiktok", fixture("tiktok.json"));
  ASSERT_EQ(first.status, 200) << first.describe();
  auto body = first.json();
  EXPECT_EQ(body["imported"], 4);
  EXPECT_EQ(body["updated"], 0);
  ASSERT_EQ(body["rejected"].size(), 4u);
  EXPECT_EQ(body["rejected"][0]["index"], 4);
  EXPECT_EQ(body["rejected"][0]["code"], "invalid_request");
  EXPECT_EQ(body["rejected"][1]["index"], 5);
  EXPECT_EQ(body["rejected"][1]["code"], "unknown_status");
  EXPECT_EQ(body["rejected"][2]["index"], 6);
  EXPECT_EQ(body["rejected"][3]["index"], 7);

  auto replay = push("tiktok", fixture("tiktok.json"));
  ASSERT_EQ(replay.status, 200) << replay.describe();
  EXPECT_EQ(replay.json()["imported"], 0);
  EXPECT_EQ(replay.json()["updated"], 0);
  EXPECT_EQ(replay.json()["unchanged"], 4);

  auto shopee = push("shopee", fixture("shopee.json"));
  ASSERT_EQ(shopee.status, 200) << shopee.describe();
  EXPECT_EQ(shopee.json()["imported"], 5);
  EXPECT_EQ(shopee.json()["rejected"].size(), 3u);
  auto lazada = push("lazada", fixture("lazada.json"), "?currency=MYR");
  ASSERT_EQ(lazada.status, 200) << lazada.describe();
  EXPECT_EQ(lazada.json()["imported"], 6); // the shop currency lets the last record in
  EXPECT_EQ(lazada.json()["rejected"].size(), 2u);

  // An imported order is an order entity, seen by admins only.
  auto order = env_->http().get("/v1/orders/shopee-241201ABCD1234", admin_);
  ASSERT_EQ(order.status, 200) << order.describe();
  EXPECT_EQ(order.json()["status"], "delivered");
  EXPECT_EQ(env_->http().get("/v1/orders/shopee-241201ABCD1234", customer_).status, 404);
}

TEST_F(MarketplaceE2E, DailyStatisticsFollowEveryImportAndALateCancellationRestatesItsDay) {
  ASSERT_EQ(push("tiktok", fixture("tiktok.json")).status, 200);
  ASSERT_EQ(push("lazada", fixture("lazada.json")).status, 200);
  auto rows = stats();
  ASSERT_TRUE(rows.count("2024-12-01 tiktok USD")) << json(rows).dump();
  auto usd = rows["2024-12-01 tiktok USD"];
  EXPECT_EQ(usd["total_orders"], 2);
  EXPECT_EQ(usd["completed_orders"], 1);
  EXPECT_EQ(usd["pending_orders"], 1);
  EXPECT_EQ(usd["cancelled_orders"], 0);
  EXPECT_EQ(usd["gross_merchandise_value_minor"], 2550 + 1999);
  EXPECT_EQ(usd["total_revenue_minor"], 2949);
  EXPECT_EQ(usd["total_discount_minor"], 0);
  EXPECT_EQ(usd["avg_order_value_minor"], 2949);
  EXPECT_EQ(usd["cancellation_rate"].dump(), "0");
  EXPECT_EQ(usd["is_final"], true);
  auto gbp = rows["2024-12-01 tiktok GBP"];
  EXPECT_EQ(gbp["cancelled_orders"], 1);
  EXPECT_EQ(gbp["cancellation_rate"].dump(), "1.0");
  auto idr = rows["2024-12-01 tiktok IDR"];
  EXPECT_EQ(idr["gross_merchandise_value_minor"], 23000000);
  EXPECT_EQ(idr["total_discount_minor"], 3000000);
  // Lazada's local midnight order of 2024-12-01 +0700 is a 2024-11-30 order in UTC.
  ASSERT_TRUE(rows.count("2024-11-30 lazada THB")) << json(rows).dump();
  EXPECT_EQ(rows["2024-11-30 lazada THB"]["pending_orders"], 1);
  auto may = rows["2024-11-11 lazada MYR"];
  EXPECT_EQ(may["completed_orders"], 1);
  EXPECT_EQ(may["total_revenue_minor"], 129900 + 500 - 1000);

  // Days later the completed TikTok order is cancelled: its own day is restated.
  auto doc = json::parse(fixture("tiktok.json"));
  auto late = doc[0];
  late["status"] = "CANCELLED";
  late["update_time"] = 1734000000;
  auto res = push("tiktok", json::array({late}).dump());
  ASSERT_EQ(res.status, 200) << res.describe();
  EXPECT_EQ(res.json()["updated"], 1);
  ASSERT_TRUE(eventually(
    [&] {
      auto r = stats("&platform=tiktok");
      return r.count("2024-12-01 tiktok USD")
             && r["2024-12-01 tiktok USD"]["cancelled_orders"] == 1;
    },
    10s));
  auto after = stats("&platform=tiktok");
  usd = after["2024-12-01 tiktok USD"];
  EXPECT_EQ(usd["total_orders"], 2);
  EXPECT_EQ(usd["completed_orders"], 0);
  EXPECT_EQ(usd["gross_merchandise_value_minor"], 1999);
  EXPECT_EQ(usd["total_revenue_minor"], 0);
  EXPECT_EQ(usd["cancellation_rate"].dump(), "0.5");
  for (const auto& [key, row] : after)
    EXPECT_EQ(row["platform"], "tiktok") << key;
  // The late change is an event of the same order, in its timeline's version.
  auto order = env_->http().get("/v1/orders/tiktok-576461413038785752", admin_);
  ASSERT_EQ(order.status, 200) << order.describe();
  EXPECT_EQ(order.json()["status"], "cancelled");
  EXPECT_EQ(order.json()["version"], 2);
}

TEST_F(MarketplaceE2E, BadRequestsGetProblemsAndChangeNothing) {
  expect_problem(push("tiktok", "{\"not\":\"an array\"}"), 400, "invalid_request");
  expect_problem(push("tiktok", "[1,"), 400, "invalid_request");
  expect_problem(push("tiktok", "[]"), 400, "invalid_request");
  expect_problem(push("amazon", "[{}]"), 404, "not_found");
  expect_problem(push("web", "[{}]"), 404, "not_found");
  expect_problem(push("lazada", "[{}]", "?currency=myr"), 400, "invalid_request");
  expect_problem(push("tiktok", fixture("tiktok.json"), "", customer_), 403, "forbidden");
  auto& http = env_->http();
  expect_problem(http.get("/v1/stats/daily?from=2024-12-01&to=2024-12-31", service_), 403,
                 "forbidden");
  expect_problem(http.get("/v1/stats/daily?to=2024-12-31", admin_), 400, "invalid_request");
  expect_problem(http.get("/v1/stats/daily?from=2024-12-01&to=2024-12-32", admin_), 400,
                 "invalid_request");
  expect_problem(http.get("/v1/stats/daily?from=2024-12-02&to=2024-12-01", admin_), 400,
                 "invalid_request");
  expect_problem(http.get("/v1/stats/daily?from=2020-01-01&to=2024-12-01", admin_), 400,
                 "invalid_request");
  expect_problem(http.get("/v1/stats/daily?from=2024-12-01&to=2024-12-01&platform=ebay", admin_),
                 400, "invalid_request");
  auto none = http.get("/v1/stats/daily?from=2024-12-01&to=2024-12-31", admin_);
  ASSERT_EQ(none.status, 200) << none.describe();
  EXPECT_EQ(none.json(), json::array());
}

TEST_F(MarketplaceE2E, CtlImportsAFileInBatchesAndShowsTheStatistics) {
  auto file = std::string{MERCATO_FIXTURES_DIR} + "/marketplaces/shopee.json";
  auto r = ctl({"--json", "import", "shopee", file, "--batch", "3"}, service_);
  EXPECT_EQ(r.exit_code, 1) << r.describe(); // three records are rejected
  auto body = json::parse(r.out);
  EXPECT_EQ(body["imported"], 5);
  ASSERT_EQ(body["rejected"].size(), 3u);
  EXPECT_EQ(body["rejected"][0]["index"], 5); // the file's index, across batches
  EXPECT_EQ(body["rejected"][2]["index"], 7);
  EXPECT_NE(r.err.find("8/8 orders"), std::string::npos) << r.err;

  auto again = ctl({"import", "shopee", file}, service_);
  EXPECT_EQ(again.exit_code, 1) << again.describe();
  EXPECT_NE(again.out.find("imported 0, updated 0, unchanged 5, rejected 3"), std::string::npos)
    << again.out;

  auto stats = ctl({"--json", "stats", "--from", "2024-12-01", "--to", "2024-12-01"}, admin_);
  ASSERT_EQ(stats.exit_code, 0) << stats.describe();
  auto rows = json::parse(stats.out);
  ASSERT_EQ(rows.size(), 4u) << rows.dump(); // MYR, SGD, THB, VND
  EXPECT_EQ(rows[0]["currency"], "MYR");
  EXPECT_EQ(rows[0]["total_orders"], 2);
  EXPECT_EQ(rows[0]["total_revenue_minor"], 9380);
  auto table = ctl({"stats", "--from", "2024-12-01", "--to", "2024-12-01"}, admin_);
  ASSERT_EQ(table.exit_code, 0) << table.describe();
  EXPECT_NE(table.out.find("CANCEL_RATE"), std::string::npos) << table.out;
  EXPECT_EQ(ctl({"stats", "--from", "2024-12-01", "--to", "2024-12-01"}, service_).exit_code, 4);
  EXPECT_EQ(ctl({"import", "shopee", "/nonexistent.json"}, service_).exit_code, 2);
}

// Mercato's own checkouts count too, as platform `web`, on the day they were placed.
class WebOrderStatsE2E : public mt::shop_test {};

TEST_F(WebOrderStatsE2E, ACheckoutCountsAsAWebOrderUntilItsDelivery) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto sku = stocked_product("stats-web", 1000, 10);
  auto cart = filled_cart(ada_, {{sku, 2}});
  auto res = http().request(mt::checkout_request("stats-1", mt::checkout_body(cart), ada_));
  ASSERT_EQ(res.status, 201) << res.describe();
  auto order_id = res.json().at("order_id").get<std::string>();
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  // The order's day (a checkout that straddles midnight UTC may land on the next one).
  auto today = mercato::util::format_rfc3339_ms(now_ms - 60000).substr(0, 10);
  auto tomorrow = mercato::util::format_rfc3339_ms(now_ms + 86400000).substr(0, 10);
  auto web = [&] {
    auto r = http().get("/v1/stats/daily?platform=web&from=" + today + "&to=" + tomorrow, admin_);
    EXPECT_EQ(r.status, 200) << r.describe();
    return r.status == 200 ? r.json() : json::array();
  };
  ASSERT_TRUE(eventually([&] { return web().size() == 1; }, 10s));
  auto rows = web();
  EXPECT_EQ(rows[0]["platform"], "web");
  EXPECT_EQ(rows[0]["currency"], "USD");
  EXPECT_EQ(rows[0]["total_orders"], 1);
  EXPECT_EQ(rows[0]["pending_orders"], 1);
  EXPECT_EQ(rows[0]["gross_merchandise_value_minor"], 2000);
  EXPECT_EQ(rows[0]["total_revenue_minor"], 0);
  EXPECT_EQ(rows[0]["is_final"], false);

  json fact{{"source", "logistics"},
            {"type", "delivered"},
            {"external_id", "dlv-1"},
            {"occurred_at", mercato::util::format_rfc3339_ms(now_ms)}};
  auto posted = http().post("/v1/orders/" + order_id + "/events", fact, env_->token("service"));
  ASSERT_EQ(posted.status, 202) << posted.describe();
  ASSERT_TRUE(eventually(
    [&] {
      auto r = web();
      return r.size() == 1 && r[0]["completed_orders"] == 1;
    },
    10s));
  rows = web();
  EXPECT_EQ(rows[0]["total_orders"], 1);
  EXPECT_EQ(rows[0]["total_revenue_minor"], 2000);
  EXPECT_EQ(rows[0]["avg_order_value_minor"], 2000);
}

} // namespace
