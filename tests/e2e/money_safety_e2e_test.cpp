// End-to-end tests of the promises about money: no order confirmed or paid without its units,
// one order per cart, compensations that keep trying, nothing private in what is published, and
// what one checkout writes to the journal, with a kill -9 at each point where a write moved
// (after `started` and the holds, before the order; after the order, before the settlement).
// The real `mercato` binary on a fresh PostgreSQL database per test, over HTTP, with the sandbox
// or a PSP and a webhook receiver on loopback.

#include "tests/support/e2e_env.hpp"
#include "tests/support/fake_psp.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/jwt_mint.hpp"
#include "tests/support/outbox_rows.hpp"
#include "tests/support/projection_wait.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/shop_fixture.hpp"
#include "tests/support/webhook_receiver.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <unistd.h>

#include <fstream>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace mt = mercato::test;
using mt::checkout_body;
using mt::checkout_request;
using mt::eventually;
using mt::expect_problem;
using json = nlohmann::json;
using namespace std::chrono_literals;

// kind/type -> rows
using append_counts = std::map<std::string, int>;

constexpr const char* psp_webhook_secret = "e2e-money-psp-secret-0123456789";
constexpr const char* outbox_secret = "e2e-money-outbox-secret-0123456789";

class MoneySafetyE2E : public mt::shop_test {
protected:
  void TearDown() override {
    mt::shop_test::TearDown();
    if (!config_path_.empty())
      ::unlink(config_path_.c_str());
  }

  /// Starts with fault injection, short timeouts and `flags`; with `psp`, the http provider.
  void start_with(std::vector<std::string> flags, bool psp = false) {
    config_path_ = "/tmp/mercato-money-e2e-" + std::to_string(::getpid()) + ".json";
    std::ofstream{config_path_} << json{
      {"payments", {{"webhook_secret", psp_webhook_secret}}},
      {"webhooks",
       {{"secret", outbox_secret}}}}.dump();
    mt::server_options opts;
    opts.fault_injection = true;
    opts.extra_args = {"--config", config_path_, "--checkout-step-timeout-ms", "1000"};
    if (psp)
      opts.extra_args.insert(opts.extra_args.end(),
                             {"--payment-provider", "http", "--psp-url", psp_.url()});
    opts.extra_args.insert(opts.extra_args.end(), flags.begin(), flags.end());
    start(std::move(opts));
  }

  std::string scalar(const std::string& sql) {
    pqxx::connection conn{env_->dsn()};
    pqxx::nontransaction tx{conn};
    auto rows = tx.exec(sql);
    return rows.empty() || rows[0][0].is_null() ? "" : rows[0][0].as<std::string>();
  }

  // True once each of `projections` has applied every event committed before the call.
  bool caught_up(std::initializer_list<const char*> projections) {
    for (const auto* name : projections)
      if (!mt::projection_caught_up(env_->dsn(), name))
        return false;
    return true;
  }

  std::string payment_status(const std::string& payment_id) {
    return scalar("SELECT status FROM payments WHERE payment_id = '" + payment_id + "'");
  }

  std::string order_status(const std::string& order_id) {
    auto o = http().get("/v1/orders/" + order_id, admin_);
    return o.status == 200 ? o.json().value("status", "") : "";
  }

  /// POST /v1/stock/{sku}/reservations as a service: the HTTP status.
  int reserve(const std::string& sku, const std::string& id, int64_t qty) {
    auto svc = env_->token("service");
    return http()
      .post("/v1/stock/" + sku + "/reservations",
            {{"reservation_id", id}, {"quantity", qty}, {"ttl_s", 600}}, svc)
      .status;
  }

  /// A checkout through the PSP whose authorisation stays pending past the payment timeout, so
  /// that the saga compensates by voiding, while the PSP fails its next `failures` calls (each
  /// void is three calls: the provider's own retries). The checkout's answer.
  mt::http_response checkout_with_failing_voids(const std::string& key, int backoff_ms,
                                                int attempts, int failures) {
    psp_.answer_authorizations_with("pending");
    start_with({"--payment-timeout-ms", "1500", "--compensation-backoff-ms",
                std::to_string(backoff_ms), "--compensation-attempts", std::to_string(attempts)},
               true);
    if (!env_->has_server())
      return {}; // start_with recorded why
    auto sku = stocked_product(key, 1000, 5);
    auto cart = filled_cart(ada_, {{sku, 1}});
    mt::http_client client{env_->server().host(), env_->server().port()};
    auto pending = std::async(std::launch::async, [&] {
      return client.request(checkout_request(key, checkout_body(cart), ada_));
    });
    EXPECT_TRUE(eventually([&] { return psp_.count("/v1/payments") >= 1; }, 10s));
    psp_.fail_next(failures);
    return pending.get();
  }

