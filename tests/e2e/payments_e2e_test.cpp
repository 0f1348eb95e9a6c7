// End-to-end tests of the payment webhook: the real `mercato` binary with the http payment
// provider against a fake PSP on loopback, on a fresh PostgreSQL database per test.

#include "runtime/util/crypto.hpp"
#include "tests/support/fake_psp.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/projection_wait.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_db.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>

namespace {

namespace mt = mercato::test;
using json = nlohmann::json;

constexpr const char* webhook_secret = "e2e-webhook-secret-0123456789";

std::string sign(const std::string& body, const std::string& key = webhook_secret) {
  return mercato::util::hmac_sha256_hex(key, body);
}

class PaymentWebhook : public ::testing::Test {
protected:
  void SetUp() override {
    auto dsn = mt::superuser_dsn();
    if (!dsn)
      GTEST_SKIP() << mt::test_database_url_env << " is unset";
    db = std::make_unique<mt::test_database>(*dsn);
    config_path = "/tmp/mercato-pay-e2e-" + std::to_string(::getpid()) + ".json";
    std::ofstream{config_path}
      << json{{"payments", {{"webhook_secret", webhook_secret}, {"psp_api_key", "psp-key-e2e"}}}}
           .dump();
    mt::server_options opts;
    opts.database_url = db->dsn();
    opts.jwt_secret = "e2e-jwt-secret-0123456789-0123456789";
    opts.extra_args
      = {"--config", config_path, "--payment-provider", "http", "--psp-url", psp.url()};
    server = std::make_unique<mt::server_process>(opts);
    client = std::make_unique<mt::http_client>(server->host(), server->port());
  }

  void TearDown() override {
    client.reset();
    if (server)
      server->dump_log_if_failed();
    server.reset();
    db.reset();
    if (!config_path.empty())
      ::unlink(config_path.c_str());
  }

  // A payment as its entity journals it (one event: requested, or voided later), with its row
  // in the read model, written in one transaction as the journal does.
  void insert_payment(const std::string& id, const std::string& status) {
    json event{{"type", status == "pending" ? "requested" : status},
               {"status", status},
               {"amount_minor", 1500},
               {"currency", "EUR"},
               {"provider", "http"},
               {"provider_ref", "psp_" + id},
               {"detail", ""},
               {"customer_id", ""},
               {"source", "command"},
               {"at_ms", 1700000000000}};
    pqxx::connection conn{db->dsn()};
    pqxx::work txn{conn};
    txn.exec_params("INSERT INTO journal (entity_kind, entity_id, seq, event_type, payload) "
                    "VALUES ('payment', $1, 1, $2, $3::jsonb)",
                    id, event["type"].get<std::string>(), event.dump());
    txn.exec_params("INSERT INTO payments (payment_id, provider, provider_ref, status, "
                    "amount_minor, currency, version) VALUES ($1, 'http', $2, $3, 1500, 'EUR', 1)",
                    id, "psp_" + id, status);
    txn.commit();
  }

  // The payments read model, once its projection has applied every committed event.
  std::string status_of(const std::string& id) {
    EXPECT_TRUE(mt::projection_caught_up(db->dsn(), "payments"));
    pqxx::connection conn{db->dsn()};
    pqxx::nontransaction txn{conn};
    auto rows = txn.exec_params("SELECT status FROM payments WHERE payment_id = $1", id);
    return rows.empty() ? "" : rows[0][0].as<std::string>();
  }

  mt::http_response post_webhook(const std::string& body, const std::string& signature) {
    mt::http_request req;
    req.method = "POST";
    req.target = "/v1/payments/webhook";
    req.body = body;
    req.with_header("Content-Type", "application/json");
    if (!signature.empty())
      req.with_header("X-Signature", signature);
    return client->request(req);
  }

  mt::http_response post_signed(const json& body) {
    auto text = body.dump();
    return post_webhook(text, sign(text));
  }

