// End-to-end tests of delay detection: the real `mercato` binary with short expected durations
// on a fresh PostgreSQL database per test. The journal is read directly to wait for Mercato's
// own timeline entries, so that no request to the order could be what made them appear.

#include "tests/support/http_client.hpp"
#include "tests/support/outbox_rows.hpp"
#include "tests/support/projection_wait.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/shop_fixture.hpp"
#include "tests/support/test_db.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace mt = mercato::test;
using mt::eventually;
using json = nlohmann::json;
using namespace std::chrono_literals;

// RFC 3339 UTC with milliseconds, `offset` from now.
std::string rfc3339_from_now(std::chrono::milliseconds offset) {
  auto at = std::chrono::system_clock::now() + offset;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

// Mercato's own timeline entries of one order, as the journal holds them.
struct own_entry {
  std::string type;
  std::string external_id;
  json data;
};

class DelayE2E : public mt::shop_test {
protected:
  std::vector<own_entry> own_entries(const std::string& order_id) {
    pqxx::connection conn{env_->dsn()};
    pqxx::nontransaction tx{conn};
    std::vector<own_entry> out;
    for (const auto& row :
         tx.exec_params("SELECT payload #>> '{fact,type}', payload #>> '{fact,external_id}', "
                        "payload #>> '{fact,data}' FROM journal WHERE entity_kind = 'order' "
                        "AND entity_id = $1 AND event_type = 'fact_recorded' "
                        "AND payload #>> '{fact,source}' = 'mercato' ORDER BY seq",
                        order_id))
      out.push_back(own_entry{row[0].as<std::string>(), row[1].as<std::string>(),
                              json::parse(row[2].as<std::string>())});
    return out;
  }

  bool has_own_entry(const std::string& order_id, const std::string& type) {
    for (const auto& e : own_entries(order_id))
      if (e.type == type)
        return true;
    return false;
  }

  int64_t outbox_rows_of(const std::string& order_id, const std::string& fact_type) {
    pqxx::connection conn{env_->dsn()};
    pqxx::nontransaction tx{conn};
    return tx
      .exec_params("SELECT count(*) FROM " + std::string{mercato::test::outbox_rows}
                     + " WHERE aggregatetype = 'order' "
                       "AND aggregateid = $1 AND payload #>> '{fact,type}' = $2",
                   order_id, fact_type)[0][0]
      .as<int64_t>();
  }

  // The orders read model, once its projection has applied every committed event.
  std::string read_model_status(const std::string& order_id) {
    EXPECT_TRUE(mercato::test::projection_caught_up(env_->dsn(), "orders"));
    pqxx::connection conn{env_->dsn()};
    pqxx::nontransaction tx{conn};
    auto rows = tx.exec_params("SELECT status FROM orders WHERE order_id = $1", order_id);
    return rows.empty() ? "" : rows[0][0].as<std::string>();
  }

  std::optional<double> order_metric(const std::string& name) {
    return mt::metric_value(http().get("/metrics").body, name, {{"kind", "order"}});
  }

  // The timeline entries of `type`, through the API.
  std::vector<json> timeline_entries(const json& timeline, const std::string& type) {
    std::vector<json> out;
    for (const auto& e : timeline["events"])
      if (e["type"] == type)
        out.push_back(e);
    return out;
  }
};

// Only `confirmed` has an expectation: the checkout confirms the order at once.
std::vector<std::string> confirmed_expected(int64_t ms) {
  return {"--order-expected-paid-ms", "0",  "--order-expected-confirmed-ms", std::to_string(ms),
          "--order-delay-sweep-ms",   "200"};
}

} // namespace

TEST_F(DelayE2E, DelayWarningIsRecordedByTheOrdersOwnTimer) {
  ASSERT_NO_FATAL_FAILURE(start_server(confirmed_expected(300)));
  auto order_id = place_order(ada_, "timer");
  ASSERT_FALSE(order_id.empty());
  ASSERT_TRUE(eventually([&] { return has_own_entry(order_id, "delay_warning"); }, 15s, 50ms))
    << "no delay_warning journaled";

  auto timeline = http().get("/v1/orders/" + order_id + "/timeline", ada_);
  ASSERT_EQ(timeline.status, 200) << timeline.describe();
  auto body = timeline.json();
  EXPECT_EQ(body["status"], "confirmed") << "a delay warning does not move the status";
  auto warnings = timeline_entries(body, "delay_warning");
  ASSERT_EQ(warnings.size(), 1u) << body.dump();
  const auto& w = warnings.front();
  EXPECT_EQ(w["source"], "mercato");
  EXPECT_EQ(w["external_id"], "delay_warning:confirmed");
  EXPECT_EQ(w["label"], "Delayed: production has not started yet");
  EXPECT_EQ(w["data"]["status"], "confirmed");
  EXPECT_EQ(w["data"]["expected_ms"], 300);
  EXPECT_GE(w["data"]["elapsed_ms"].get<int64_t>(), 300);
  EXPECT_TRUE(w["occurred_at"].is_string());
  EXPECT_EQ(http().get("/v1/orders/" + order_id, ada_).json()["status"], "confirmed");
  EXPECT_EQ(read_model_status(order_id), "confirmed");
  EXPECT_EQ(outbox_rows_of(order_id, "delay_warning"), 1) << "it reaches the outbox";
  EXPECT_EQ(own_entries(order_id).size(), 1u) << "recorded once";
}

