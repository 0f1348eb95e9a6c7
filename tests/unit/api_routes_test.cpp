// The API routes end to end over loopback, against fake actors (a stock region and a product
// store in memory): auth, validation, status codes, request ids, the OpenAPI document.

#include "actors/protocol/errors.hpp"
#include "actors/protocol/interfaces.hpp"
#include "api/auth/jwt.hpp"
#include "api/http/server.hpp"
#include "api/json/openapi.hpp"
#include "api/routes/common.hpp"
#include "tests/unit/api_test_http.hpp"

#include <caf/all.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <set>

using namespace mercato;
using namespace mercato::api;
using mercato::api::test::http_client;
using nlohmann::json;

namespace {

const std::string secret = "routes-test-secret";

// -- fake stock region: answers (route, key, msg) like the real region's entities ------------

struct fake_item {
  bool exists = false;
  int64_t on_hand = 0;
  int64_t reserved = 0;
  uint64_t version = 0;
  std::map<std::string, int64_t> holds;
  std::set<std::string> sold;
};

struct region_state {
  std::map<std::string, fake_item> items;
  std::vector<std::string> request_ids;
  static inline const char* name = "fake_region";
};

caf::behavior fake_region(caf::stateful_actor<region_state>* self) {
  using route_atom = caf::atom_constant<caf::atom("route")>;
  return {
    [=](route_atom, const std::string& key, caf::message& msg) -> caf::result<caf::message> {
      auto rp = self->make_response_promise();
      if (key == "black-hole")
        return rp; // never answered: the API's request times out
      auto& it = self->state.items[key];
      auto view = [&] {
        return stock_view{key, it.on_hand, it.reserved, it.on_hand - it.reserved, it.version};
      };
      if (msg.match_elements<atom::get>()) {
        if (!it.exists)
          rp.deliver(caf::make_error(mercato_errc::not_found, std::string{"no stock for " + key}));
        else
          rp.deliver(view());
      } else if (msg.match_elements<atom::set, stock_set_cmd>()) {
        auto& cmd = msg.get_as<stock_set_cmd>(1);
        self->state.request_ids.push_back(cmd.request_id);
        it.exists = true;
        it.on_hand = cmd.on_hand;
        ++it.version;
        rp.deliver(view());
      } else if (msg.match_elements<atom::adjust, stock_adjust_cmd>()) {
        auto& cmd = msg.get_as<stock_adjust_cmd>(1);
        if (it.on_hand + cmd.delta < it.reserved) {
          rp.deliver(caf::make_error(mercato_errc::conflict, std::string{"below held units"}));
        } else {
          it.on_hand += cmd.delta;
          ++it.version;
          rp.deliver(view());
        }
      } else if (msg.match_elements<atom::reserve, reserve_cmd>()) {
        auto& cmd = msg.get_as<reserve_cmd>(1);
        self->state.request_ids.push_back(cmd.request_id);
        if (!it.holds.count(cmd.reservation_id)) {
          if (it.on_hand - it.reserved < cmd.quantity) {
            rp.deliver(
              caf::make_error(mercato_errc::insufficient_stock, std::string{"not enough units"}));
            return rp;
          }
          it.holds[cmd.reservation_id] = cmd.quantity;
          it.reserved += cmd.quantity;
          ++it.version;
        }
        auto ttl = cmd.ttl_ms == 0 ? 900000 : cmd.ttl_ms;
        rp.deliver(reservation_view{cmd.reservation_id, key, it.holds[cmd.reservation_id],
                                    1700000000000 + ttl});
      } else if (msg.match_elements<atom::commit, hold_cmd>()
                 || msg.match_elements<atom::release, hold_cmd>()) {
        bool commit = msg.match_element<atom::commit>(0);
        auto& cmd = msg.get_as<hold_cmd>(1);
        auto h = it.holds.find(cmd.reservation_id);
        if (h == it.holds.end()) {
          rp.deliver(caf::make_error(mercato_errc::not_found, std::string{"no such hold"}));
        } else {
          it.reserved -= h->second;
          if (commit)
            it.on_hand -= h->second;
          it.holds.erase(h);
          ++it.version;
          rp.deliver(view());
        }
      } else if (msg.match_elements<atom::fault>()) {
        rp.deliver(caf::make_error(caf::sec::runtime_error));
      } else {
        rp.deliver(caf::make_error(caf::sec::unexpected_message));
      }
      return rp;
    },
    [=](atom::list) { return self->state.request_ids; },
  };
}

// -- fake product store -----------------------------------------------------------------------

struct products_state {
  std::map<std::string, product> items;
  bool ready = true;
  static inline const char* name = "fake_products";
};

product_store_actor::behavior_type
fake_products(product_store_actor::stateful_pointer<products_state> self, bool ready) {
  self->state.ready = ready;
  return {
    [=](atom::put, product p) -> product_put_result {
      auto i = self->state.items.find(p.sku);
      bool created = i == self->state.items.end();
      p.created_at_ms = created ? 1700000000000 : i->second.created_at_ms;
      p.updated_at_ms = 1700000000500;
      p.version = created ? 1 : i->second.version + 1;
      self->state.items[p.sku] = p;
      return {p, created};
    },
    [=](atom::get, const std::string& sku) -> caf::result<product> {
      auto i = self->state.items.find(sku);
      if (i == self->state.items.end())
        return caf::make_error(mercato_errc::not_found, std::string{"no product " + sku});
      return i->second;
    },
    [=](atom::search, const product_query& q) -> product_page {
      product_page page;
      for (auto& [sku, p] : self->state.items)
        if (q.category.empty() || p.category == q.category)
          page.items.push_back(p);
      if (static_cast<int32_t>(page.items.size()) > q.limit) {
        page.items.resize(static_cast<size_t>(q.limit));
        page.next_cursor = page.items.back().sku;
      }
      return page;
    },
    [=](atom::ping) { return self->state.ready; },
  };
}

struct actor_config : caf::actor_system_config {
  actor_config() {
    set("scheduler.max-threads", 2);
  }
};

class Routes : public ::testing::Test {
protected:
  void start(bool fault_injection = true, bool ready = true, int64_t timeout_ms = 5000) {
    region = sys.spawn(fake_region);
    products = sys.spawn(fake_products, ready);
    runtime::node_handles h;
    h.sys = &sys;
    h.stock_region = region;
    h.products = products;
    h.metrics = &metrics;
    h.cfg.server.http_addr = "127.0.0.1:0";
    h.cfg.server.io_threads = 1;
    h.cfg.entity.request_timeout_ms = timeout_ms;
    h.cfg.auth.jwt_secret = secret;
    h.cfg.testing.fault_injection = fault_injection;
    server.emplace(h);
    server->start();
    client.emplace(server->port());
  }