  pqxx::result query(const std::string& sql) {
    pqxx::connection conn{env_->dsn()};
    pqxx::nontransaction tx{conn};
    return tx.exec(sql);
  }

  /// Every journal row so far, counted by "kind/type".
  append_counts appends() {
    append_counts out;
    for (const auto& row : query("SELECT entity_kind || '/' || event_type, count(*)::int "
                                 "FROM journal GROUP BY 1"))
      out[row[0].as<std::string>()] = row[1].as<int>();
    return out;
  }

  /// The event types of one entity, in seq order, comma-separated.
  std::string history(const std::string& kind, const std::string& id) {
    auto rows = query("SELECT string_agg(event_type, ',' ORDER BY seq) FROM journal "
                      "WHERE entity_kind = '"
                      + kind + "' AND entity_id = '" + id + "'");
    return rows.empty() || rows[0][0].is_null() ? "" : rows[0][0].as<std::string>();
  }

  json checkout(const std::string& id) {
    auto res = http().get("/v1/checkouts/" + id, ada_);
    return res.status == 200 ? res.json() : json::object();
  }

  mt::fake_psp psp_;
  std::string config_path_;
};

// A restart that outlasts the checkout's hold TTL between the answer and the settling. One order's
// units were bought by someone else meanwhile: it is cancelled and its payment voided, nothing
// sold twice. The other order's units were still there: it is confirmed with them and paid, and
// a later buyer cannot reserve them.
TEST_F(MoneySafetyE2E, AnOrderSettledAfterItsHoldsExpiredIsConfirmedWithItsUnitsOrCompensated) {
  constexpr int64_t ttl_ms = 4000;
  // Holds outlive payment (500 ms) and four steps (250 ms each) twice over: 3,000 <= 4,000.
  std::vector<std::string> flags{"--checkout-hold-ttl-ms",     std::to_string(ttl_ms),
                                 "--payment-timeout-ms",       "500",
                                 "--checkout-step-timeout-ms", "250",
                                 "--settle-delay-ms",          "600000"};
  ASSERT_NO_FATAL_FAILURE(start_with(flags));
  auto taken = stocked_product("lost", 1000, 2);
  auto kept = stocked_product("kept", 1000, 2);
  std::map<std::string, std::string> order_of; // sku -> order id
  for (const auto& sku : {taken, kept}) {
    auto cart = filled_cart(ada_, {{sku, 2}});
    auto res = http().request(checkout_request("late-" + sku, checkout_body(cart), ada_));
    ASSERT_EQ(res.status, 201) << res.describe();
    order_of[sku] = res.json().at("order_id").get<std::string>();
    EXPECT_EQ(stock(sku).value("reserved", -1), 2) << "answered before settling";
  }
  env_->server().kill9();
  // Down for longer than the holds live.
  std::this_thread::sleep_for(std::chrono::milliseconds{ttl_ms + 1000});
  ASSERT_NO_FATAL_FAILURE(env_->restart()); // still holding settlements back
  // The restarted stock items expire the overdue holds; someone else buys one SKU's units.
  for (const auto& sku : {taken, kept})
    EXPECT_TRUE(eventually([&] { return stock(sku).value("reserved", -1) == 0; }, 10s))
      << stock(sku).dump();
  EXPECT_EQ(reserve(taken, "someone-else", 2), 201);

  // Now the sagas settle.
  env_->server().options().extra_args.push_back("--settle-delay-ms");
  env_->server().options().extra_args.push_back("0");
  ASSERT_NO_FATAL_FAILURE(env_->restart());
  auto lost_order = order_of[taken], kept_order = order_of[kept];
  auto lost_payment = "co_" + lost_order.substr(4), kept_payment = "co_" + kept_order.substr(4);
  EXPECT_TRUE(eventually(
    [&] {
      return order_status(lost_order) == "cancelled" && payment_status(lost_payment) == "voided";
    },
    20s))
    << order_status(lost_order) << ", payment " << payment_status(lost_payment);
  EXPECT_TRUE(eventually(
    [&] {
      return order_status(kept_order) == "confirmed" && payment_status(kept_payment) == "captured";
    },
    20s))
    << order_status(kept_order) << ", payment " << payment_status(kept_payment);

  // The cancelled order sold nothing; the other buyer's hold is whole.
  auto t = stock(taken);
  EXPECT_EQ(t.value("on_hand", -1), 2) << t.dump();
  EXPECT_EQ(t.value("reserved", -1), 2) << t.dump();
  // The confirmed order holds its units: nobody else can have them.
  auto k = stock(kept);
  EXPECT_EQ(k.value("on_hand", -1), 0) << k.dump();
  EXPECT_EQ(reserve(kept, "too-late", 1), 409);
  auto cancelled = http().get("/v1/orders/" + lost_order, admin_).json();
  EXPECT_NE(cancelled.value("cancel_reason", "").find("out_of_stock"), std::string::npos)
    << cancelled.dump();
}

