// End-to-end tests of the admin API and of mercatoctl: the real `mercato` binary on a fresh
// PostgreSQL database per test, inspected over HTTP and through the real `mercatoctl` binary.

#include "tests/support/e2e_env.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace mt = mercato::test;
using json = nlohmann::json;
using namespace std::chrono_literals;

std::string unique_sku(const std::string& tag) {
  static std::atomic<int> n{0};
  return "adm-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

class AdminE2E : public ::testing::Test {
protected:
  void SetUp() override {
    auto dsn = mt::superuser_dsn();
    if (!dsn)
      GTEST_SKIP() << mt::test_database_url_env << " is unset";
    try {
      env_ = std::make_unique<mt::server_env>(*dsn);
      env_->start();
    } catch (const std::exception& e) {
      FAIL() << "cannot start mercato: " << e.what();
    }
    admin_ = env_->token("admin");
    service_ = env_->token("service");
    customer_ = env_->token("customer");
  }

  void TearDown() override {
    env_.reset();
  }

  mt::http_client& http() {
    return env_->http();
  }

  std::string url() {
    return env_->server().base_url();
  }

  /// A product with `on_hand` units of stock, which makes its stock entity live.
  void stock_item(const std::string& sku, int64_t on_hand) {
    auto res
      = http().put("/v1/products/" + sku,
                   {{"name", "Product " + sku}, {"price_minor", 100}, {"currency", "USD"}}, admin_);
    ASSERT_TRUE(res.status == 200 || res.status == 201) << res.describe();
    res = http().put("/v1/stock/" + sku, {{"on_hand", on_hand}}, admin_);
    ASSERT_EQ(res.status, 200) << res.describe();
  }

  json stock(const std::string& sku) {
    auto res = http().get("/v1/stock/" + sku);
    EXPECT_EQ(res.status, 200) << res.describe();
    return res.status == 200 ? res.json() : json();
  }

  /// Runs mercatoctl with `args` against this server, the admin token in MERCATO_TOKEN unless
  /// `token` says otherwise ("" = none).
  mt::command_result ctl(std::vector<std::string> args, std::optional<std::string> token = {}) {
    args.insert(args.begin(), mt::mercatoctl_binary());
    std::map<std::string, std::string> env{{"MERCATO_URL", url()}};
    auto t = token.value_or(admin_);
    if (!t.empty())
      env["MERCATO_TOKEN"] = t;
    try {
      return mt::run_command(args, env, {"MERCATO_URL", "MERCATO_TOKEN"});
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      return {};
    }
  }

  /// The keys `mercatoctl actors --kind stock --json` lists, following every page.
  std::vector<std::string> listed_stock(int page_size = 1000) {
    std::vector<std::string> keys;
    std::string cursor;
    for (int pages = 0; pages < 100; ++pages) {
      std::vector<std::string> args{"--json", "actors",  "--kind",
                                    "stock",  "--limit", std::to_string(page_size)};
      if (!cursor.empty())
        args.insert(args.end(), {"--cursor", cursor});
      auto r = ctl(args);
      EXPECT_EQ(r.exit_code, 0) << r.describe();
      json body = json::parse(r.out, nullptr, false);
      EXPECT_TRUE(body.is_object()) << r.describe();
      if (!body.is_object())
        return keys;
      for (const auto& item : body["items"]) {
        EXPECT_EQ(item.value("kind", ""), "stock");
        keys.push_back(item.value("key", ""));
      }
      if (!body["next_cursor"].is_string())
        return keys;
      cursor = body["next_cursor"].get<std::string>();
    }
    ADD_FAILURE() << "more than 100 pages";
    return keys;
  }

  bool is_listed(const std::string& sku) {
    auto keys = listed_stock();
    return std::find(keys.begin(), keys.end(), sku) != keys.end();
  }

  std::unique_ptr<mt::server_env> env_;
  std::string admin_;
  std::string service_;
  std::string customer_;
};

// -- mercatoctl over live entities --------------------------------------------------------------

TEST_F(AdminE2E, CtlListsAndInspectsStockWithTrueState) {
  std::vector<std::string> skus{unique_sku("a"), unique_sku("b"), unique_sku("c")};
  for (const auto& sku : skus)
    ASSERT_NO_FATAL_FAILURE(stock_item(sku, 40));
  auto res = http().post("/v1/stock/" + skus[1] + "/reservations",
                         {{"reservation_id", "r-1"}, {"quantity", 3}, {"ttl_s", 3600}}, service_);
  ASSERT_EQ(res.status, 201) << res.describe();

  // Every page size lists the same entities, in key order.
  auto sorted = skus;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(listed_stock(), sorted);
  EXPECT_EQ(listed_stock(2), sorted);
  EXPECT_EQ(listed_stock(1), sorted);

  auto r = ctl({"--json", "actors"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  auto body = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r.out;
  ASSERT_EQ(body["items"].size(), 3u) << r.out;
  for (const auto& item : body["items"]) {
    EXPECT_EQ(item["status"], "running") << item;
    EXPECT_EQ(item["restarts"], 0) << item;
    EXPECT_TRUE(item["mailbox"].is_number_integer() && item["mailbox"].get<int64_t>() >= 0) << item;
    EXPECT_TRUE(item["idle_ms"].is_number_integer() && item["idle_ms"].get<int64_t>() >= 0) << item;
    EXPECT_FALSE(item.value("node", "").empty()) << item;
  }

  // The human table has a header and one row per entity.
  r = ctl({"actors", "--kind", "stock"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out.rfind("KIND", 0), 0u) << r.out;
  for (const auto& sku : skus)
    EXPECT_NE(r.out.find("stock  " + sku), std::string::npos) << r.out;

  // Inspection shows what GET /v1/stock shows, plus holds and the events that led there.
  for (const auto& sku : skus) {
    auto view = stock(sku);
    r = ctl({"--json", "inspect", "stock", sku});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    auto ins = json::parse(r.out, nullptr, false);
    ASSERT_TRUE(ins.is_object()) << r.out;
    EXPECT_EQ(ins["kind"], "stock");
    EXPECT_EQ(ins["key"], sku);
    EXPECT_EQ(ins["version"], view["version"]) << ins;
    EXPECT_EQ(ins["state"]["on_hand"], view["on_hand"]) << ins;
    EXPECT_EQ(ins["state"]["reserved"], view["reserved"]) << ins;
    EXPECT_EQ(ins["state"]["available"], view["available"]) << ins;
    ASSERT_TRUE(ins["recent_events"].is_array()) << ins;
    ASSERT_EQ(ins["recent_events"].size(), view["version"].get<size_t>()) << ins;
    EXPECT_EQ(ins["recent_events"][0]["type"], "on_hand_set") << ins;
    EXPECT_EQ(ins["recent_events"][0]["seq"], 1) << ins;
  }
  r = ctl({"--json", "inspect", "stock", skus[1]});
  auto held = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(held.is_object()) << r.describe();
  EXPECT_EQ(held["state"]["reserved"], 3);
  ASSERT_EQ(held["state"]["holds"].size(), 1u) << held;
  EXPECT_EQ(held["state"]["holds"][0]["reservation_id"], "r-1");
  EXPECT_EQ(held["recent_events"].back()["type"], "reserved");

  r = ctl({"inspect", "stock", skus[1]});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("version  2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reserved"), std::string::npos) << r.out;

  r = ctl({"--json", "cluster"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  auto cluster = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(cluster.is_object()) << r.out;
  ASSERT_EQ(cluster["members"].size(), 1u);
  EXPECT_EQ(cluster["members"][0]["node_id"], cluster["self"]);
  EXPECT_EQ(cluster["members"][0]["entities"], 3);
  EXPECT_EQ(cluster["members"][0]["address"], "127.0.0.1:" + std::to_string(env_->server().port()));
  r = ctl({"cluster"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out.rfind("NODE", 0), 0u) << r.out;
}

TEST_F(AdminE2E, PassivatedEntityLeavesListAndComesBackWithState) {
  auto sku = unique_sku("pass");
  ASSERT_NO_FATAL_FAILURE(stock_item(sku, 25));
  auto adj = http().post("/v1/stock/" + sku + "/adjustments", {{"delta", -5}, {"reason", "count"}},
                         admin_);
  ASSERT_EQ(adj.status, 200) << adj.describe();
  auto before = stock(sku);
  ASSERT_TRUE(is_listed(sku));

  auto r = ctl({"passivate", "stock", sku});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(mt::eventually([&] { return !is_listed(sku); }, 10s, 50ms))
    << sku << " is still listed after passivation";
  r = ctl({"inspect", "stock", sku});
  EXPECT_EQ(r.exit_code, 5) << "a passivated entity is not live: " << r.describe();

  // The next use recovers it from the journal, with the same state.
  EXPECT_EQ(stock(sku), before);
  EXPECT_TRUE(is_listed(sku));
  r = ctl({"--json", "inspect", "stock", sku});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  auto ins = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(ins.is_object()) << r.out;
  EXPECT_EQ(ins["version"], before["version"]);
  EXPECT_EQ(ins["state"]["on_hand"], 20);
  // Recovered events are part of the recent ones again.
  EXPECT_EQ(ins["recent_events"].size(), 2u) << ins;

  auto passivations = mt::metric_value(http().get("/metrics").body,
                                       "mercato_entity_passivations_total", {{"kind", "stock"}});
  EXPECT_EQ(passivations, 1.0);
}

TEST_F(AdminE2E, CtlErrorsHaveMessagesAndExitCodes) {
  auto sku = unique_sku("err");
  ASSERT_NO_FATAL_FAILURE(stock_item(sku, 1));

  // Unreachable: nothing listens on a port this test just closed.
  uint16_t dead_port = 0;
  {
    // A free port: bound here, closed at the end of this block.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor acc{
      ioc, boost::asio::ip::tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), 0}};
    dead_port = acc.local_endpoint().port();
  }
  auto r = mt::run_command({mt::mercatoctl_binary(), "--url",
                            "http://127.0.0.1:" + std::to_string(dead_port), "--token", admin_,
                            "cluster"});
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  EXPECT_NE(r.err.find("cannot reach"), std::string::npos) << r.describe();

  // Token problems.
  r = ctl({"actors"}, std::string{});
  EXPECT_EQ(r.exit_code, 4) << r.describe();
  EXPECT_NE(r.err.find("no token"), std::string::npos) << r.describe();
  r = ctl({"actors"}, mt::mint_token(env_->secret() + "-other", "x", "admin"));
  EXPECT_EQ(r.exit_code, 4) << r.describe();
  EXPECT_NE(r.err.find("HTTP 401"), std::string::npos) << r.describe();
  r = ctl({"actors"}, customer_);
  EXPECT_EQ(r.exit_code, 4) << r.describe();
  EXPECT_NE(r.err.find("HTTP 403"), std::string::npos) << r.describe();

  // Unknown entity, unknown kind, bad arguments.
  r = ctl({"inspect", "stock", unique_sku("never")});
  EXPECT_EQ(r.exit_code, 5) << r.describe();
  EXPECT_NE(r.err.find("not live"), std::string::npos) << r.describe();
  r = ctl({"passivate", "stock", unique_sku("never")});
  EXPECT_EQ(r.exit_code, 5) << r.describe();
  r = ctl({"inspect", "dragon", "x"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("kind"), std::string::npos) << r.describe();
  r = ctl({"actors", "--kind", "dragon"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  r = ctl({"actors", "--limit", "0"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  r = ctl({"no-such-command"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  r = ctl({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos) << r.describe();

  // None of it changed the entity.
  EXPECT_EQ(stock(sku)["version"], 1);
}

// -- admin endpoints over HTTP ------------------------------------------------------------------

TEST_F(AdminE2E, AdminEndpointsRefuseMissingAndNonAdminTokens) {
  auto sku = unique_sku("auth");
  ASSERT_NO_FATAL_FAILURE(stock_item(sku, 7));
  struct endpoint {
    std::string method;
    std::string target;
  };
  const std::vector<endpoint> endpoints{
    {"GET", "/v1/admin/cluster"},
    {"GET", "/v1/admin/actors"},
    {"GET", "/v1/admin/actors?kind=stock"},
    {"GET", "/v1/admin/actors/stock/" + sku},
    {"POST", "/v1/admin/actors/stock/" + sku + "/passivate"},
    {"GET", "/v1/admin/dead-letters"},
    {"POST", "/v1/admin/dead-letters/00000000-0000-4000-8000-000000000000/retry"},
  };
  const std::vector<std::pair<std::string, int>> callers{
    {"", 401},
    {mt::mint_token(env_->secret() + "-other", "x", "admin"), 401},
    {env_->token("admin", -1h), 401},
    {customer_, 403},
    {service_, 403},
  };
  for (const auto& e : endpoints) {
    for (const auto& [token, status] : callers) {
      SCOPED_TRACE(e.method + " " + e.target + " expecting " + std::to_string(status));
      mt::http_request req;
      req.method = e.method;
      req.target = e.target;
      req.bearer(token);
      mt::expect_problem(http().request(req), status, status == 401 ? "unauthorized" : "forbidden");
    }
  }
  // Refused passivations passivated nothing.
  EXPECT_TRUE(is_listed(sku));
  EXPECT_EQ(mt::metric_value(http().get("/metrics").body, "mercato_entity_passivations_total",
                             {{"kind", "stock"}}),
            0.0);
}

TEST_F(AdminE2E, BadAdminRequestsGetProblemsAndInspectionNeverSpawns) {
  auto sku = unique_sku("bad");
  ASSERT_NO_FATAL_FAILURE(stock_item(sku, 3));
  auto live = [&] {
    return mt::metric_value(http().get("/metrics").body, "mercato_entities_live",
                            {{"kind", "stock"}});
  };
  ASSERT_EQ(live(), 1.0);

  const std::vector<std::pair<std::string, int>> cases{
    {"/v1/admin/actors?kind=dragon", 400},
    {"/v1/admin/actors?limit=0", 400},
    {"/v1/admin/actors?limit=abc", 400},
    {"/v1/admin/actors?cursor=%00%01", 400},
    {"/v1/admin/actors?cursor=not-a-cursor", 400},
    {"/v1/admin/actors/dragon/x", 400},
    {"/v1/admin/actors/stock/bad%20key", 400},
    {"/v1/admin/actors/stock/" + unique_sku("never"), 404},
    {"/v1/admin/actors/cart/no-such-cart", 404},
    {"/v1/admin/dead-letters?kind=postcard", 400},
    {"/v1/admin/dead-letters?limit=501", 400},
    {"/v1/admin/dead-letters?cursor=garbage", 400},
  };
  for (const auto& [target, status] : cases) {
    SCOPED_TRACE(target);
    mt::expect_problem(http().get(target, admin_), status,
                       status == 400 ? "invalid_request" : "not_found");
  }
  auto res = http().post("/v1/admin/actors/stock/" + unique_sku("never") + "/passivate",
                         json::object(), admin_);
  mt::expect_problem(res, 404, "not_found");
  // Nothing above brought an entity to life.
  EXPECT_EQ(live(), 1.0);
  auto body = http().get("/v1/admin/actors", admin_).json();
  EXPECT_EQ(body["items"].size(), 1u) << body;
  EXPECT_TRUE(body["next_cursor"].is_null()) << body;

  // Another node's entities are not here.
  body = http().get("/v1/admin/actors?node=some-other-node", admin_).json();
  EXPECT_EQ(body["items"].size(), 0u) << body;
}

TEST_F(AdminE2E, DeadLettersArePagedNewestFirst) {
  {
    pqxx::connection conn{env_->dsn()};
    pqxx::work txn{conn};
    txn.exec("INSERT INTO dead_letters (kind, target, aggregate_type, aggregate_id, event_id, "
             "payload, last_error, attempts, first_failed_at, dead_at) VALUES "
             "('webhook', 'https://hooks.example/a', 'order', 'o-1', 'e-1', '{\"n\":1}', "
             "'HTTP 500', 8, now() - interval '2 hours', now() - interval '1 hour'), "
             "('notification', 'sms:+15550100', 'order', 'o-2', 'e-2', '{\"n\":2}', "
             "'provider timeout', 5, now() - interval '1 hour', now() - interval '30 minutes'), "
             "('webhook', 'https://hooks.example/b', NULL, NULL, NULL, '{\"n\":3}', "
             "'connection refused', 8, now() - interval '10 minutes', now())");
    txn.commit();
  }
  auto res = http().get("/v1/admin/dead-letters", admin_);
  ASSERT_EQ(res.status, 200) << res.describe();
  auto all = res.json();
  ASSERT_EQ(all["items"].size(), 3u) << all;
  EXPECT_EQ(all["items"][0]["payload"]["n"], 3);
  EXPECT_EQ(all["items"][1]["payload"]["n"], 2);
  EXPECT_EQ(all["items"][2]["payload"]["n"], 1);
  EXPECT_TRUE(all["items"][0]["aggregate_id"].is_null());
  EXPECT_EQ(all["items"][2]["attempts"], 8);
  EXPECT_TRUE(all["next_cursor"].is_null());

  // One per page, following the cursor, gives the same rows in the same order.
  std::vector<json> paged;
  std::string target = "/v1/admin/dead-letters?limit=1";
  for (int i = 0; i < 10; ++i) {
    auto page = http().get(target, admin_);
    ASSERT_EQ(page.status, 200) << page.describe();
    auto body = page.json();
    for (const auto& x : body["items"])
      paged.push_back(x);
    if (body["next_cursor"].is_null())
      break;
    target = "/v1/admin/dead-letters?limit=1&cursor=" + body["next_cursor"].get<std::string>();
  }
  ASSERT_EQ(paged.size(), 3u);
  for (size_t i = 0; i < paged.size(); ++i)
    EXPECT_EQ(paged[i]["id"], all["items"][i]["id"]);

  auto webhooks = http().get("/v1/admin/dead-letters?kind=webhook", admin_).json();
  EXPECT_EQ(webhooks["items"].size(), 2u) << webhooks;

  auto r = ctl({"--json", "dead-letters", "--kind", "notification"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  auto out = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << r.out;
  ASSERT_EQ(out["items"].size(), 1u);
  EXPECT_EQ(out["items"][0]["target"], "sms:+15550100");
  r = ctl({"dead-letters"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("https://hooks.example/a"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("open"), std::string::npos) << r.out;

  // A webhook letter of an endpoint this server does not send to cannot go again: refused,
  // and the refusal counted on the letter with its reason.
  auto gone = all["items"][0]["id"].get<std::string>();
  r = ctl({"dead-letters", "--retry", gone});
  EXPECT_NE(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.err.find("no longer configured"), std::string::npos) << r.describe();
  auto after = http().get("/v1/admin/dead-letters?kind=webhook&limit=1", admin_).json();
  EXPECT_EQ(after["items"][0]["retries"], 1) << after;
  EXPECT_TRUE(after["items"][0]["resolved_at"].is_null()) << after;
  EXPECT_NE(after["items"][0]["last_error"].get<std::string>().find("no longer configured"),
            std::string::npos)
    << after;
}

// -- metrics ------------------------------------------------------------------------------------

TEST_F(AdminE2E, MetricsExposeWhatOperatorsWatch) {
  std::vector<std::string> skus{unique_sku("m1"), unique_sku("m2"), unique_sku("m3")};
  for (const auto& sku : skus)
    ASSERT_NO_FATAL_FAILURE(stock_item(sku, 10));
  auto scrape = [&] {
    auto res = http().get("/metrics");
    EXPECT_EQ(res.status, 200) << res.describe();
    EXPECT_EQ(res.header("content-type").rfind("text/plain", 0), 0u);
    return res.body;
  };
  const std::map<std::string, std::string> route{
    {"route", "/v1/stock/{sku}"}, {"method", "GET"}, {"status", "200"}};
  const std::map<std::string, std::string> route_latency{{"route", "/v1/stock/{sku}"},
                                                         {"method", "GET"}};
  auto before = scrape();
  auto count_before = mt::metric_value(before, "mercato_http_requests_total", route).value_or(0);
  auto hist_before
    = mt::metric_value(before, "mercato_http_request_duration_seconds_count", route_latency)
        .value_or(0);
  constexpr int n = 7;
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(http().get("/v1/stock/" + skus[i % 3]).status, 200);

  // A request is counted when its response is serialised, which may trail the client's read.
  std::string text;
  EXPECT_TRUE(mt::eventually(
    [&] {
      text = scrape();
      return mt::metric_value(text, "mercato_http_requests_total", route) == count_before + n;
    },
    5s))
    << text;
  EXPECT_EQ(mt::metric_value(text, "mercato_http_request_duration_seconds_count", route_latency),
            hist_before + n);
  auto inf_bucket = route_latency;
  inf_bucket["le"] = "+Inf";
  EXPECT_EQ(mt::metric_value(text, "mercato_http_request_duration_seconds_bucket", inf_bucket),
            hist_before + n);

  // Three set-stock commands went through the journal.
  EXPECT_GE(mt::metric_value(text, "mercato_journal_batch_size_count").value_or(0), 1.0) << text;
  EXPECT_GE(mt::metric_value(text, "mercato_journal_batch_size_sum").value_or(0), 3.0) << text;
  EXPECT_GE(mt::metric_value(text, "mercato_journal_commit_seconds_count").value_or(0), 1.0);
  EXPECT_EQ(mt::metric_value(text, "mercato_journal_appends_total"), 3.0) << text;

  EXPECT_EQ(mt::metric_value(text, "mercato_entities_live", {{"kind", "stock"}}), 3.0);
  auto depth = mt::metric_value(text, "mercato_entity_mailbox_depth", {{"kind", "stock"}});
  ASSERT_TRUE(depth.has_value()) << text;
  EXPECT_GE(*depth, 0.0);
  EXPECT_EQ(mt::metric_value(text, "mercato_entity_restarts_total", {{"kind", "stock"}}), 0.0);
  EXPECT_EQ(mt::metric_value(text, "mercato_entity_passivations_total", {{"kind", "stock"}}), 0.0);
  EXPECT_EQ(mt::metric_value(text, "mercato_ws_sessions"), 0.0) << text;
  EXPECT_NE(text.find("# TYPE mercato_http_request_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("# TYPE mercato_entity_mailbox_depth gauge"), std::string::npos);
}

} // namespace
