// End-to-end tests of marketplace orders and the daily statistics: the real `mercato` binary on a
// fresh PostgreSQL database per test, fed each platform's native payloads
// (tests/fixtures/marketplaces/) over HTTP, read back through GET /v1/stats/daily.

#include "runtime/util/time.hpp"
#include "tests/support/e2e_env.hpp"
#include "tests/support/shop_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

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

  // Asked again unchanged, the same rows (the server answers from the body it kept).
  EXPECT_EQ(stats(), rows);

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
  // The same query as before the change: not the body kept from then.
  EXPECT_EQ(stats()["2024-12-01 tiktok USD"]["cancelled_orders"], 1);
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

// The shop's date: a summary without `to` ends on the day the statistics count in the shop's
// time zone, not on UTC's. The zone is chosen so that its date differs from UTC's whenever the
// test runs: 12 h behind UTC before 11:00 UTC, 14 h ahead (Kiritimati, no daylight saving) after.
class StatsTodayE2E : public mt::shop_test {
protected:
  void SetUp() override {
    shop_test::SetUp();
    if (IsSkipped() || HasFatalFailure())
      return;
    auto hour = std::chrono::duration_cast<std::chrono::hours>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count()
                % 24;
    ahead_ = hour >= 11;
    start_server({"--stats-time-zone", ahead_ ? "Pacific/Kiritimati" : "Etc/GMT+12"});
  }

  // The zone's date now.
  std::string shop_date() const {
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    return mercato::util::format_rfc3339_ms(now_ms + (ahead_ ? 14 : -12) * 3600000).substr(0, 10);
  }

  bool ahead_ = false;
};

TEST_F(StatsTodayE2E, ASummaryWithoutToEndsOnTheShopsDate) {
  ASSERT_FALSE(place_order(ada_, "stats-today").empty());
  // The date may turn between two readings of the clock: the answer must be one of them.
  auto before = shop_date();
  auto res = http().get("/v1/stats/summary?days=1", admin_);
  auto after = shop_date();
  ASSERT_EQ(res.status, 200) << res.describe();
  auto rows = res.json();
  ASSERT_EQ(rows.size(), 1u) << rows.dump();
  auto day = rows[0]["stat_date"].get<std::string>();
  EXPECT_TRUE(day == before || day == after) << day << " is not " << before;
  auto utc = mercato::util::format_rfc3339_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count())
               .substr(0, 10);
  EXPECT_NE(day, utc) << "the summary ended on UTC's date";
  EXPECT_EQ(rows[0]["total_orders"], 1) << rows.dump();
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

// -- the dashboard's aggregates: GET /v1/stats/summary, /platforms, /monthly ----------------------

// The sums of some daily rows, and the days they came from.
struct stat_sums {
  std::map<std::string, int64_t> sums;
  std::set<std::string> days;
};

const std::vector<std::string> summed_fields{"total_orders",        "completed_orders",
                                             "cancelled_orders",    "returned_orders",
                                             "pending_orders",      "gross_merchandise_value_minor",
                                             "total_revenue_minor", "total_discount_minor"};

// Sums the daily rows by `key_of(row)` ("" skips the row).
std::map<std::string, stat_sums> sum_rows(const std::map<std::string, json>& daily,
                                          const std::function<std::string(const json&)>& key_of) {
  std::map<std::string, stat_sums> out;
  for (const auto& [_, row] : daily) {
    auto key = key_of(row);
    if (key.empty())
      continue;
    auto& s = out[key];
    for (const auto& f : summed_fields)
      s.sums[f] += row[f].get<int64_t>();
    s.days.insert(row["stat_date"].get<std::string>());
  }
  return out;
}

// An aggregate row equals the sums, with its derived fields recomputed from them.
void expect_sums(const json& row, const stat_sums& s, const std::string& what) {
  SCOPED_TRACE(what + ": " + row.dump());
  for (const auto& f : summed_fields)
    EXPECT_EQ(row[f].get<int64_t>(), s.sums.at(f)) << f;
  auto total = s.sums.at("total_orders");
  auto completed = s.sums.at("completed_orders");
  auto revenue = s.sums.at("total_revenue_minor");
  EXPECT_EQ(row["avg_order_value_minor"].get<int64_t>(),
            completed == 0 ? 0 : (revenue * 2 + completed) / (2 * completed));
  auto rate = total == 0 ? 0.0 : static_cast<double>(s.sums.at("cancelled_orders")) / total;
  EXPECT_NEAR(row["cancellation_rate"].get<double>(), rate, 0.00005);
  EXPECT_TRUE(row["is_final"].is_boolean());
}