// A payment that answers only after the hold TTL: a configuration that allows it is refused,
// and with the shortest accepted TTL the checkout gives up on the payment long before its holds
// expire, voids it, and sells nothing.
TEST_F(MoneySafetyE2E, AHoldTtlShorterThanThePaymentWaitIsRefusedAndASlowPaymentSellsNothing) {
  {
    mt::server_options opts;
    opts.database_url = env_->dsn();
    opts.jwt_secret = env_->secret();
    opts.extra_args = {"--checkout-hold-ttl-ms", "2000", "--payment-timeout-ms", "3000"};
    opts.start_timeout = 10s;
    EXPECT_THROW(mt::server_process{opts}, std::runtime_error)
      << "a hold TTL below the payment wait must stop the server at start";
  }
  std::vector<std::string> flags{
    "--checkout-hold-ttl-ms",     "3000", "--payment-timeout-ms", "500",
    "--checkout-step-timeout-ms", "250",  "--sandbox-slow-ms",    "4000"};
  ASSERT_NO_FATAL_FAILURE(start_with(flags));
  auto sku = stocked_product("slow", 1000, 3);
  auto cart = filled_cart(ada_, {{sku, 3}});
  auto res = http().request(checkout_request("slow-1", checkout_body(cart, "tok_slow"), ada_));
  expect_problem(res, 402, "payment_declined");
  EXPECT_TRUE(eventually([&] { return stock(sku).value("reserved", -1) == 0; }, 10s));
  EXPECT_EQ(stock(sku).value("on_hand", -1), 3);
  // The provider's late answer (after the hold TTL) is fenced by the void: nothing is charged,
  // no order exists, and the units are anyone's.
  std::this_thread::sleep_for(4500ms);
  ASSERT_TRUE(caught_up({"payments", "orders"}));
  EXPECT_EQ(scalar("SELECT string_agg(status, ',') FROM payments"), "voided");
  EXPECT_EQ(scalar("SELECT count(*) FROM payments WHERE status IN ('authorized', 'captured')"),
            "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM orders"), "0");
  EXPECT_EQ(reserve(sku, "next-buyer", 3), 201);
}

