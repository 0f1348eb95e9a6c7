// A generated history through both ways in, with a crash in the middle: more than 100,000 orders
// over 60 days on TikTok Shop and Shopee (pushed), Lazada (pulled from a fake platform) and web
// checkouts, a tenth of them changed days later, some batches replayed, and the node killed with
// SIGKILL while a push is in flight and the pull is mid-window. The daily statistics must then
// equal, to the minor unit, an aggregation this test computes from scratch over what it generated,
// and the projection's own per-order contributions.

#include "runtime/util/time.hpp"
#include "tests/support/e2e_env.hpp"
#include "tests/support/fake_marketplace.hpp"
#include "tests/support/shop_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace {

namespace mt = mercato::test;
using json = nlohmann::json;
using mt::eventually;
using namespace std::chrono_literals;

// The from-scratch aggregation of the daily statistics over the projection's contributions.
const char* const contributions_aggregate =
#include "tools/stats/daily_stats_aggregate.sql"
  ;

constexpr int64_t first_day_s = 1722470400; // 2024-08-01T00:00:00Z
constexpr int days = 60;
// 100,200 marketplace orders: the pushed platforms take more, pushes are the faster way in.
constexpr int pushed_per_platform = 41'750;
constexpr int pulled = 16'700;
constexpr int batch = 1000;

enum class state { pending, completed, cancelled, returned };

// One version of a generated order, in MYR minor units.
struct version {
  int64_t update_s = 0;
  state status = state::pending;
};

struct order {
  std::string platform;
  int n = 0; // its number within the platform
  int64_t create_s = 0;
  int64_t gross = 0;
  int64_t item_discount = 0; // seller's, in the line's price
  int64_t voucher_seller = 0;
  int64_t voucher_platform = 0;
  version first;
  std::optional<version> later; // the change days later
  int64_t discount() const {
    return item_discount + voucher_seller + voucher_platform;
  }
  int64_t final_amount() const {
    return gross - discount();
  }
  const version& last() const {
    return later ? *later : first;
  }
};

std::string decimal(int64_t minor) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(minor / 100),
                static_cast<long long>(minor % 100));
  return buf;
}

std::string lazada_time(int64_t unix_s) {
  return mercato::util::format_utc(unix_s, "%Y-%m-%d %H:%M:%S +0000");
}

std::string day_of(int64_t unix_s) {
  return mercato::util::format_utc(unix_s, "%Y-%m-%d");
}

// The platform's own payload of `o` as of `v` (README "Marketplace order mapping").
json native(const order& o, const version& v) {
  if (o.platform == "tiktok") {
    const char* status = v.status == state::completed   ? "COMPLETED"
                         : v.status == state::cancelled ? "CANCELLED"
                                                        : "AWAITING_SHIPMENT";
    return {{"id", std::to_string(770000000000 + o.n)},
            {"status", status},
            {"create_time", o.create_s},
            {"update_time", v.update_s},
            {"user_id", "buyer-" + std::to_string(o.n % 977)},
            {"line_items", json::array({{{"id", std::to_string(o.n)},
                                         {"sku_id", "SKU-" + std::to_string(o.n % 50)},
                                         {"product_name", "Thing"},
                                         {"original_price", decimal(o.gross)},
                                         {"sale_price", decimal(o.gross - o.item_discount)}}})},
            {"payment",
             {{"currency", "MYR"},
              {"original_total_product_price", decimal(o.gross)},
              {"seller_discount", decimal(o.item_discount + o.voucher_seller)},
              {"platform_discount", decimal(o.voucher_platform)},
              {"shipping_fee", "0"},
              {"total_amount", decimal(o.final_amount())}}}};
  }
  if (o.platform == "shopee") {
    const char* status = v.status == state::completed   ? "COMPLETED"
                         : v.status == state::cancelled ? "CANCELLED"
                         : v.status == state::returned  ? "TO_RETURN"
                                                        : "READY_TO_SHIP";
    auto money = [](int64_t minor) { return static_cast<double>(minor) / 100.0; };
    return {
      {"order_sn", "SH" + std::to_string(500000 + o.n)},
      {"order_status", status},
      {"currency", "MYR"},
      {"create_time", o.create_s},
      {"update_time", v.update_s},
      {"buyer_user_id", 1000 + o.n % 977},
      {"buyer_username", "buyer"},
      {"total_amount", money(o.final_amount())},
      {"estimated_shipping_fee", 0},
      {"item_list", json::array({{{"item_id", 3000 + o.n % 50},
                                  {"item_name", "Thing"},
                                  {"model_id", 0},
                                  {"model_sku", "SKU-" + std::to_string(o.n % 50)},
                                  {"model_quantity_purchased", 1},
                                  {"model_original_price", money(o.gross)},
                                  {"model_discounted_price", money(o.gross - o.item_discount)}}})},
      {"order_income",
       {{"voucher_from_seller", money(o.voucher_seller)},
        {"voucher_from_shopee", money(o.voucher_platform)}}}};
  }
  const char* status = v.status == state::completed   ? "delivered"
                       : v.status == state::cancelled ? "canceled"
                       : v.status == state::returned  ? "returned"
                                                      : "pending";
  return {{"order_id", 990000000 + o.n},
          {"created_at", lazada_time(o.create_s)},
          {"updated_at", lazada_time(v.update_s)},
          {"customer_first_name", "Buyer"},
          {"price", decimal(o.gross)},
          {"shipping_fee", "0.00"},
          {"voucher", decimal(o.voucher_seller + o.voucher_platform + o.item_discount)},
          {"voucher_seller", decimal(o.voucher_seller + o.item_discount)},
          {"voucher_platform", decimal(o.voucher_platform)},
          {"statuses", json::array({status})},
          {"items", json::array({{{"order_item_id", o.n},
                                  {"sku", "SKU-" + std::to_string(o.n % 50)},
                                  {"name", "Thing"},
                                  {"item_price", decimal(o.gross)},
                                  {"currency", "MYR"},
                                  {"status", status}}})}};
}