class MarketplaceStatsE2E : public MarketplaceE2E {
protected:
  void SetUp() override {
    MarketplaceE2E::SetUp();
    if (IsSkipped() || HasFatalFailure())
      return;
    ASSERT_EQ(push("tiktok", fixture("tiktok.json")).status, 200);
    ASSERT_EQ(push("shopee", fixture("shopee.json")).status, 200);
    ASSERT_EQ(push("lazada", fixture("lazada.json"), "?currency=MYR").status, 200);
    daily_ = stats();
    ASSERT_FALSE(daily_.empty());
  }

  json get_ok(const std::string& target) {
    auto res = env_->http().get(target, admin_);
    EXPECT_EQ(res.status, 200) << res.describe();
    return res.status == 200 ? res.json() : json::array();
  }

  // A 400 problem that names `field`.
  void expect_bad(const std::string& target, const std::string& field) {
    SCOPED_TRACE(target);
    auto res = env_->http().get(target, admin_);
    expect_problem(res, 400, "invalid_request");
    if (res.status != 400)
      return;
    auto body = res.json();
    ASSERT_TRUE(body.contains("errors")) << body.dump();
    EXPECT_EQ(body["errors"][0]["field"], field) << body.dump();
    EXPECT_EQ(body["detail"].get<std::string>().rfind(field + ":", 0), 0u) << body.dump();
  }

  std::map<std::string, json> daily_; // 2024-11 and 2024-12, by "date platform currency"
};

TEST_F(MarketplaceStatsE2E, SummaryHasEveryDayPerCurrencySummedOverThePlatforms) {
  // The 61 days of 2024-11 and 2024-12: the range the daily rows were read for.
  auto rows = get_ok("/v1/stats/summary?days=61&to=2024-12-31");
  auto expected = sum_rows(daily_, [](const json& r) {
    return r["stat_date"].get<std::string>() + " " + r["currency"].get<std::string>();
  });
  std::set<std::string> currencies;
  for (const auto& [_, r] : daily_)
    currencies.insert(r["currency"].get<std::string>());
  ASSERT_EQ(rows.size(), 61 * currencies.size());
  std::string previous;
  for (const auto& row : rows) {
    EXPECT_EQ(row["platform"], "all");
    auto key = row["stat_date"].get<std::string>() + " " + row["currency"].get<std::string>();
    EXPECT_LT(previous, key); // in (day, currency) order, each once
    previous = key;
    if (auto i = expected.find(key); i != expected.end()) {
      expect_sums(row, i->second, key);
    } else { // a day without orders in that currency: zeros
      EXPECT_EQ(row["total_orders"], 0) << key;
      EXPECT_EQ(row["gross_merchandise_value_minor"], 0) << key;
      EXPECT_EQ(row["cancellation_rate"].dump(), "0") << key;
    }
  }
  EXPECT_EQ(rows.front()["stat_date"], "2024-11-01");
  EXPECT_EQ(rows.back()["stat_date"], "2024-12-31");
  EXPECT_EQ(rows.front()["is_final"], true); // long past

  // One platform: TikTok's four orders of 2024-12-01 in USD, GBP and IDR; the day before empty.
  auto tiktok = get_ok("/v1/stats/summary?days=2&to=2024-12-01&platform=tiktok");
  ASSERT_EQ(tiktok.size(), 6u) << tiktok.dump();
  std::map<std::string, json> by_key;
  for (const auto& row : tiktok) {
    EXPECT_EQ(row["platform"], "tiktok");
    by_key[row["stat_date"].get<std::string>() + " " + row["currency"].get<std::string>()] = row;
  }
  auto usd = by_key["2024-12-01 USD"];
  EXPECT_EQ(usd["total_orders"], 2);
  EXPECT_EQ(usd["completed_orders"], 1);
  EXPECT_EQ(usd["gross_merchandise_value_minor"], 2550 + 1999);
  EXPECT_EQ(usd["total_revenue_minor"], 2949);
  EXPECT_EQ(usd["avg_order_value_minor"], 2949);
  EXPECT_EQ(by_key["2024-12-01 GBP"]["cancellation_rate"].dump(), "1.0");
  EXPECT_EQ(by_key["2024-11-30 USD"]["total_orders"], 0);
  EXPECT_EQ(by_key["2024-11-30 IDR"]["total_orders"], 0);

  // The default: the last 7 days up to today (UTC), no orders there in this database.
  EXPECT_EQ(get_ok("/v1/stats/summary"), json::array());
}