TEST_F(MoneySafetyE2E, TwentyConcurrentCheckoutsOfOneCartMakeOneOrderAndOneAuthorisation) {
  ASSERT_NO_FATAL_FAILURE(start_with({}));
  auto sku = stocked_product("one-cart", 1000, 100);
  auto cart = filled_cart(ada_, {{sku, 1}});
  std::vector<mt::http_request> reqs;
  for (int i = 0; i < 20; ++i)
    reqs.push_back(checkout_request("cart-key-" + std::to_string(i), checkout_body(cart), ada_));
  auto responses = mt::run_concurrently(env_->server().host(), env_->server().port(), reqs,
                                        {.connections = 20, .timeout = 30s});
  ASSERT_EQ(responses.size(), 20u);
  int created = 0, refused = 0;
  for (const auto& r : responses) {
    if (r.status == 201)
      ++created;
    else if (r.status == 409 && r.json().value("code", "") == "conflict")
      ++refused;
    else
      ADD_FAILURE() << r.describe();
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(refused, 19);
  ASSERT_TRUE(caught_up({"payments", "orders"}));
  EXPECT_EQ(scalar("SELECT count(*) FROM orders"), "1");
  // One payment, captured once its order settled (the order records its authorisation).
  EXPECT_TRUE(eventually(
    [&] { return scalar("SELECT string_agg(status, ',') FROM payments") == "captured"; }, 10s))
    << scalar("SELECT string_agg(status, ',') FROM payments");
  EXPECT_EQ(scalar("SELECT count(*) FROM journal WHERE entity_kind = 'checkout' "
                   "AND event_type = 'started'"),
            "1")
    << "the refused checkouts took nothing";
  EXPECT_TRUE(eventually([&] { return stock(sku).value("on_hand", -1) == 99; }, 10s));
}

TEST_F(MoneySafetyE2E, AFailedCheckoutGivesTheCartBackForTheNextOne) {
  ASSERT_NO_FATAL_FAILURE(start_with({}));
  auto sku = stocked_product("retry-cart", 1000, 5);
  auto cart = filled_cart(ada_, {{sku, 1}});
  auto declined = http().request(checkout_request("k-a", checkout_body(cart, "tok_decline"), ada_));
  expect_problem(declined, 402, "payment_declined");
  auto c = http().get("/v1/carts/" + cart, ada_);
  ASSERT_EQ(c.status, 200) << c.describe();
  EXPECT_TRUE(c.json()["checkout_id"].is_null() || c.json()["checkout_id"] == "")
    << c.json().dump();
  auto ok = http().request(checkout_request("k-b", checkout_body(cart), ada_));
  EXPECT_EQ(ok.status, 201) << ok.describe();
  auto third = http().request(checkout_request("k-c", checkout_body(cart), ada_));
  expect_problem(third, 409, "conflict");
}

// Void at the PSP: the authorisation stays pending past the payment timeout, so the checkout
// compensates by voiding. The PSP fails the first two voids (three calls each, the provider's own
// retries), then takes the third: the compensation keeps trying until it succeeds.
TEST_F(MoneySafetyE2E, AVoidThatFailsTwiceIsRetriedUntilThePspTakesIt) {
  auto res = checkout_with_failing_voids("void-retry", 100, 10, 6);
  expect_problem(res, 402, "payment_declined");
  std::string checkout_id; // also the payment's id
  for (const auto& call : psp_.calls())
    if (call.target == "/v1/payments")
      checkout_id = call.idempotency_key;
  ASSERT_FALSE(checkout_id.empty());
  EXPECT_TRUE(eventually([&] { return psp_.status_of(checkout_id) == "voided"; }, 20s))
    << psp_.status_of(checkout_id) << " after " << psp_.count("/void") << " void calls";
  EXPECT_EQ(psp_.count("/void"), 7u) << "two failed voids of three calls each, then one";
  EXPECT_TRUE(eventually(
    [&] {
      return scalar(
               "SELECT event_type FROM journal WHERE entity_kind = 'checkout' AND entity_id = '"
               + checkout_id + "' ORDER BY seq DESC LIMIT 1")
             == "compensated";
    },
    10s));
  EXPECT_EQ(scalar("SELECT payload->>'owed' FROM journal WHERE entity_kind = 'checkout' AND "
                   "event_type = 'compensated' AND entity_id = '"
                   + checkout_id + "'"),
            "[]");
  ASSERT_TRUE(caught_up({"checkouts_open"}));
  EXPECT_EQ(scalar("SELECT count(*) FROM checkouts_open"), "0");
  auto letters = http().get("/v1/admin/dead-letters?kind=message", admin_);
  ASSERT_EQ(letters.status, 200) << letters.describe();
  EXPECT_TRUE(letters.json()["items"].empty()) << letters.body;
}

TEST_F(MoneySafetyE2E, AVoidThePspNeverTakesEndsAsADeadLetter) {
  expect_problem(checkout_with_failing_voids("void-dead", 50, 3, 1000000), 402, "payment_declined");
  json letter;
  EXPECT_TRUE(eventually(
    [&] {
      auto items = http().get("/v1/admin/dead-letters?kind=message", admin_).json()["items"];
      if (items.size() != 1)
        return false;
      letter = items[0];
      return true;
    },
    20s));
  EXPECT_EQ(letter.value("kind", ""), "message") << letter.dump();
  EXPECT_EQ(letter.value("target", "").rfind("payment:co_", 0), 0u) << letter.dump();
  EXPECT_EQ(letter.value("attempts", 0), 3) << letter.dump();
  EXPECT_EQ(letter.value("aggregate_type", ""), "checkout") << letter.dump();
  // The saga is done with it: nothing is retried any more, and a restart wakes nothing.
  EXPECT_TRUE(
    eventually([&] { return scalar("SELECT count(*) FROM checkouts_open") == "0"; }, 10s));

  // An operator sends it again: while the PSP still refuses, the retry fails and is counted;
  // once it takes voids, the payment is voided and the letter resolved, once.
  auto id = letter.value("id", "");
  auto retry = [&](const std::string& token) {
    return http().post("/v1/admin/dead-letters/" + id + "/retry", json::object(), token);
  };
  expect_problem(retry(ada_), 403, "forbidden");
  expect_problem(http().post("/v1/admin/dead-letters/00000000-0000-4000-8000-000000000000/retry",
                             json::object(), admin_),
                 404, "not_found");
  expect_problem(retry(admin_), 503, "unavailable");
  auto counted = http().get("/v1/admin/dead-letters?kind=message", admin_).json()["items"][0];
  EXPECT_EQ(counted.value("retries", 0), 1) << counted.dump();
  EXPECT_TRUE(counted["resolved_at"].is_null()) << counted.dump();
  psp_.fail_next(0);
  auto payment_id = letter.value("target", "").substr(std::string{"payment:"}.size());
  auto done = retry(admin_);
  ASSERT_EQ(done.status, 200) << done.describe();
  EXPECT_TRUE(done.json()["resolved_at"].is_string()) << done.describe();
  EXPECT_EQ(psp_.status_of(payment_id), "voided");
  expect_problem(retry(admin_), 409, "conflict");
}

// A compensation letter may only ever act on its checkout's failed attempt: one that names a
// checkout which did not fail (forged here, as an operator's mistake or a stale copy would) gives
// nothing back: no void, no released unit.
TEST_F(MoneySafetyE2E, ACompensationLetterOfACheckoutThatDidNotFailGivesNothingBack) {
  ASSERT_NO_FATAL_FAILURE(start_with({}, true));
  auto sku = stocked_product("letter-guard", 1000, 5);
  auto res = http().request(
    checkout_request("letter-guard", checkout_body(filled_cart(ada_, {{sku, 2}})), ada_));
  ASSERT_EQ(res.status, 201) << res.describe();
  auto checkout_id = res.json().value("checkout_id", ""); // also the payment's id
  ASSERT_TRUE(eventually([&] { return psp_.status_of(checkout_id) == "captured"; }, 20s))
    << psp_.status_of(checkout_id);
  ASSERT_TRUE(eventually([&] { return stock(sku).value("on_hand", -1) == 3; }, 10s))
    << "the two units are sold";
  auto voids = psp_.count("/void");
  auto target = "payment:" + checkout_id;
  auto id
    = scalar("INSERT INTO dead_letters (kind, target, aggregate_type, aggregate_id, event_id, "
             "payload, last_error, attempts) VALUES ('message', '"
             + target + "', 'checkout', '" + checkout_id + "', '" + checkout_id + "/" + target
             + "', jsonb_build_object('compensation_of', '" + checkout_id + "', 'checkout_id', '"
             + checkout_id + "', 'target', '" + target + "'), 'forged', 3) RETURNING id::text");
  ASSERT_FALSE(id.empty());
  expect_problem(http().post("/v1/admin/dead-letters/" + id + "/retry", json::object(), admin_),
                 409, "conflict");
  EXPECT_EQ(psp_.count("/void"), voids);
  EXPECT_EQ(psp_.status_of(checkout_id), "captured");
  auto after = stock(sku);
  EXPECT_EQ(after.value("on_hand", -1), 3) << after.dump();
  EXPECT_EQ(after.value("reserved", -1), 0) << after.dump();
}

// The PSP stops answering: after five calls that each spent their retries (authorisations and
// the voids of the failed checkouts), its circuit opens and checkouts fail at once with 503
// without calling it (nothing charged, their holds given back); once it answers again, the first
// call after the cool-down probes it, the circuit closes and checkouts succeed.
TEST_F(MoneySafetyE2E, WhileThePspFailsCheckoutsFailFastAndTheProbeAfterItsCoolDownClosesIt) {
  ASSERT_NO_FATAL_FAILURE(start_with({}, true));
  auto sku = stocked_product("breaker", 1000, 50);
  auto circuit = [&] {
    auto res = http().get("/v1/admin/circuits", admin_);
    EXPECT_EQ(res.status, 200) << res.describe();
    for (const auto& c : res.json().value("items", json::array()))
      if (c.value("name", "") == "payment_provider")
        return c;
    return json::object();
  };
  EXPECT_EQ(circuit().value("state", ""), "closed");
  psp_.fail_next(1000000);
  for (int i = 0; i < 5; ++i) {
    auto cart = filled_cart(ada_, {{sku, 1}});
    auto res
      = http().request(checkout_request("down-" + std::to_string(i), checkout_body(cart), ada_));
    expect_problem(res, 503, "unavailable");
  }
  auto open = circuit();
  EXPECT_EQ(open.value("state", ""), "open") << open.dump();
  auto calls = psp_.count("/v1/payments");
  auto fast = http().request(
    checkout_request("down-fast", checkout_body(filled_cart(ada_, {{sku, 1}})), ada_));
  expect_problem(fast, 503, "unavailable");
  EXPECT_EQ(psp_.count("/v1/payments"), calls) << "an open circuit does not call the PSP";
  EXPECT_GE(circuit().value("rejected", 0), 1);
  auto metrics = http().get("/metrics").body;
  EXPECT_EQ(mt::metric_value(metrics, "mercato_circuit_state", {{"circuit", "payment_provider"}}),
            1.0);
  EXPECT_TRUE(eventually([&] { return stock(sku).value("reserved", -1) == 0; }, 10s))
    << "the failed checkouts gave their holds back";

  psp_.fail_next(0);
  EXPECT_TRUE(eventually([&] { return circuit().value("state", "") != "open"; }, 15s))
    << circuit().dump();
  auto probe
    = http().request(checkout_request("back", checkout_body(filled_cart(ada_, {{sku, 1}})), ada_));
  EXPECT_EQ(probe.status, 201) << probe.describe();
  EXPECT_EQ(circuit().value("state", ""), "closed") << circuit().dump();
}

// Everything published (webhooks) and everything a partner's WebSocket sees leaves out the card
// token, the idempotency key, the email and the address: searched for the exact values used.
TEST_F(MoneySafetyE2E, NoTokenKeyEmailOrAddressReachesAWebhook) {
  mt::webhook_receiver receiver;
  ASSERT_NO_FATAL_FAILURE(
    start_with({"--webhook-endpoints", receiver.url(), "--webhook-poll-ms", "20"}, true));
  const std::string token = "tok_private_4242_zq";
  const std::string key = "idem-private-key-8817";
  const std::string email = "ada.private.mail@example.org";
  const std::string name = "Augusta Private-Name";
  const std::string line1 = "77 Secret Passage";
  const std::string city = "Hiddenborough";
  const std::string postal = "ZZ9 9ZZ";
  auto sku = stocked_product("private", 1000, 5);
  auto cart = filled_cart(ada_, {{sku, 2}});
  auto body = checkout_body(cart, token);
  body["email"] = email;
  body["shipping_address"] = {
    {"name", name}, {"line1", line1}, {"city", city}, {"postal_code", postal}, {"country", "GB"}};
  auto res = http().request(checkout_request(key, body, ada_));
  ASSERT_EQ(res.status, 201) << res.describe();
  auto order_id = res.json().at("order_id").get<std::string>();
  // A partner fact carrying free-form data, and a settled payment.
  auto svc = env_->token("service");
  ASSERT_EQ(http()
              .post("/v1/orders/" + order_id + "/events",
                    {{"source", "logistics"},
                     {"type", "handed_to_carrier"},
                     {"external_id", "ev-1"},
                     {"occurred_at", "2026-11-21T12:00:00Z"},
                     {"data", {{"recipient", name}}}},
                    svc)
              .status,
            202);
  // Wait until the publisher caught up with everything committed.
  auto rows = [&] {
    return std::stoul(scalar("SELECT count(*) FROM " + std::string{mercato::test::outbox_rows}));
  };
  EXPECT_TRUE(eventually(
    [&] {
      return rows() > 0 && receiver.delivered_count() == rows()
             && payment_status("co_" + order_id.substr(4)) == "captured";
    },
    20s));
  EXPECT_TRUE(eventually([&] { return receiver.delivered_count() == rows(); }, 10s));
  std::string all;
  std::set<std::string> kinds;
  for (const auto& r : receiver.requests()) {
    all += r.body;
    all += '\n';
    kinds.insert(json::parse(r.body).value("aggregate_type", ""));
  }
  for (const auto& secret : {token, key, email, name, line1, city, postal})
    EXPECT_EQ(all.find(secret), std::string::npos) << secret << " was published";
  EXPECT_TRUE(kinds.count("order") && kinds.count("stock") && kinds.count("payment"))
    << "the test saw the events it searched";
  EXPECT_EQ(kinds.count("cart"), 0u);
  // The card token is not even journaled.
  EXPECT_EQ(scalar("SELECT count(*) FROM journal WHERE payload::text LIKE '%" + token + "%'"), "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM snapshots WHERE state::text LIKE '%" + token + "%'"), "0");
}