TEST_F(DelayE2E, DeliveryExpectedSoonFollowsAnEtaWithinTheWindow) {
  // Default expectations (hours and days) and the default 24 h window.
  ASSERT_NO_FATAL_FAILURE(start_server({}));
  auto order_id = place_order(ada_, "eta");
  ASSERT_FALSE(order_id.empty());
  auto service = env_->token("service");
  auto post_eta = [&](const std::string& id, std::chrono::milliseconds occurred,
                      std::chrono::milliseconds eta) {
    return http().post("/v1/orders/" + order_id + "/events",
                       {{"source", "logistics"},
                        {"type", "eta_updated"},
                        {"external_id", id},
                        {"occurred_at", rfc3339_from_now(occurred)},
                        {"data", {{"eta", rfc3339_from_now(eta)}}}},
                       service);
  };
  // Three days ahead: not soon. Then a later update brings it within two hours.
  ASSERT_EQ(post_eta("eta-far", -2min, 72h).status, 202);
  ASSERT_EQ(post_eta("eta-near", -1min, 2h).status, 202);
  json body;
  ASSERT_TRUE(eventually(
    [&] {
      body = http().get("/v1/orders/" + order_id + "/timeline", ada_).json();
      return !timeline_entries(body, "delivery_expected_soon").empty();
    },
    15s, 50ms))
    << body.dump();
  auto soon = timeline_entries(body, "delivery_expected_soon");
  ASSERT_EQ(soon.size(), 1u) << "only the ETA within the window is told: " << body.dump();
  EXPECT_EQ(soon.front()["source"], "mercato");
  EXPECT_EQ(soon.front()["label"], "Delivery expected within 24 hours");
  EXPECT_EQ(soon.front()["data"]["eta"], body["eta"]);
  EXPECT_EQ(soon.front()["data"]["window_ms"], 86400000);
  EXPECT_NE(body["status"], "delivered");
  EXPECT_TRUE(timeline_entries(body, "delay_warning").empty());
  // A new ETA within the window is told too, once per ETA value.
  ASSERT_EQ(post_eta("eta-later", -30s, 3h).status, 202);
  ASSERT_TRUE(eventually(
    [&] {
      body = http().get("/v1/orders/" + order_id + "/timeline", ada_).json();
      return timeline_entries(body, "delivery_expected_soon").size() == 2;
    },
    15s, 50ms))
    << body.dump();
  soon = timeline_entries(body, "delivery_expected_soon");
  EXPECT_NE(soon[0]["data"]["eta"], soon[1]["data"]["eta"]);
  EXPECT_EQ(own_entries(order_id).size(), 2u);
}

TEST_F(DelayE2E, PassivatedOrderStillGetsItsDelayWarning) {
  // The order is passivated long before its stay in confirmed runs out: its timer dies with it,
  // and only the sweeper of the orders read model can wake it.
  ASSERT_NO_FATAL_FAILURE(start_server(confirmed_expected(4000), 200));
  auto order_id = place_order(ada_, "passivated");
  ASSERT_FALSE(order_id.empty());
  ASSERT_TRUE(eventually(
    [&] {
      return order_metric("mercato_entity_passivations_total").value_or(0) >= 1
             && order_metric("mercato_entities_live").value_or(1) == 0;
    },
    15s, 50ms))
    << "the order was not passivated";
  ASSERT_FALSE(has_own_entry(order_id, "delay_warning"))
    << "the warning came before the order was passivated: the test proves nothing";
  ASSERT_TRUE(eventually([&] { return has_own_entry(order_id, "delay_warning"); }, 20s, 50ms))
    << "the passivated order never got its delay_warning";

  auto body = http().get("/v1/orders/" + order_id + "/timeline", ada_).json();
  EXPECT_EQ(body["status"], "confirmed");
  ASSERT_EQ(timeline_entries(body, "delay_warning").size(), 1u) << body.dump();
  EXPECT_EQ(timeline_entries(body, "delay_warning").front()["data"]["status"], "confirmed");
}

TEST_F(DelayE2E, ADelayDueWhileTheServerWasDownIsRecordedAfterARestart) {
  ASSERT_NO_FATAL_FAILURE(start_server(confirmed_expected(2000)));
  auto order_id = place_order(ada_, "restart");
  ASSERT_FALSE(order_id.empty());
  ASSERT_TRUE(eventually([&] { return read_model_status(order_id) == "confirmed"; }, 15s, 50ms));
  env_->server().kill9();
  ASSERT_FALSE(has_own_entry(order_id, "delay_warning"));
  try {
    env_->restart();
  } catch (const std::exception& e) {
    FAIL() << "cannot restart mercato: " << e.what();
  }
  // Nothing asks for the order: the new process's sweeper wakes it when its check falls due.
  ASSERT_TRUE(eventually([&] { return has_own_entry(order_id, "delay_warning"); }, 20s, 50ms))
    << "the delay fell due with no process to notice it";
  auto entries = own_entries(order_id);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries.front().external_id, "delay_warning:confirmed");
  EXPECT_EQ(entries.front().data["expected_ms"], 2000);
}