  mt::fake_psp psp;
  std::unique_ptr<mt::test_database> db;
  std::string config_path;
  std::unique_ptr<mt::server_process> server;
  std::unique_ptr<mt::http_client> client;
};

TEST_F(PaymentWebhook, ASignedWebhookChangesThePaymentOnceAndDuplicatesChangeNothing) {
  insert_payment("pay-1", "pending");
  json event{{"event_id", "evt-1"},
             {"payment_id", "pay-1"},
             {"status", "authorized"},
             {"amount_minor", 1500}};
  auto first = post_signed(event);
  ASSERT_EQ(first.status, 200) << first.describe();
  EXPECT_EQ(first.json(), (json{{"accepted", true}, {"changed", true}}));
  EXPECT_EQ(status_of("pay-1"), "authorized");
  EXPECT_FALSE(first.header("X-Request-ID").empty());
  auto again = post_signed(event);
  ASSERT_EQ(again.status, 200) << again.describe();
  EXPECT_EQ(again.json(), (json{{"accepted", true}, {"changed", false}}));
  EXPECT_EQ(status_of("pay-1"), "authorized");
}

TEST_F(PaymentWebhook, ABadOrMissingSignatureIsUnauthorisedAndChangesNothing) {
  insert_payment("pay-2", "pending");
  auto text = json{{"event_id", "evt-2"}, {"payment_id", "pay-2"}, {"status", "authorized"}}.dump();
  auto wrong_key = post_webhook(text, sign(text, "another-secret-0123456789"));
  EXPECT_EQ(wrong_key.status, 401) << wrong_key.describe();
  EXPECT_EQ(wrong_key.header("Content-Type"), "application/problem+json");
  EXPECT_EQ(wrong_key.json().value("code", ""), "unauthorized");
  auto tampered = post_webhook(text, sign(text + " "));
  EXPECT_EQ(tampered.status, 401) << tampered.describe();
  auto missing = post_webhook(text, "");
  EXPECT_EQ(missing.status, 401) << missing.describe();
  auto garbage = post_webhook(text, "zz");
  EXPECT_EQ(garbage.status, 401) << garbage.describe();
  EXPECT_EQ(status_of("pay-2"), "pending");
  // The same event, signed, still counts: refused deliveries claimed nothing.
  auto good = post_webhook(text, sign(text));
  ASSERT_EQ(good.status, 200) << good.describe();
  EXPECT_EQ(good.json().value("changed", false), true);
}

TEST_F(PaymentWebhook, AMalformedBodyIsABadRequest) {
  insert_payment("pay-3", "pending");
  for (const std::string& text :
       {std::string{"{not json"}, std::string{"[]"},
        json{{"payment_id", "pay-3"}, {"status", "authorized"}}.dump(),
        json{{"event_id", "e"}, {"payment_id", "pay-3"}, {"status", "paid"}}.dump(),
        json{{"event_id", "e"}, {"payment_id", "pay-3"}, {"status", 3}}.dump(),
        json{{"event_id", "e"},
             {"payment_id", "pay-3"},
             {"status", "authorized"},
             {"amount_minor", -1}}
          .dump()}) {
    auto res = post_webhook(text, sign(text));
    EXPECT_EQ(res.status, 400) << text << " -> " << res.describe();
    EXPECT_EQ(res.header("Content-Type"), "application/problem+json") << text;
  }
  EXPECT_EQ(status_of("pay-3"), "pending");
}

TEST_F(PaymentWebhook, AnUnknownPaymentIsNotFound) {
  auto res
    = post_signed({{"event_id", "evt-4"}, {"payment_id", "pay-none"}, {"status", "authorized"}});
  EXPECT_EQ(res.status, 404) << res.describe();
  EXPECT_EQ(res.json().value("code", ""), "not_found");
}

TEST_F(PaymentWebhook, ALateAuthorisationOfAVoidedPaymentIsVoidedAtThePsp) {
  insert_payment("pay-5", "voided");
  auto res
    = post_signed({{"event_id", "evt-5"}, {"payment_id", "pay-5"}, {"status", "authorized"}});
  ASSERT_EQ(res.status, 200) << res.describe();
  EXPECT_EQ(res.json().value("changed", true), false);
  EXPECT_EQ(status_of("pay-5"), "voided");
  EXPECT_EQ(psp.count("/v1/payments/psp_pay-5/void"), 1u);
  EXPECT_EQ(psp.count("/capture"), 0u);
}

} // namespace