append_counts minus(append_counts after, const append_counts& before) {
  for (const auto& [key, n] : before)
    if ((after[key] -= n) == 0)
      after.erase(key);
  return after;
}

// Every append of one 3-line checkout without a coupon, from the request to the settled sale:
// the cart's claim, `started`, a hold per line, the order (placed confirmed, with the payment's
// authorisation), a sale per line, the capture, `completed`. The customer's feed is a read model
// of the order's events, not an append.
TEST_F(MoneySafetyE2E, AThreeLineCheckoutMakesElevenAppends) {
  ASSERT_NO_FATAL_FAILURE(start_with({}));
  auto cart = filled_cart(ada_, {{stocked_product("a", 1000, 5), 1},
                                 {stocked_product("b", 500, 5), 2},
                                 {stocked_product("c", 250, 5), 1}});
  auto before = appends();
  auto res = http().request(checkout_request("count-1", checkout_body(cart), ada_));
  ASSERT_EQ(res.status, 201) << res.describe();
  auto id = res.json().at("checkout_id").get<std::string>();
  ASSERT_TRUE(eventually([&] { return history("checkout", id) == "started,completed"; }, 10s))
    << history("checkout", id);
  auto made = minus(appends(), before);
  int total = 0;
  for (const auto& [key, n] : made)
    total += n;
  std::string listing;
  for (const auto& [key, n] : made)
    listing += key + "=" + std::to_string(n) + " ";
  EXPECT_EQ(made, (append_counts{{"cart/checked_out", 1},
                                 {"checkout/started", 1},
                                 {"checkout/completed", 1},
                                 {"order/placed", 1},
                                 {"payment/captured", 1},
                                 {"stock/committed", 3},
                                 {"stock/reserved", 3}}))
    << listing;
  EXPECT_EQ(total, 11) << listing;
  // The order starts confirmed: no separate confirmation, and the answer already says so.
  auto order = http().get("/v1/orders/" + res.json().at("order_id").get<std::string>(), ada_);
  EXPECT_EQ(order.json().value("status", ""), "confirmed") << order.describe();
}