TEST_F(MarketplaceStatsE2E, PlatformsSumTheRangePerPlatformAndCurrency) {
  auto rows = get_ok("/v1/stats/platforms?from=2024-11-01&to=2024-12-31");
  auto expected = sum_rows(daily_, [](const json& r) {
    return r["platform"].get<std::string>() + " " + r["currency"].get<std::string>();
  });
  ASSERT_EQ(rows.size(), expected.size()) << rows.dump();
  std::map<std::string, json> by_key;
  for (const auto& row : rows) {
    auto key = row["platform"].get<std::string>() + " " + row["currency"].get<std::string>();
    ASSERT_TRUE(expected.count(key)) << key;
    expect_sums(row, expected[key], key);
    EXPECT_EQ(row["days"].get<size_t>(), expected[key].days.size()) << key;
    EXPECT_FALSE(row.contains("stat_date"));
    by_key[key] = row;
  }
  // TikTok's orders are all of 2024-12-01; the platforms come in name order.
  EXPECT_EQ(by_key["tiktok USD"]["days"], 1);
  EXPECT_EQ(by_key["tiktok USD"]["total_orders"], 2);
  EXPECT_EQ(by_key["tiktok USD"]["total_revenue_minor"], 2949);
  EXPECT_EQ(by_key["tiktok GBP"]["cancelled_orders"], 1);
  EXPECT_EQ(by_key["tiktok IDR"]["gross_merchandise_value_minor"], 23000000);
  EXPECT_GE(by_key["lazada MYR"]["completed_orders"].get<int64_t>(), 1);
  EXPECT_EQ(rows.front()["platform"], "lazada");
  EXPECT_EQ(rows.back()["platform"], "tiktok");
  int64_t imported = 0;
  for (const auto& row : rows)
    imported += row["total_orders"].get<int64_t>();
  EXPECT_EQ(imported, 4 + 5 + 6); // every imported record of the three fixtures

  // A leap year's 366 days are one range; nothing in 2023.
  EXPECT_EQ(get_ok("/v1/stats/platforms?from=2023-01-01&to=2023-12-31"), json::array());
  EXPECT_EQ(get_ok("/v1/stats/platforms?from=2024-01-01&to=2024-12-31").size(), rows.size());
}