// The generated history: deterministic (a fixed seed).
std::vector<order> generate(const std::string& platform, int count) {
  std::mt19937_64 rng{static_cast<uint64_t>(platform.front()) * 7919 + platform.size()};
  auto pick = [&rng](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>{lo, hi}(rng);
  };
  std::vector<order> out(count);
  for (int i = 0; i < count; ++i) {
    auto& o = out[i];
    o.platform = platform;
    o.n = i;
    o.create_s = first_day_s + pick(0, days * 86400LL - 1);
    o.gross = pick(500, 50'000);
    o.item_discount = pick(0, 3) == 0 ? pick(0, o.gross / 10) : 0;
    o.voucher_seller = pick(0, 4) == 0 ? pick(0, o.gross / 10) : 0;
    o.voucher_platform = pick(0, 4) == 0 ? pick(0, o.gross / 10) : 0;
    o.first.update_s = o.create_s + pick(0, 3600);
    auto roll = pick(0, 9);
    o.first.status = roll < 5 ? state::pending : roll < 9 ? state::completed : state::cancelled;
    if (i % 10 == 3) { // a tenth change days later: completed, cancelled or returned
      version v;
      v.update_s = o.first.update_s + pick(86400, 20 * 86400);
      auto r = pick(0, 2);
      v.status = r == 0   ? state::completed
                 : r == 1 ? state::cancelled
                          : (platform == "tiktok" ? state::cancelled : state::returned);
      if (v.status == o.first.status)
        v.status = state::cancelled == v.status ? state::completed : state::cancelled;
      o.later = v;
    }
  }
  return out;
}

using bucket_key = std::tuple<std::string, std::string, std::string>; // day, platform, currency

struct sums {
  int64_t total = 0, completed = 0, cancelled = 0, returned = 0, pending = 0;
  int64_t gmv = 0, revenue = 0, discount = 0;
  bool operator==(const sums&) const = default;
};

std::string to_string(const sums& s) {
  std::ostringstream os;
  os << "{total " << s.total << ", completed " << s.completed << ", cancelled " << s.cancelled
     << ", returned " << s.returned << ", pending " << s.pending << ", gmv " << s.gmv
     << ", revenue " << s.revenue << ", discount " << s.discount << "}";
  return os.str();
}

void count(sums& s, state st, int64_t gross, int64_t discount, int64_t final_amount) {
  ++s.total;
  switch (st) {
  case state::pending:
    ++s.pending;
    break;
  case state::completed:
    ++s.completed;
    break;
  case state::cancelled:
    ++s.cancelled;
    break;
  case state::returned:
    ++s.returned;
    break;
  }
  if (st == state::pending || st == state::completed) {
    s.gmv += gross;
    s.discount += discount;
  }
  if (st == state::completed)
    s.revenue += final_amount;
}

class MarketplaceHistoryE2E : public mt::shop_test {
protected:
  void TearDown() override {
    shop_test::TearDown();
    lazada_.reset();
    if (!shops_file_.empty())
      std::remove(shops_file_.c_str());
  }

  mt::http_response push(const std::string& platform, const std::vector<order>& orders, size_t from,
                         bool later) {
    json body = json::array();
    for (size_t i = from; i < orders.size() && i < from + batch; ++i)
      if (!later)
        body.push_back(native(orders[i], orders[i].first));
      else if (orders[i].later)
        body.push_back(native(orders[i], *orders[i].later));
    mt::http_request req;
    req.method = "POST";
    req.target = "/v1/marketplaces/" + platform + "/orders";
    req.body = body.dump();
    req.with_header("Content-Type", "application/json").bearer(service_);
    return http().request(req);
  }

  std::map<bucket_key, sums> served(const std::string& from, const std::string& to) {
    std::map<bucket_key, sums> out;
    auto res = http().get("/v1/stats/daily?from=" + from + "&to=" + to, admin_);
    EXPECT_EQ(res.status, 200) << res.describe();
    if (res.status != 200)
      return out;
    for (const auto& r : res.json()) {
      auto field = [&r](const char* name) { return r.at(name).get<int64_t>(); };
      out[{r.at("stat_date").get<std::string>(), r.at("platform").get<std::string>(),
           r.at("currency").get<std::string>()}]
        = {field("total_orders"),        field("completed_orders"),
           field("cancelled_orders"),    field("returned_orders"),
           field("pending_orders"),      field("gross_merchandise_value_minor"),
           field("total_revenue_minor"), field("total_discount_minor")};
    }
    return out;
  }

  std::unique_ptr<mt::fake_marketplace> lazada_;
  std::string shops_file_;
  std::string service_;
};

TEST_F(MarketplaceHistoryE2E,
       AHundredThousandOrdersPushedAndPulledAcrossAKillEqualTheirAggregation) {
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto tiktok = generate("tiktok", pushed_per_platform);
  auto shopee = generate("shopee", pushed_per_platform);
  auto lazada = generate("lazada", pulled);

  lazada_ = std::make_unique<mt::fake_marketplace>("lazada");
  for (const auto& o : lazada)
    lazada_->put(native(o, o.first), o.first.update_s);
  lazada_->hold_lists_after(60); // the pull is mid-window when the node dies
  shops_file_ = "/tmp/mercato-history-shops-" + std::to_string(::getpid()) + ".json";
  std::ofstream{shops_file_} << json::array({{{"name", "lazada-my"},
                                              {"platform", "lazada"},
                                              {"base_url", lazada_->base_url()},
                                              {"app_key", mt::fake_marketplace::app_key},
                                              {"app_secret", mt::fake_marketplace::app_secret},
                                              {"access_token", mt::fake_marketplace::access_token},
                                              {"currency", "MYR"},
                                              {"interval_ms", 1000},
                                              {"page_size", 100},
                                              {"since", first_day_s - 86400}}})
                                  .dump();
  ASSERT_NO_FATAL_FAILURE(
    start_server({"--marketplace-shops-file", shops_file_, "--marketplace-settle-ms", "0",
                  "--marketplace-backoff-min-ms", "100", "--passivate-after-ms", "5000"}));
  service_ = env_->token("service");

  auto push_all
    = [&](const std::string& platform, const std::vector<order>& orders, size_t from, bool later) {
        for (size_t at = from; at < orders.size(); at += batch) {
          auto res = push(platform, orders, at, later);
          ASSERT_EQ(res.status, 200) << res.describe();
          ASSERT_TRUE(res.json()["rejected"].empty()) << res.describe();
        }
      };

  // The first half of TikTok, then SIGKILL while the next batch is in flight and the pull waits
  // for a page; the client sends the unanswered batch again after the restart (imports are
  // idempotent, so whatever part of it had landed changes nothing).
  const size_t half = (tiktok.size() / 2 / batch) * batch;
  for (size_t at = 0; at < half; at += batch)
    ASSERT_EQ(push("tiktok", tiktok, at, false).status, 200);
  ASSERT_TRUE(eventually([&] { return lazada_->list_calls().size() > 60; }, 120s))
    << lazada_->list_calls().size() << " list calls";
  auto in_flight = std::async(std::launch::async, [&, port = env_->server().port()] {
    mt::http_client client{"127.0.0.1", port};
    mt::http_request req;
    req.method = "POST";
    req.target = "/v1/marketplaces/tiktok/orders";
    json body = json::array();
    for (size_t i = half; i < half + batch; ++i)
      body.push_back(native(tiktok[i], tiktok[i].first));
    req.body = body.dump();
    req.with_header("Content-Type", "application/json").bearer(service_);
    return client.request(req).status;
  });
  env_->server().kill9();
  in_flight.wait();
  lazada_->release();
  ASSERT_NO_THROW(env_->restart());

  push_all("tiktok", tiktok, half, false);
  push_all("shopee", shopee, 0, false);
  // Changes days later, and the pulled platform's changes.
  push_all("tiktok", tiktok, 0, true);
  push_all("shopee", shopee, 0, true);
  // On the pulled platform they happen now: the pull has moved past the orders' old days.
  for (const auto& o : lazada)
    if (o.later) {
      auto v = *o.later;
      v.update_s = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
      lazada_->put(native(o, v), v.update_s);
    }
  // Replays: first versions sent again change nothing, also for orders changed since.
  for (size_t at : {size_t{0}, size_t{5000}, size_t{21000}}) {
    auto res = push("shopee", shopee, at, false);
    ASSERT_EQ(res.status, 200) << res.describe();
    EXPECT_EQ(res.json()["imported"], 0);
    EXPECT_EQ(res.json()["updated"], 0);
    EXPECT_EQ(res.json()["unchanged"], batch);
  }

  // Web checkouts, every third delivered.
  std::map<bucket_key, sums> expected;
  const int web_orders = 30;
  auto sku = stocked_product("history-web", 1500, web_orders);
  for (int i = 0; i < web_orders; ++i) {
    auto cart = filled_cart(ada_, {{sku, 1}});
    auto res = http().request(
      mt::checkout_request("history-" + std::to_string(i), mt::checkout_body(cart), ada_));
    ASSERT_EQ(res.status, 201) << res.describe();
    auto id = res.json().at("order_id").get<std::string>();
    auto view = http().get("/v1/orders/" + id, admin_);
    ASSERT_EQ(view.status, 200) << view.describe();
    const auto order_view = view.json();
    const auto& totals = order_view.at("totals");
    bool delivered = i % 3 == 0;
    if (delivered) {
      json fact{{"source", "logistics"},
                {"type", "delivered"},
                {"external_id", "history-dlv-" + std::to_string(i)},
                {"occurred_at", mercato::util::format_rfc3339_ms(now_s * 1000)}};
      ASSERT_EQ(http().post("/v1/orders/" + id + "/events", fact, service_).status, 202);
    }
    auto placed = order_view.at("created_at").get<std::string>().substr(0, 10);
    count(expected[{placed, "web", totals.at("currency").get<std::string>()}],
          delivered ? state::completed : state::pending, totals.at("subtotal_minor").get<int64_t>(),
          totals.at("discount_minor").get<int64_t>(), totals.at("total_minor").get<int64_t>());
  }

  for (const auto* platform : {&tiktok, &shopee, &lazada})
    for (const auto& o : *platform)
      count(expected[{day_of(o.create_s), o.platform, "MYR"}], o.last().status, o.gross,
            o.discount(), o.final_amount());

  // The generated days, and today's web orders (a range may span at most 400 days).
  std::map<bucket_key, sums> got;
  bool equal = eventually(
    [&] {
      got = served(day_of(first_day_s), day_of(first_day_s + (days - 1) * 86400LL));
      got.merge(served(day_of(now_s - 86400), day_of(now_s + 86400)));
      return got == expected;
    },
    240s, 500ms);
  size_t shown = 0;
  for (const auto& [key, want] : expected) {
    auto i = got.find(key);
    if (i != got.end() && i->second == want)
      continue;
    if (++shown <= 10)
      ADD_FAILURE() << std::get<0>(key) << " " << std::get<1>(key) << " " << std::get<2>(key)
                    << ": expected " << to_string(want) << ", served "
                    << (i == got.end() ? std::string{"nothing"} : to_string(i->second));
  }
  for (const auto& [key, s] : got)
    if (!expected.count(key) && ++shown <= 20)
      ADD_FAILURE() << "unexpected row " << std::get<0>(key) << " " << std::get<1>(key);
  EXPECT_TRUE(equal) << shown << " buckets differ";

  // The incrementally kept table also equals the aggregation over the projection's own
  // per-order contributions (what `tools/dev stats-check` runs).
  pqxx::connection conn{env_->dsn()};
  pqxx::read_transaction txn{conn};
  const std::string kept
    = "SELECT stat_date, platform, currency, total_orders, completed_orders, cancelled_orders, "
      "returned_orders, pending_orders, gross_merchandise_value_minor, total_revenue_minor, "
      "total_discount_minor FROM daily_stats WHERE total_orders > 0";
  const std::string aggregated = std::string{"SELECT * FROM ("} + contributions_aggregate + ") a";
  EXPECT_EQ(txn.exec1("SELECT count(*) FROM ((" + kept + ") EXCEPT (" + aggregated + ")) d")[0]
              .as<int64_t>(),
            0);
  EXPECT_EQ(txn.exec1("SELECT count(*) FROM ((" + aggregated + ") EXCEPT (" + kept + ")) d")[0]
              .as<int64_t>(),
            0);
  int64_t orders_total = 0;
  for (const auto& [key, s] : expected)
    orders_total += s.total;
  EXPECT_GE(orders_total, 100'000);
}

} // namespace