// kill -9 while the provider holds the authorisation: `started` and every hold are durable, the
// order is not. The restarted saga finds no order, gives every hold back, voids the payment and
// fails retryably; the same request then buys the units exactly once.
TEST_F(MoneySafetyE2E, KillNineAfterTheHoldsAndBeforeTheOrderSellsNothingAndCanBeRetried) {
  psp_.answer_authorizations_with("pending");
  ASSERT_NO_FATAL_FAILURE(start_with({"--payment-timeout-ms", "60000"}, true));
  std::vector<std::string> skus{stocked_product("ka", 1000, 5), stocked_product("kb", 500, 5),
                                stocked_product("kc", 250, 5)};
  auto cart = filled_cart(ada_, {{skus[0], 1}, {skus[1], 2}, {skus[2], 1}});
  auto body = checkout_body(cart);
  mt::http_client client{env_->server().host(), env_->server().port()};
  auto pending = std::async(std::launch::async, [&] {
    return client.request(checkout_request("crash-holds", body, ada_));
  });
  // The provider is asked only once `started` and the holds are durable.
  ASSERT_TRUE(eventually([&] { return psp_.count("/v1/payments") >= 1; }, 10s));
  auto started = query("SELECT entity_id FROM journal WHERE entity_kind = 'checkout'");
  ASSERT_EQ(started.size(), 1u);
  auto id = started[0][0].as<std::string>();
  EXPECT_EQ(history("checkout", id), "started");
  EXPECT_EQ(history("order", "ord_" + id.substr(3)), "") << "no order yet";
  EXPECT_EQ(stock(skus[1]).value("reserved", -1), 2);

  env_->server().kill9();
  EXPECT_THROW(pending.get(), std::exception) << "the connection dies with the server";
  psp_.answer_authorizations_with("authorized");
  ASSERT_NO_FATAL_FAILURE(env_->restart());

  ASSERT_TRUE(eventually([&] { return checkout(id).value("status", "") == "failed"; }, 20s))
    << checkout(id).dump();
  auto failed = checkout(id);
  EXPECT_EQ(failed["error"].value("code", ""), "unavailable") << failed.dump();
  EXPECT_EQ(failed["error"].value("retryable", false), true) << failed.dump();
  for (const auto& sku : skus)
    EXPECT_TRUE(eventually([&] { return stock(sku).value("reserved", -1) == 0; }, 10s))
      << stock(sku).dump();
  EXPECT_EQ(stock(skus[1]).value("on_hand", -1), 5) << "nothing sold";
  EXPECT_TRUE(eventually([&] { return psp_.status_of(id) == "voided"; }, 10s))
    << psp_.status_of(id);
  EXPECT_EQ(http().get("/v1/orders/ord_" + id.substr(3), ada_).status, 404);

  // The retry is a new attempt with new ids: one order, the units sold once.
  auto retry = http().request(checkout_request("crash-holds", body, ada_));
  ASSERT_EQ(retry.status, 201) << retry.describe();
  ASSERT_TRUE(eventually(
    [&] {
      return stock(skus[1]).value("on_hand", -1) == 3 && stock(skus[1]).value("reserved", -1) == 0;
    },
    20s))
    << stock(skus[1]).dump();
  EXPECT_EQ(stock(skus[0]).value("on_hand", -1), 4);
  EXPECT_EQ(psp_.status_of(id + "-2"), "captured");
  EXPECT_EQ(query("SELECT DISTINCT entity_id FROM journal WHERE entity_kind = 'order'").size(), 1u);
}