TEST_F(MarketplaceStatsE2E, MonthlySumsEachMonthOverThePlatformsOrForOne) {
  auto rows = get_ok("/v1/stats/monthly?from=2024-11&to=2024-12");
  auto expected = sum_rows(daily_, [](const json& r) {
    return r["stat_date"].get<std::string>().substr(0, 7) + " " + r["currency"].get<std::string>();
  });
  std::set<std::string> currencies;
  for (const auto& [_, r] : daily_)
    currencies.insert(r["currency"].get<std::string>());
  ASSERT_EQ(rows.size(), 2 * currencies.size()) << rows.dump();
  for (const auto& row : rows) {
    EXPECT_EQ(row["platform"], "all");
    auto key = row["month"].get<std::string>() + " " + row["currency"].get<std::string>();
    if (auto i = expected.find(key); i != expected.end()) {
      expect_sums(row, i->second, key);
      EXPECT_EQ(row["days"].get<size_t>(), i->second.days.size()) << key;
    } else {
      EXPECT_EQ(row["total_orders"], 0) << key;
      EXPECT_EQ(row["days"], 0) << key;
    }
  }

  auto tiktok = get_ok("/v1/stats/monthly?from=2024-12&to=2024-12&platform=tiktok");
  ASSERT_EQ(tiktok.size(), 3u) << tiktok.dump(); // GBP, IDR, USD
  EXPECT_EQ(tiktok[2]["month"], "2024-12");
  EXPECT_EQ(tiktok[2]["platform"], "tiktok");
  EXPECT_EQ(tiktok[2]["currency"], "USD");
  EXPECT_EQ(tiktok[2]["total_orders"], 2);
  EXPECT_EQ(tiktok[2]["days"], 1);
  EXPECT_EQ(tiktok[2]["cancellation_rate"].dump(), "0");
  EXPECT_EQ(tiktok[2]["is_final"], true);
  // Lazada's 2024-11-11 order, completed, in the shop currency given at import.
  auto lazada = get_ok("/v1/stats/monthly?from=2024-11&to=2024-11&platform=lazada");
  bool found = false;
  for (const auto& row : lazada)
    if (row["currency"] == "MYR") {
      found = true;
      EXPECT_GE(row["completed_orders"].get<int64_t>(), 1);
      EXPECT_GE(row["total_revenue_minor"].get<int64_t>(), 129900 + 500 - 1000);
    }
  EXPECT_TRUE(found) << lazada.dump();
  // 36 months are one range (three reads of the store); every order is in it.
  auto years = get_ok("/v1/stats/monthly?from=2022-01&to=2024-12");
  int64_t total = 0;
  for (const auto& row : years)
    total += row["total_orders"].get<int64_t>();
  EXPECT_EQ(total, 4 + 5 + 6);
  EXPECT_EQ(years.size(), 36 * currencies.size());
}

TEST_F(MarketplaceStatsE2E, BadInputGetsAProblemNamingTheFieldAndOthersAreRefused) {
  expect_bad("/v1/stats/summary?days=0", "days");
  expect_bad("/v1/stats/summary?days=367", "days");
  expect_bad("/v1/stats/summary?days=seven", "days");
  expect_bad("/v1/stats/summary?days=-1", "days");
  expect_bad("/v1/stats/summary?to=2024-02-30", "to");
  expect_bad("/v1/stats/summary?platform=ebay", "platform");
  expect_bad("/v1/stats/platforms?to=2024-12-31", "from");
  expect_bad("/v1/stats/platforms?from=2024-12-01", "to");
  expect_bad("/v1/stats/platforms?from=2024-12-1&to=2024-12-31", "from");
  expect_bad("/v1/stats/platforms?from=2024-12-02&to=2024-12-01", "to");
  expect_bad("/v1/stats/platforms?from=2024-01-01&to=2025-01-01", "to"); // 367 days
  expect_bad("/v1/stats/monthly?from=2024-13&to=2024-12", "from");
  expect_bad("/v1/stats/monthly?from=2024-11-01&to=2024-12", "from");
  expect_bad("/v1/stats/monthly?from=2024-11", "to");
  expect_bad("/v1/stats/monthly?from=2024-12&to=2024-11", "to");
  expect_bad("/v1/stats/monthly?from=2022-01&to=2025-01", "to"); // 37 months
  expect_bad("/v1/stats/monthly?from=2024-11&to=2024-12&platform=amazon", "platform");
  for (const char* target :
       {"/v1/stats/summary", "/v1/stats/platforms?from=2024-12-01&to=2024-12-31",
        "/v1/stats/monthly?from=2024-11&to=2024-12"}) {
    SCOPED_TRACE(target);
    expect_problem(env_->http().get(target, customer_), 403, "forbidden");
    expect_problem(env_->http().get(target, service_), 403, "forbidden");
    expect_problem(env_->http().get(target), 401, "unauthorized");
  }
}