  void SetUp() override {
    start();
  }

  void TearDown() override {
    client.reset();
    server.reset();
    caf::anon_send_exit(region, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(products, caf::exit_reason::user_shutdown);
  }

  static std::string token(const std::string& role) {
    return mint_hs256({{"sub", role + "-1"}, {"role", role}, {"exp", jwt_verifier::now() + 3600}},
                      secret);
  }

  static std::string auth(const std::string& role) {
    return "Authorization: Bearer " + token(role) + "\r\n";
  }

  test::http_reply call(const std::string& method, const std::string& target,
                        const std::string& body = {}, const std::string& headers = {}) {
    return client->request(method, target, body, headers);
  }

  void put_product(const std::string& sku) {
    auto r = call("PUT", "/v1/products/" + sku,
                  R"({"name":"Mug","price_minor":1999,"currency":"USD","category":"kitchen"})",
                  auth("admin"));
    ASSERT_TRUE(r.status == 201 || r.status == 200) << r.body;
  }

  void put_stock(const std::string& sku, int64_t on_hand) {
    auto r = call("PUT", "/v1/stock/" + sku, "{\"on_hand\":" + std::to_string(on_hand) + "}",
                  auth("admin"));
    ASSERT_EQ(r.status, 200) << r.body;
  }

  actor_config cfg;
  caf::actor_system sys{cfg};
  runtime::metrics_registry metrics;
  caf::actor region;
  product_store_actor products;
  std::optional<http_server> server;
  std::optional<http_client> client;
};

json body_of(const test::http_reply& r) {
  return json::parse(r.body);
}

} // namespace

TEST_F(Routes, HealthzIsOk) {
  auto r = call("GET", "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["status"], "ok");
}

TEST_F(Routes, ReadyzPingsTheProductStore) {
  auto r = call("GET", "/readyz");
  EXPECT_EQ(r.status, 200);
}

TEST_F(Routes, ReadyzIs503WhenStoreIsNotReady) {
  TearDown();
  start(true, false);
  auto r = call("GET", "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body_of(r)["code"], "unavailable");
  EXPECT_EQ(r.header("retry-after"), "1");
}

TEST_F(Routes, PutProductNeedsAdmin) {
  auto body = R"({"name":"Mug","price_minor":1999,"currency":"USD"})";
  auto r = call("PUT", "/v1/products/MUG-1", body);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(body_of(r)["code"], "unauthorized");
  EXPECT_EQ(r.header("www-authenticate"), "Bearer realm=\"mercato\"");
  r = call("PUT", "/v1/products/MUG-1", body, "Authorization: Bearer nope\r\n");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.header("www-authenticate").find("invalid_token"), std::string::npos);
  r = call("PUT", "/v1/products/MUG-1", body, auth("customer"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(body_of(r)["code"], "forbidden");
  r = call("PUT", "/v1/products/MUG-1", body, auth("service"));
  EXPECT_EQ(r.status, 403);
}

TEST_F(Routes, PutProductCreatesThenReplaces) {
  auto body = R"({"name":"Mug","price_minor":1999,"currency":"USD","unknown":[1,2]})";
  auto r = call("PUT", "/v1/products/MUG-1", body, auth("admin"));
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.header("location"), "/v1/products/MUG-1");
  auto doc = body_of(r);
  EXPECT_EQ(doc["sku"], "MUG-1");
  EXPECT_EQ(doc["price_minor"], 1999);
  EXPECT_EQ(doc["created_at"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(doc["version"], 1);
  r = call("PUT", "/v1/products/MUG-1", body, auth("admin"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["version"], 2);
}

TEST_F(Routes, PutProductValidatesBody) {
  auto r = call("PUT", "/v1/products/MUG-1", R"({"name":"Mug","price_minor":-1,"currency":"usd"})",
                auth("admin"));
  EXPECT_EQ(r.status, 400);
  auto doc = body_of(r);
  EXPECT_EQ(doc["code"], "invalid_request");
  EXPECT_EQ(doc["errors"].size(), 2u);
  EXPECT_EQ(doc["errors"][0]["field"], "price_minor");
  EXPECT_EQ(doc["request_id"], r.header("x-request-id"));
}

TEST_F(Routes, GetProduct) {
  put_product("MUG-1");
  auto r = call("GET", "/v1/products/MUG-1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["name"], "Mug");
  r = call("GET", "/v1/products/NOPE");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body_of(r)["code"], "not_found");
  EXPECT_EQ(body_of(r)["detail"], "no product NOPE");
}

TEST_F(Routes, ListProducts) {
  put_product("A");
  put_product("B");
  put_product("C");
  auto r = call("GET", "/v1/products?limit=2&category=kitchen");
  ASSERT_EQ(r.status, 200);
  auto doc = body_of(r);
  EXPECT_EQ(doc["items"].size(), 2u);
  EXPECT_EQ(doc["next_cursor"], "B");
  r = call("GET", "/v1/products?limit=10");
  EXPECT_TRUE(body_of(r)["next_cursor"].is_null());
  r = call("GET", "/v1/products?limit=1000");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_of(r)["errors"][0]["field"], "limit");
}

TEST_F(Routes, InvalidSkuIs400) {
  auto r = call("GET", "/v1/stock/" + std::string(65, 'a'));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_of(r)["errors"][0]["field"], "sku");
  r = call("GET", "/v1/products/a%20b");
  EXPECT_EQ(r.status, 400);
}

TEST_F(Routes, PutStockNeedsExistingProduct) {
  auto r = call("PUT", "/v1/stock/GHOST", R"({"on_hand":5})", auth("admin"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body_of(r)["code"], "not_found");
  put_product("REAL");
  r = call("PUT", "/v1/stock/REAL", R"({"on_hand":5})", auth("admin"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r),
            json::parse(R"({"sku":"REAL","on_hand":5,"reserved":0,"available":5,"version":1})"));
}

TEST_F(Routes, PutStockValidatesBeforeAskingActors) {
  auto r = call("PUT", "/v1/stock/X", R"({"on_hand":-4})", auth("admin"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_of(r)["errors"][0]["field"], "on_hand");
  r = call("PUT", "/v1/stock/X", R"({"on_hand":4})", auth("service"));
  EXPECT_EQ(r.status, 403);
}

TEST_F(Routes, GetStock) {
  put_product("S1");
  put_stock("S1", 10);
  auto r = call("GET", "/v1/stock/S1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["available"], 10);
  r = call("GET", "/v1/stock/NEVER");
  EXPECT_EQ(r.status, 404);
}

TEST_F(Routes, Adjustments) {
  put_product("S1");
  put_stock("S1", 10);
  auto r
    = call("POST", "/v1/stock/S1/adjustments", R"({"delta":-3,"reason":"damaged"})", auth("admin"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["on_hand"], 7);
  r = call("POST", "/v1/stock/S1/adjustments", R"({"delta":0,"reason":"x"})", auth("admin"));
  EXPECT_EQ(r.status, 400);
  r = call("POST", "/v1/stock/S1/adjustments", R"({"delta":-100,"reason":"x"})", auth("admin"));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(body_of(r)["code"], "conflict");
}

TEST_F(Routes, ReservationLifecycle) {
  put_product("S1");
  put_stock("S1", 5);
  auto r = call("POST", "/v1/stock/S1/reservations",
                R"({"reservation_id":"ord-1","quantity":3,"ttl_s":60})", auth("service"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("location"), "/v1/stock/S1/reservations/ord-1");
  EXPECT_EQ(body_of(r), json::parse(R"({"reservation_id":"ord-1","sku":"S1","quantity":3,
                                        "expires_at":"2023-11-14T22:14:20.000Z"})"));
  // Idempotent per reservation id.
  r = call("POST", "/v1/stock/S1/reservations", R"({"reservation_id":"ord-1","quantity":3})",
           auth("service"));
  EXPECT_EQ(r.status, 201);
  r = call("POST", "/v1/stock/S1/reservations", R"({"reservation_id":"ord-2","quantity":3})",
           auth("admin"));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(body_of(r)["code"], "insufficient_stock");
  r = call("POST", "/v1/stock/S1/reservations", R"({"reservation_id":"ord-2","quantity":2})",
           auth("service"));
  EXPECT_EQ(r.status, 201);
  r = call("POST", "/v1/stock/S1/reservations/ord-1/commit", "", auth("service"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["on_hand"], 2);
  EXPECT_EQ(body_of(r)["reserved"], 2);
  r = call("DELETE", "/v1/stock/S1/reservations/ord-2", "", auth("service"));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
  r = call("DELETE", "/v1/stock/S1/reservations/ord-2", "", auth("service"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body_of(call("GET", "/v1/stock/S1"))["available"], 2);
}

TEST_F(Routes, ReservationsNeedServiceOrAdmin) {
  auto body = R"({"reservation_id":"r","quantity":1})";
  EXPECT_EQ(call("POST", "/v1/stock/S1/reservations", body).status, 401);
  EXPECT_EQ(call("POST", "/v1/stock/S1/reservations", body, auth("customer")).status, 403);
  EXPECT_EQ(call("POST", "/v1/stock/S1/reservations/r/commit", "", auth("customer")).status, 403);
  EXPECT_EQ(call("DELETE", "/v1/stock/S1/reservations/r", "", auth("customer")).status, 403);
}

TEST_F(Routes, InvalidReservationIdInPathIs400) {
  auto r = call("DELETE", "/v1/stock/S1/reservations/a%2Fb", "", auth("service"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_of(r)["errors"][0]["field"], "reservation_id");
}

TEST_F(Routes, PassesRequestIdIntoCommands) {
  put_product("S1");
  auto r
    = call("PUT", "/v1/stock/S1", R"({"on_hand":5})", auth("admin") + "X-Request-ID: rid-77\r\n");
  ASSERT_EQ(r.status, 200);
  r = call("POST", "/v1/stock/S1/reservations", R"({"reservation_id":"x","quantity":1})",
           auth("service"));
  auto generated = r.header("x-request-id");
  caf::scoped_actor self{sys};
  std::vector<std::string> ids;
  self->request(region, std::chrono::seconds{5}, atom::list_v)
    .receive([&](const std::vector<std::string>& xs) { ids = xs; },
             [&](const caf::error& err) { FAIL() << caf::to_string(err); });
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], "rid-77");
  EXPECT_EQ(ids[1], generated);
}

TEST_F(Routes, TimeoutIs503WithRetryAfter) {
  TearDown();
  start(true, true, 100);
  auto r = call("GET", "/v1/stock/black-hole");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body_of(r)["code"], "unavailable");
  EXPECT_EQ(r.header("retry-after"), "1");
}

TEST_F(Routes, FaultInjectionAnswers202) {
  auto r = call("POST", "/v1/admin/actors/stock/S1/fault", "", auth("admin"));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(body_of(r)["status"], "fault injected");
  EXPECT_EQ(call("POST", "/v1/admin/actors/stock/S1/fault", "", auth("service")).status, 403);
}

TEST_F(Routes, FaultRouteAbsentWhenDisabled) {
  TearDown();
  start(false);
  EXPECT_EQ(call("POST", "/v1/admin/actors/stock/S1/fault", "", auth("admin")).status, 404);
}

TEST_F(Routes, MetricsAreTextFormat) {
  call("GET", "/healthz");
  auto r = call("GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("mercato_http_requests_total"), std::string::npos);
}

TEST_F(Routes, ServesOpenApi) {
  auto r = call("GET", "/openapi.json");
  EXPECT_EQ(r.status, 200);
  auto doc = body_of(r);
  EXPECT_EQ(doc["openapi"], "3.1.0");
}

TEST(OpenApi, DescribesEveryRoute) {
  runtime::node_handles h;
  h.cfg.testing.fault_injection = true;
  auto routes = make_router(h);
  auto doc = json::parse(openapi_document());
  ASSERT_TRUE(doc.contains("paths"));
  for (auto& [method, pattern] : routes->routes()) {
    std::string m{to_string(method)};
    for (auto& c : m)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string p{pattern};
    ASSERT_TRUE(doc["paths"].contains(p)) << p;
    EXPECT_TRUE(doc["paths"][p].contains(m)) << m << " " << p;
  }
  EXPECT_TRUE(doc["components"]["schemas"].contains("Problem"));
  EXPECT_TRUE(doc["components"]["securitySchemes"].contains("bearer"));
}

// -- tracking tokens (claim `order`): refused by every route that does not opt in ----------------

namespace {

struct captured : response_sink {
  std::optional<response> last;
  void post_response(uint64_t, response&& res) override {
    last = std::move(res);
  }
};

std::string tracking_token(const std::string& order) {
  return mint_hs256(
    {{"sub", "ada"}, {"role", "customer"}, {"order", order}, {"exp", jwt_verifier::now() + 3600}},
    secret);
}

// Calls `fn` with a request carrying `token` and path parameters `params`; the synchronous answer.
std::optional<response> answer(const router::handler& fn, const std::string& token,
                               const path_params& params) {
  auto sink = std::make_shared<captured>();
  std::string header = "Bearer " + token;
  request req;
  req.authorization = header;
  req.params = params;
  fn(req, responder{sink, 1});
  return std::move(sink->last);
}

} // namespace

TEST(TrackingToken, AuthorizeAdmitsItOnlyWhereTheRouteOptsInForItsOrder) {
  route_env env;
  env.jwt = std::make_shared<const jwt_verifier>(secret);
  auto token = tracking_token("ord_1");
  auto check = [&](uint8_t allowed, std::string_view id, principal* who = nullptr) {
    auto sink = std::make_shared<captured>();
    std::string header = "Bearer " + token;
    request req;
    req.authorization = header;
    if (!id.empty())
      req.params.push("id", std::string{id});
    auto ok = authorize(env, req, responder{sink, 1}, allowed, who);
    EXPECT_EQ(ok, !sink->last.has_value());
    if (!ok) {
      EXPECT_EQ(sink->last->status, 403);
      EXPECT_EQ(sink->last->prob.code, "forbidden");
      EXPECT_EQ(sink->last->prob.detail, "a tracking token only reads its own order");
    }
    return ok;
  };
  principal who;
  EXPECT_TRUE(check(allow_customer | allow_tracking, "ord_1", &who));
  EXPECT_EQ(who.sub, "ada");
  EXPECT_EQ(who.order_scope, "ord_1");
  EXPECT_FALSE(check(allow_customer | allow_tracking, "ord_2")) << "another order";
  EXPECT_FALSE(check(allow_customer | allow_tracking, "")) << "no order in the path";
  EXPECT_FALSE(check(allow_customer | allow_admin, "ord_1")) << "a route that does not opt in";
  EXPECT_FALSE(check(allow_customer, ""));
  // The same customer's own token is not scoped, and passes where customers may.
  token = mint_hs256({{"sub", "ada"}, {"role", "customer"}, {"exp", jwt_verifier::now() + 3600}},
                     secret);
  EXPECT_TRUE(check(allow_customer, ""));
}

// A route added without thought for tracking tokens must refuse them: every route of the API
// that checks a token answers 403 to a tracking token whose order is in its path, except the two
// order reads (which get one for another order).
TEST(TrackingToken, EveryRouteThatTakesATokenRefusesItUnlessItOptsIn) {
  // A real actor system, so that a handler that lets the token through fails this test by
  // answering later (its actors find no entity) instead of crashing it.
  actor_config cfg;
  caf::actor_system sys{cfg};
  runtime::node_handles h;
  h.sys = &sys;
  h.cfg.testing.fault_injection = true;
  h.cfg.auth.jwt_secret = secret;
  auto routes = make_router(h);
  // Public: they read no token (API.md), so a tracking token neither opens nor closes them.
  const std::set<std::string> public_routes{
    "GET /healthz",           "GET /readyz",         "GET /metrics",
    "GET /openapi.json",      "GET /v1/ws",          "GET /v1/products",
    "GET /v1/products/{sku}", "GET /v1/stock/{sku}", "POST /v1/payments/webhook",
    "GET /track/{order_id}",  "GET /admin",          "GET /assets/{file}"};
  const std::set<std::string> open_to_tracking{"GET /v1/orders/{id}",
                                               "GET /v1/orders/{id}/timeline"};
  auto token = tracking_token("ord_1");
  size_t refusing = 0;
  for (auto& [method, pattern] : routes->routes()) {
    auto name = std::string{to_string(method)} + " " + std::string{pattern};
    if (public_routes.count(name) > 0)
      continue;
    SCOPED_TRACE(name);
    // Every parameter names the token's order, or another one for the routes that opt in.
    std::string path{pattern};
    auto value = open_to_tracking.count(name) > 0 ? "ord_2" : "ord_1";
    for (auto open = path.find('{'); open != std::string::npos; open = path.find('{'))
      path.replace(open, path.find('}', open) - open + 1, value);
    path_params params;
    auto m = routes->match(method, path, params);
    ASSERT_EQ(m.result, router::outcome::found) << path;
    auto res = answer(*m.fn, token, params);
    if (!res) {
      ADD_FAILURE() << "let the token through to its actors";
      continue;
    }
    EXPECT_EQ(res->status, 403);
    EXPECT_EQ(res->prob.detail, "a tracking token only reads its own order");
    ++refusing;
  }
  EXPECT_GT(refusing, 30u);
}