// kill -9 after the 201 and before the settlement: the acknowledged order is intact, and the
// restarted saga sells its holds, captures and completes, each once.
TEST_F(MoneySafetyE2E, KillNineAfterTheOrderAndBeforeTheSettlementKeepsTheOrderAndSettlesOnce) {
  ASSERT_NO_FATAL_FAILURE(start_with({"--settle-delay-ms", "600000"}));
  std::vector<std::string> skus{stocked_product("sa", 1000, 5), stocked_product("sb", 500, 5),
                                stocked_product("sc", 250, 5)};
  auto cart = filled_cart(ada_, {{skus[0], 1}, {skus[1], 2}, {skus[2], 1}});
  auto res = http().request(checkout_request("crash-settle", checkout_body(cart), ada_));
  ASSERT_EQ(res.status, 201) << res.describe();
  auto id = res.json().at("checkout_id").get<std::string>();
  auto order_id = res.json().at("order_id").get<std::string>();
  auto acknowledged = http().get("/v1/orders/" + order_id, ada_).json();
  EXPECT_EQ(acknowledged.value("status", ""), "confirmed");
  EXPECT_EQ(history("checkout", id), "started") << "the order's existence is not journaled twice";
  EXPECT_EQ(history("order", order_id), "placed");
  EXPECT_EQ(stock(skus[1]).value("reserved", -1), 2) << "answered before settling";

  env_->server().kill9();
  env_->server().options().extra_args.push_back("--settle-delay-ms");
  env_->server().options().extra_args.push_back("0");
  ASSERT_NO_FATAL_FAILURE(env_->restart());

  ASSERT_TRUE(eventually([&] { return history("checkout", id) == "started,completed"; }, 20s))
    << history("checkout", id);
  auto order = http().get("/v1/orders/" + order_id, ada_).json();
  EXPECT_EQ(order.value("status", ""), "confirmed");
  EXPECT_EQ(order["lines"], acknowledged["lines"]);
  EXPECT_EQ(order["totals"], acknowledged["totals"]);
  EXPECT_EQ(checkout(id).value("status", ""), "completed");
  std::vector<int64_t> sold{1, 2, 1};
  for (size_t i = 0; i < skus.size(); ++i) {
    auto s = stock(skus[i]);
    EXPECT_EQ(s.value("on_hand", -1), 5 - sold[i]) << s.dump();
    EXPECT_EQ(s.value("reserved", -1), 0) << s.dump();
  }
  EXPECT_EQ(history("payment", id), "captured") << "authorised in the order's record";
  EXPECT_EQ(history("order", order_id), "placed") << "placed confirmed: nothing to add";
}

} // namespace