TEST_F(MarketplaceStatsE2E, CtlPrintsThePlatformRowsTheSummaryAndTheMonths) {
  auto table = ctl({"stats", "--platforms", "--from", "2024-11-01", "--to", "2024-12-31"}, admin_);
  ASSERT_EQ(table.exit_code, 0) << table.describe();
  EXPECT_NE(table.out.find("PLATFORM"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("DAYS"), std::string::npos) << table.out;
  std::istringstream lines{table.out};
  std::map<std::string, std::string> by_platform; // the first line of each platform and currency
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words{line};
    std::string platform, currency;
    words >> platform >> currency;
    by_platform.emplace(platform + " " + currency, line);
  }
  ASSERT_TRUE(by_platform.count("tiktok USD")) << table.out;
  // tiktok USD: 1 day, 2 orders, 1 completed, 0 cancelled, 0 returned, 1 pending, GMV 4549.
  std::istringstream usd{by_platform["tiktok USD"]};
  std::vector<std::string> cells{std::istream_iterator<std::string>{usd}, {}};
  ASSERT_GE(cells.size(), 14u) << by_platform["tiktok USD"];
  EXPECT_EQ(cells[2], "1");
  EXPECT_EQ(cells[3], "2");
  EXPECT_EQ(cells[4], "1");
  EXPECT_EQ(cells[8], "4549");
  EXPECT_EQ(cells[9], "2949");
  EXPECT_TRUE(by_platform.count("shopee MYR")) << table.out;
  EXPECT_TRUE(by_platform.count("lazada MYR")) << table.out;

  auto rows
    = ctl({"--json", "stats", "--platforms", "--from", "2024-11-01", "--to", "2024-12-31"}, admin_);
  ASSERT_EQ(rows.exit_code, 0) << rows.describe();
  EXPECT_EQ(json::parse(rows.out), get_ok("/v1/stats/platforms?from=2024-11-01&to=2024-12-31"));

  auto summary = ctl(
    {"--json", "stats", "--summary", "2", "--to", "2024-12-01", "--platform", "tiktok"}, admin_);
  ASSERT_EQ(summary.exit_code, 0) << summary.describe();
  EXPECT_EQ(json::parse(summary.out).size(), 6u);
  auto months = ctl({"stats", "--monthly", "--from", "2024-11", "--to", "2024-12"}, admin_);
  ASSERT_EQ(months.exit_code, 0) << months.describe();
  EXPECT_NE(months.out.find("MONTH"), std::string::npos) << months.out;
  EXPECT_NE(months.out.find("2024-12"), std::string::npos) << months.out;
  EXPECT_EQ(ctl({"stats", "--platforms", "--from", "2024-11-01"}, admin_).exit_code, 2);
  EXPECT_EQ(
    ctl({"stats", "--platforms", "--monthly", "--from", "2024-11", "--to", "2024-12"}, admin_)
      .exit_code,
    2);
  EXPECT_EQ(ctl({"stats", "--summary", "400"}, admin_).exit_code, 2);
}

// tools/dev stats-check on the test database: it agrees with what the server kept, and names the
// row and field of a daily_stats row changed behind the projection's back.
TEST_F(MarketplaceStatsE2E, StatsCheckAgreesAndNamesACorruptedRow) {
  auto dev = std::string{MERCATO_FIXTURES_DIR} + "/../../tools/dev";
  auto check = [&] {
    try {
      return mt::run_command({dev, "stats-check", "--database-url", env_->dsn()}, {},
                             {"MERCATO_DATABASE_URL"});
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      return mt::command_result{};
    }
  };
  auto agree = check();
  EXPECT_EQ(agree.exit_code, 0) << agree.describe();
  EXPECT_NE(agree.out.find("statistics agree: " + std::to_string(daily_.size()) + " rows"),
            std::string::npos)
    << agree.describe();

  {
    pqxx::connection conn{env_->dsn()};
    pqxx::work txn{conn};
    txn.exec("UPDATE daily_stats SET total_revenue_minor = total_revenue_minor + 7 "
             "WHERE stat_date = '2024-12-01' AND platform = 'tiktok' AND currency = 'USD'");
    txn.commit();
  }
  auto differ = check();
  EXPECT_EQ(differ.exit_code, 1) << differ.describe();
  EXPECT_NE(differ.out.find("2024-12-01\ttiktok\tUSD\ttotal_revenue_minor\t2956\t2949"),
            std::string::npos)
    << differ.describe();
  EXPECT_EQ(differ.out.find("total_orders"), std::string::npos) << differ.describe();
}

} // namespace
