// End-to-end tests of stock: the real `mercato` binary on a fresh PostgreSQL database per test,
// driven over HTTP. Needs MERCATO_TEST_DATABASE_URL (a superuser DSN; skipped when unset) and
// the server binary (MERCATO_BIN, else <repo>/build/bin/mercato).

#include "runtime/util/time.hpp"
#include "tests/support/e2e_env.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/jwt_mint.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_db.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace mt = mercato::test;
using json = nlohmann::json;
using mt::eventually;
using mt::expect_problem;
using mt::metric_value;
using mt::server_env;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// -- helpers ------------------------------------------------------------------------------------

/// A SKU no other test (or earlier run on the same database) uses.
std::string unique_sku(const std::string& tag) {
  static std::atomic<int> n{0};
  return "e2e-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

/// Milliseconds since the epoch of an RFC 3339 time ("2024-05-01T12:00:00.123Z", any offset),
/// or nullopt when `text` is not one.
std::optional<int64_t> parse_rfc3339_ms(const std::string& text) {
  int64_t ms = 0;
  if (!mercato::util::parse_rfc3339_ms(text, ms))
    return std::nullopt;
  return ms;
}

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string stock_path(const std::string& sku) {
  return "/v1/stock/" + sku;
}

std::string reservations_path(const std::string& sku) {
  return "/v1/stock/" + sku + "/reservations";
}

json reservation_body(const std::string& id, int64_t quantity, int64_t ttl_s) {
  return {{"reservation_id", id}, {"quantity", quantity}, {"ttl_s", ttl_s}};
}

/// The fields of a stock view that a restart, passivation or bad request must not change.
struct stock_state {
  int64_t on_hand = -1;
  int64_t reserved = -1;
  int64_t available = -1;
  int64_t version = -1;
  friend bool operator==(const stock_state&, const stock_state&) = default;
  friend std::ostream& operator<<(std::ostream& out, const stock_state& x) {
    return out << "{on_hand " << x.on_hand << ", reserved " << x.reserved << ", available "
               << x.available << ", version " << x.version << "}";
  }
};

std::optional<stock_state> parse_stock(const mt::http_response& res) {
  if (res.status != 200)
    return std::nullopt;
  try {
    auto body = res.json();
    return stock_state{body.at("on_hand").get<int64_t>(), body.at("reserved").get<int64_t>(),
                       body.at("available").get<int64_t>(), body.at("version").get<int64_t>()};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// -- fixture ------------------------------------------------------------------------------------

class StockE2E : public ::testing::Test {
protected:
  void SetUp() override {
    auto dsn = mt::superuser_dsn();
    if (!dsn)
      GTEST_SKIP() << mt::test_database_url_env << " is unset";
    try {
      env_ = std::make_unique<server_env>(*dsn);
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
    admin_ = env_->token("admin");
    service_ = env_->token("service");
    customer_ = env_->token("customer");
  }

  void TearDown() override {
    env_.reset();
  }

  void start_server(mt::server_options opts = {}) {
    try {
      env_->start(std::move(opts));
    } catch (const std::exception& e) {
      FAIL() << "cannot start mercato: " << e.what();
    }
  }

  void restart_server() {
    try {
      env_->restart();
    } catch (const std::exception& e) {
      FAIL() << "cannot restart mercato: " << e.what();
    }
  }

  mt::http_client& http() {
    return env_->http();
  }

  mt::server_process& server() {
    return env_->server();
  }

  void create_product(const std::string& sku) {
    auto res = http().put("/v1/products/" + sku,
                          {{"name", "Product " + sku},
                           {"description", "made by the e2e tests"},
                           {"category", "e2e"},
                           {"price_minor", 1999},
                           {"currency", "USD"}},
                          admin_);
    ASSERT_TRUE(res.status == 200 || res.status == 201) << res.describe();
  }

  void set_stock(const std::string& sku, int64_t on_hand) {
    auto res = http().put(stock_path(sku), {{"on_hand", on_hand}}, admin_);
    ASSERT_EQ(res.status, 200) << res.describe();
  }

  void adjust_stock(const std::string& sku, int64_t delta, const std::string& reason) {
    auto res = http().post(stock_path(sku) + "/adjustments", {{"delta", delta}, {"reason", reason}},
                           admin_);
    ASSERT_EQ(res.status, 200) << res.describe();
  }

  /// Product plus stock.
  void stock_item(const std::string& sku, int64_t on_hand) {
    ASSERT_NO_FATAL_FAILURE(create_product(sku));
    ASSERT_NO_FATAL_FAILURE(set_stock(sku, on_hand));
  }

  mt::http_response reserve(const std::string& sku, const std::string& id, int64_t quantity,
                            int64_t ttl_s) {
    return http().post(reservations_path(sku), reservation_body(id, quantity, ttl_s), service_);
  }

  /// The stock view of `sku`; a failed assertion (and nullopt) unless 200 with every field.
  std::optional<stock_state> stock(const std::string& sku) {
    auto res = http().get(stock_path(sku));
    auto state = parse_stock(res);
    EXPECT_TRUE(state.has_value()) << "GET " << stock_path(sku) << ": " << res.describe();
    if (state) {
      auto body = res.json();
      EXPECT_EQ(body.value("sku", ""), sku);
      EXPECT_EQ(state->available, state->on_hand - state->reserved);
    }
    return state;
  }

  std::optional<double> metric(const std::string& name,
                               const std::map<std::string, std::string>& labels) {
    auto res = http().get("/metrics");
    EXPECT_EQ(res.status, 200) << res.describe();
    return metric_value(res.body, name, labels);
  }

  std::unique_ptr<server_env> env_;
  std::string admin_;
  std::string service_;
  std::string customer_;
};

// -- harness self-checks (no server, no database) ----------------------------------------------

TEST(E2ESupport, MintsHs256Tokens) {
  // Reference value computed independently (Python hmac/hashlib).
  EXPECT_EQ(mt::mint_hs256({{"sub", "x"}, {"role", "admin"}, {"exp", 1}}, "s"),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjEsInJvbGUiOiJhZG1pbiIsInN1YiI6IngifQ."
            "fdvT1y3m_32VeiYckTwBeZPddMK-oZW3Nqsty9vdB2U");
}

TEST(E2ESupport, ReplacesDatabaseInDsn) {
  EXPECT_EQ(mt::dsn_with_dbname("host=/x/y dbname=mercato_test user=postgres", "d1"),
            "host=/x/y dbname=d1 user=postgres");
  EXPECT_EQ(mt::dsn_with_dbname("host = '/x y' user=postgres", "d1"),
            "host='/x y' user=postgres dbname=d1");
  EXPECT_EQ(mt::dsn_with_dbname("password='a\\'b' dbname=x", "d1"), "password='a\\'b' dbname=d1");
  EXPECT_EQ(mt::dsn_with_dbname("", "d1"), "dbname=d1");
  EXPECT_EQ(mt::dsn_with_dbname("postgresql://u@h:5432/old?sslmode=disable", "d1"),
            "postgresql://u@h:5432/d1?sslmode=disable");
  EXPECT_EQ(mt::dsn_with_dbname("postgres://u@h", "d1"), "postgres://u@h/d1");
  EXPECT_EQ(mt::dsn_with_dbname("postgresql://%2Ftmp?user=u", "d1"),
            "postgresql://%2Ftmp/d1?user=u");
}

TEST(E2ESupport, ParsesRfc3339) {
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(parse_rfc3339_ms("2024-02-29T12:34:56.789Z"), 1709210096789);
  EXPECT_EQ(parse_rfc3339_ms("2024-02-29T13:34:56.789123+01:00"), 1709210096789);
  EXPECT_EQ(parse_rfc3339_ms("2024-02-29T12:34:56"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("yesterday"), std::nullopt);
}

TEST(E2ESupport, SumsPrometheusSamples) {
  const std::string text = "# HELP mercato_entities_live live entities\n"
                           "# TYPE mercato_entities_live gauge\n"
                           "mercato_entities_live{kind=\"stock\",node=\"a\"} 2\n"
                           "mercato_entities_live{kind=\"stock\",node=\"b\"} 3\n"
                           "mercato_entities_live{kind=\"cart\"} 7\n"
                           "mercato_entities_live_total{kind=\"stock\"} 100\n"
                           "mercato_up 1 1700000000000\n";
  EXPECT_EQ(metric_value(text, "mercato_entities_live", {{"kind", "stock"}}), 5.0);
  EXPECT_EQ(metric_value(text, "mercato_entities_live"), 12.0);
  EXPECT_EQ(metric_value(text, "mercato_up"), 1.0);
  EXPECT_EQ(metric_value(text, "mercato_entities_live", {{"kind", "order"}}), std::nullopt);
}

// -- flash sale ---------------------------------------------------------------------------------

TEST_F(StockE2E, FlashSaleNeverOversells) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  const auto sku = unique_sku("flash");
  constexpr int64_t on_hand = 100;
  constexpr int buyers = 2000;
  // Long enough for the burst and the GET after it even on a loaded machine (checked below),
  // short enough that waiting for the expiry keeps the suite fast.
  constexpr int64_t ttl_s = 8;
  ASSERT_NO_FATAL_FAILURE(stock_item(sku, on_hand));

  std::vector<mt::http_request> reqs;
  for (int i = 0; i < buyers; ++i)
    reqs.push_back(mt::json_request("POST", reservations_path(sku),
                                    reservation_body("flash-" + std::to_string(i), 1, ttl_s),
                                    service_));
  auto t0 = clock_type::now();
  auto wall_t0 = wall_clock_ms();
  auto responses = mt::run_concurrently(server().host(), server().port(), reqs,
                                        {.connections = 64, .timeout = 30s});
  auto after_burst = stock(sku);
  auto elapsed = clock_type::now() - t0;
  auto wall_t1 = wall_clock_ms();
  // No hold can have expired before the GET only if all of it took less than the TTL.
  ASSERT_LT(elapsed, std::chrono::seconds{ttl_s})
    << "the burst took too long for exact counts; holds may have expired during it";

  std::map<int, int> by_status;
  std::vector<std::string> surprises;
  int bad_201 = 0;
  int bad_409 = 0;
  for (size_t i = 0; i < responses.size(); ++i) {
    const auto& res = responses[i];
    ++by_status[res.status];
    if (res.status == 201) {
      try {
        auto body = res.json();
        // expires_at is now + ttl_s (a second of slack for clock rounding).
        auto expires = parse_rfc3339_ms(body.at("expires_at").get<std::string>());
        if (body.at("reservation_id") != "flash-" + std::to_string(i) || body.at("sku") != sku
            || body.at("quantity") != 1 || !expires || *expires < wall_t0 + ttl_s * 1000 - 1000
            || *expires > wall_t1 + ttl_s * 1000 + 1000) {
          if (++bad_201 <= 3)
            ADD_FAILURE() << "bad 201: " << res.describe();
        }
      } catch (const std::exception& e) {
        if (++bad_201 <= 3)
          ADD_FAILURE() << "bad 201 (" << e.what() << "): " << res.describe();
      }
    } else if (res.status == 409) {
      try {
        if (res.json().at("code") != "insufficient_stock"
            || res.header("content-type").rfind("application/problem+json", 0) != 0)
          ++bad_409;
      } catch (const std::exception&) {
        ++bad_409;
      }
    } else if (surprises.size() < 5) {
      surprises.push_back(res.describe());
    }
  }
  std::ostringstream summary;
  for (const auto& [status, count] : by_status)
    summary << status << ": " << count << "  ";
  for (const auto& s : surprises)
    summary << "\n  e.g. " << s;
  SCOPED_TRACE("statuses (0 = no response) " + summary.str());
  EXPECT_EQ(by_status[201], on_hand);
  EXPECT_EQ(by_status[409], buyers - on_hand);
  EXPECT_EQ(by_status.size(), 2u) << "only 201 and 409 may appear";
  EXPECT_EQ(bad_201, 0)
    << "201 bodies must echo reservation_id, sku, quantity, and expires_at = now + ttl_s";
  EXPECT_EQ(bad_409, 0) << "409s must be problem+json with code insufficient_stock";

  ASSERT_TRUE(after_burst.has_value());
  EXPECT_EQ(after_burst->on_hand, on_hand);
  EXPECT_EQ(after_burst->reserved, on_hand);
  EXPECT_EQ(after_burst->available, 0);

  // The holds expire by the actor's own timers, with no further writes from us.
  std::optional<stock_state> last;
  EXPECT_TRUE(eventually(
    [&] {
      last = parse_stock(http().get(stock_path(sku)));
      return last && last->reserved == 0;
    },
    30s, 100ms))
    << "holds did not expire; last: " << (last ? ::testing::PrintToString(*last) : "none");
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->on_hand, on_hand);
  EXPECT_EQ(last->available, on_hand);
}

// -- crash --------------------------------------------------------------------------------------

TEST_F(StockE2E, CrashKeepsAcknowledgedReservations) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  constexpr int64_t ttl_s = 3600;
  // Phase 1 demands 15 units of each; the smaller ones must turn some requests away.
  const std::vector<int64_t> on_hand{20, 12, 6};
  std::vector<std::string> skus;
  for (size_t s = 0; s < on_hand.size(); ++s) {
    skus.push_back(unique_sku("crash" + std::to_string(s)));
    ASSERT_NO_FATAL_FAILURE(stock_item(skus.back(), on_hand[s]));
  }
  const auto bulk_sku = unique_sku("crashbulk");
  constexpr int64_t bulk_on_hand = 1000;
  ASSERT_NO_FATAL_FAILURE(stock_item(bulk_sku, bulk_on_hand));

  struct hold {
    std::string sku;
    std::string id;
    int64_t quantity;
    std::string expires_at;
  };
  std::vector<hold> acknowledged;
  std::map<std::string, int64_t> acknowledged_units;

  // Phase 1: every request gets its answer before the crash.
  std::vector<mt::http_request> reqs;
  std::vector<hold> asked;
  for (size_t s = 0; s < skus.size(); ++s)
    for (int i = 0; i < 8; ++i) {
      hold h{skus[s], "crash-" + std::to_string(s) + "-" + std::to_string(i), 1 + i % 3, {}};
      reqs.push_back(mt::json_request("POST", reservations_path(h.sku),
                                      reservation_body(h.id, h.quantity, ttl_s), service_));
      asked.push_back(h);
    }
  auto responses = mt::run_concurrently(server().host(), server().port(), reqs,
                                        {.connections = 16, .timeout = 30s});
  int rejected = 0;
  for (size_t i = 0; i < responses.size(); ++i) {
    const auto& res = responses[i];
    if (res.status == 201) {
      auto h = asked[i];
      h.expires_at = res.json().at("expires_at").get<std::string>();
      acknowledged_units[h.sku] += h.quantity;
      acknowledged.push_back(h);
    } else {
      ASSERT_EQ(res.status, 409) << res.describe();
      EXPECT_EQ(res.json().value("code", ""), "insufficient_stock");
      ++rejected;
    }
  }
  EXPECT_GE(rejected, 2);
  for (size_t s = 0; s < skus.size(); ++s)
    EXPECT_LE(acknowledged_units[skus[s]], on_hand[s]);

  // Phase 2: kill -9 while reservations on the bulk SKU are in flight. Answered ones are
  // acknowledged or rejected; unanswered ones may or may not have been made durable.
  std::vector<mt::http_request> bulk_reqs;
  for (int i = 0; i < 600; ++i)
    bulk_reqs.push_back(mt::json_request("POST", reservations_path(bulk_sku),
                                         reservation_body("bulk-" + std::to_string(i), 1, ttl_s),
                                         service_));
  std::atomic<size_t> completed{0};
  std::vector<mt::http_response> bulk_responses;
  std::thread burst{[&] {
    bulk_responses
      = mt::run_concurrently(server().host(), server().port(), bulk_reqs,
                             {.connections = 16, .timeout = 30s, .completed = &completed});
  }};
  bool in_flight = eventually([&] { return completed.load() >= 150; }, 30s, 1ms);
  server().kill9();
  burst.join();
  ASSERT_TRUE(in_flight) << "the bulk reservations did not get going";
  int64_t bulk_unknown = 0;
  int bulk_answered = 0;
  for (size_t i = 0; i < bulk_responses.size(); ++i) {
    const auto& res = bulk_responses[i];
    if (res.status == 201) {
      acknowledged_units[bulk_sku] += 1;
      acknowledged.push_back(
        {bulk_sku, "bulk-" + std::to_string(i), 1, res.json().at("expires_at").get<std::string>()});
      ++bulk_answered;
    } else if (res.status == 0) {
      ++bulk_unknown;
    } else {
      ADD_FAILURE() << "bulk reservation " << i << ": " << res.describe();
    }
  }
  EXPECT_GE(bulk_answered, 150);
  RecordProperty("bulk_acknowledged", bulk_answered);
  RecordProperty("bulk_unanswered", static_cast<int>(bulk_unknown));

  ASSERT_NO_FATAL_FAILURE(restart_server());

  for (size_t s = 0; s < skus.size(); ++s) {
    SCOPED_TRACE(skus[s]);
    auto state = stock(skus[s]);
    ASSERT_TRUE(state.has_value());
    EXPECT_EQ(state->on_hand, on_hand[s]);
    EXPECT_EQ(state->reserved, acknowledged_units[skus[s]]);
  }
  auto bulk = stock(bulk_sku);
  ASSERT_TRUE(bulk.has_value());
  EXPECT_EQ(bulk->on_hand, bulk_on_hand);
  EXPECT_GE(bulk->reserved, acknowledged_units[bulk_sku]) << "an acknowledged hold was lost";
  EXPECT_LE(bulk->reserved, acknowledged_units[bulk_sku] + bulk_unknown);

  // Replaying acknowledged reservations is idempotent across the restart.
  std::vector<mt::http_request> replays;
  for (const auto& h : acknowledged)
    replays.push_back(mt::json_request("POST", reservations_path(h.sku),
                                       reservation_body(h.id, h.quantity, ttl_s), service_));
  auto replayed = mt::run_concurrently(server().host(), server().port(), replays,
                                       {.connections = 16, .timeout = 30s});
  int replay_mismatches = 0;
  for (size_t i = 0; i < replayed.size(); ++i) {
    const auto& res = replayed[i];
    bool same = false;
    if (res.status == 201) {
      auto body = res.json();
      auto expires = parse_rfc3339_ms(body.value("expires_at", ""));
      same = expires && expires == parse_rfc3339_ms(acknowledged[i].expires_at)
             && body.value("quantity", int64_t{-1}) == acknowledged[i].quantity
             && body.value("reservation_id", "") == acknowledged[i].id;
    }
    if (!same && ++replay_mismatches <= 5)
      ADD_FAILURE() << "replay of " << acknowledged[i].id << " (expires_at "
                    << acknowledged[i].expires_at << "): " << res.describe();
  }
  EXPECT_EQ(replay_mismatches, 0);
  for (size_t s = 0; s < skus.size(); ++s) {
    auto state = stock(skus[s]);
    ASSERT_TRUE(state.has_value());
    EXPECT_EQ(state->reserved, acknowledged_units[skus[s]]) << skus[s];
  }
  auto bulk_after = stock(bulk_sku);
  ASSERT_TRUE(bulk_after.has_value());
  EXPECT_EQ(bulk_after->reserved, bulk->reserved) << "replays must not reserve again";
}

// -- supervision --------------------------------------------------------------------------------

TEST_F(StockE2E, SupervisionRestartsFaultyActorWithState) {
  mt::server_options opts;
  opts.fault_injection = true;
  ASSERT_NO_FATAL_FAILURE(start_server(opts));
  const auto a = unique_sku("faulty");
  const auto b = unique_sku("bystander");
  for (const auto& sku : {a, b}) {
    ASSERT_NO_FATAL_FAILURE(stock_item(sku, 30));
    ASSERT_NO_FATAL_FAILURE(adjust_stock(sku, 5, "restock"));
    auto res = reserve(sku, "sup-" + sku, 4, 3600);
    ASSERT_EQ(res.status, 201) << res.describe();
  }
  auto a_before = stock(a);
  auto b_before = stock(b);
  ASSERT_TRUE(a_before && b_before);
  ASSERT_EQ(*a_before, (stock_state{35, 4, 31, a_before->version}));
  auto restarts_before = metric("mercato_entity_restarts_total", {{"kind", "stock"}}).value_or(0.0);

  mt::http_request fault;
  fault.method = "POST";
  fault.target = "/v1/admin/actors/stock/" + a + "/fault";
  fault.bearer(admin_);
  auto res = http().request(fault);
  ASSERT_EQ(res.status, 202) << res.describe();

  // While it restarts the entity may answer 503 (retryable); then it has its state back.
  mt::http_response last;
  EXPECT_TRUE(eventually(
    [&] {
      last = http().get(stock_path(a));
      return last.status != 503;
    },
    10s))
    << last.describe();
  ASSERT_EQ(last.status, 200) << last.describe();
  EXPECT_EQ(parse_stock(last), a_before);
  EXPECT_EQ(stock(b), b_before);

  std::optional<double> restarts;
  EXPECT_TRUE(eventually(
    [&] {
      restarts = metric("mercato_entity_restarts_total", {{"kind", "stock"}});
      return restarts && *restarts >= restarts_before + 1;
    },
    10s))
    << "mercato_entity_restarts_total{kind=\"stock\"} = "
    << (restarts ? std::to_string(*restarts) : "absent");

  // The restarted actor still owns its hold.
  res = http().post(reservations_path(a) + "/sup-" + a + "/commit", json::object(), service_);
  EXPECT_EQ(res.status, 200) << res.describe();
  auto a_after = stock(a);
  ASSERT_TRUE(a_after);
  EXPECT_EQ(a_after->on_hand, 31);
  EXPECT_EQ(a_after->reserved, 0);
  EXPECT_EQ(a_after->available, 31);
}

// -- passivation --------------------------------------------------------------------------------

TEST_F(StockE2E, PassivationStopsIdleActorAndRecoversState) {
  mt::server_options opts;
  opts.passivate_after_ms = 300;
  ASSERT_NO_FATAL_FAILURE(start_server(opts));
  const auto sku = unique_sku("idle");
  // A stock actor keeps running while it holds active holds (it owns their timers), so this
  // one ends with none: set, adjust, reserve and commit.
  ASSERT_NO_FATAL_FAILURE(stock_item(sku, 50));
  ASSERT_NO_FATAL_FAILURE(adjust_stock(sku, 5, "restock"));
  auto res = reserve(sku, "idle-1", 3, 3600);
  ASSERT_EQ(res.status, 201) << res.describe();
  res = http().post(reservations_path(sku) + "/idle-1/commit", json::object(), service_);
  ASSERT_EQ(res.status, 200) << res.describe();
  auto before = stock(sku);
  ASSERT_TRUE(before);
  ASSERT_EQ(*before, (stock_state{52, 0, 52, before->version}));
  auto live_before = metric("mercato_entities_live", {{"kind", "stock"}});
  ASSERT_TRUE(live_before) << "no mercato_entities_live{kind=\"stock\"} in /metrics";
  EXPECT_GE(*live_before, 1);

  std::optional<double> passivations;
  std::optional<double> live;
  EXPECT_TRUE(eventually(
    [&] {
      auto text = http().get("/metrics").body;
      passivations = metric_value(text, "mercato_entity_passivations_total", {{"kind", "stock"}});
      live = metric_value(text, "mercato_entities_live", {{"kind", "stock"}});
      return passivations && *passivations >= 1 && live && *live < *live_before;
    },
    15s, 50ms))
    << "passivations " << (passivations ? std::to_string(*passivations) : "absent") << ", live "
    << (live ? std::to_string(*live) : "absent") << " (was " << *live_before << ")";

  // The next message recovers it from the journal with the same state.
  EXPECT_EQ(stock(sku), before);
  res = reserve(sku, "idle-2", 2, 3600);
  EXPECT_EQ(res.status, 201) << res.describe();
  res = http().del(reservations_path(sku) + "/idle-2", service_);
  EXPECT_EQ(res.status, 204) << res.describe();
  auto after = stock(sku);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->on_hand, 52);
  EXPECT_EQ(after->reserved, 0);
  EXPECT_GT(after->version, before->version);
}

// A hold's timer lives in its item's actor and dies with the node. After kill -9 the restarted
// node wakes every item with an open hold, so the hold expires on time, or at once if it is
// overdue, although nobody asks for its item again (the journal, not the API, is watched).
TEST_F(StockE2E, AHoldExpiresAfterAKillNineWithoutItsItemBeingAskedFor) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  const auto sku = unique_sku("wake");
  ASSERT_NO_FATAL_FAILURE(stock_item(sku, 5));
  auto held = reserve(sku, "h-wake", 2, 2);
  ASSERT_EQ(held.status, 201) << held.describe();
  auto due = parse_rfc3339_ms(held.json().value("expires_at", ""));
  ASSERT_TRUE(due.has_value()) << held.describe();
  const int64_t expires_ms = *due;
  server().kill9();
  ASSERT_NO_FATAL_FAILURE(restart_server());
  auto serving_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  pqxx::connection conn{env_->dsn()};
  auto expired_at = [&]() -> std::optional<int64_t> {
    pqxx::nontransaction tx{conn};
    auto rows = tx.exec_params("SELECT (payload->>'at_ms')::bigint FROM journal WHERE "
                               "entity_kind = 'stock' AND entity_id = $1 AND event_type = "
                               "'expired' AND payload->>'reservation_id' = 'h-wake'",
                               sku);
    if (rows.empty())
      return std::nullopt;
    return rows[0][0].as<int64_t>();
  };
  std::optional<int64_t> at;
  ASSERT_TRUE(eventually([&] { return (at = expired_at()).has_value(); }, 15s, 50ms))
    << "the hold never expired";
  EXPECT_GE(*at, expires_ms) << "expired early";
  // On time: when it was due, or, overdue when the node came back, as soon as it serves.
  EXPECT_LE(*at, std::max(expires_ms, serving_ms) + 2000);
  auto after = stock(sku);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->reserved, 0);
  EXPECT_EQ(after->on_hand, 5);
}

// Bots guessing SKUs: 100,000 reads of 1,000 SKUs that do not exist are each answered 404,
// cost at most one journal query per SKU, and leave no stock actor behind. (The service token
// keeps the per-client rate limit out of the way; it is tested in limits_e2e_test.cpp.)
TEST_F(StockE2E, HundredThousandReadsOfUnknownSkusLeaveNoActorAndOneQueryPerSku) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  constexpr int distinct = 1000;
  constexpr int reads = 100000;
  auto loads_before = metric("mercato_recovery_loads_total", {{"kind", "stock"}}).value_or(0);
  const auto prefix = unique_sku("ghost");
  std::vector<mt::http_request> reqs;
  reqs.reserve(reads);
  for (int i = 0; i < reads; ++i)
    reqs.push_back(
      mt::http_request{"GET", stock_path(prefix + "-" + std::to_string(i % distinct))}.bearer(
        service_));
  auto responses = mt::run_concurrently(server().host(), server().port(), reqs,
                                        {.connections = 8, .timeout = 30s});
  int not_found = 0;
  std::string first_other;
  for (const auto& r : responses) {
    if (r.status == 404)
      ++not_found;
    else if (first_other.empty())
      first_other = r.describe();
  }
  EXPECT_EQ(not_found, reads) << first_other;
  auto loads = metric("mercato_recovery_loads_total", {{"kind", "stock"}}).value_or(0);
  EXPECT_LE(loads - loads_before, distinct) << "more than one query per unknown SKU";
  EXPECT_GE(metric("mercato_entity_absent_hits_total", {{"kind", "stock"}}).value_or(0),
            reads - 10 * distinct);
  std::optional<double> live;
  EXPECT_TRUE(eventually(
    [&] {
      live = metric("mercato_entities_live", {{"kind", "stock"}});
      return live && *live == 0;
    },
    10s, 50ms))
    << "stock actors still live: " << (live ? std::to_string(*live) : "absent");
  RecordProperty("journal_queries", static_cast<int>(loads - loads_before));
}

// -- request ids --------------------------------------------------------------------------------

TEST_F(StockE2E, RequestIdEchoed) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  mt::http_request req;
  req.target = "/healthz";
  req.with_header("X-Request-ID", "e2e-trace-4711");
  auto res = http().request(req);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.header("x-request-id"), "e2e-trace-4711");

  mt::http_request missing;
  missing.target = "/v1/no-such-route";
  missing.with_header("X-Request-ID", "e2e-trace-4712");
  res = http().request(missing);
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.header("x-request-id"), "e2e-trace-4712") << "errors echo the id too";

  auto first = http().get("/healthz").header("x-request-id");
  auto second = http().get("/healthz").header("x-request-id");
  EXPECT_FALSE(first.empty()) << "a missing X-Request-ID is generated";
  EXPECT_FALSE(second.empty());
  EXPECT_NE(first, second) << "generated ids are unique";
}

// -- bad input ----------------------------------------------------------------------------------

enum class who { nobody, admin, service, customer, bad_signature, expired, garbage };

struct bad_input_case {
  std::string name;
  std::string method;
  std::string target; ///< "{sku}": the suite's SKU, "{unknown}": one that does not exist
  std::string body;   ///< "{2MiB}": a 2 MiB JSON body
  who token;
  int status;
  std::string code; ///< empty: any documented code
};

void PrintTo(const bad_input_case& x, std::ostream* out) {
  *out << x.name;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
    text.replace(pos, from.size(), to);
  return text;
}

/// One server for the whole table: each case leaves the stock as it was.
class StockBadInput : public ::testing::TestWithParam<bad_input_case> {
protected:
  static void SetUpTestSuite() {
    auto dsn = mt::superuser_dsn();
    if (!dsn)
      return;
    try {
      env_ = std::make_unique<server_env>(*dsn);
      env_->start();
      sku_ = unique_sku("bad");
      auto admin = env_->token("admin");
      auto res = env_->http().put(
        "/v1/products/" + sku_,
        {{"name", "Bad input target"}, {"price_minor", 500}, {"currency", "EUR"}}, admin);
      if (res.status != 200 && res.status != 201)
        throw std::runtime_error("PUT product: " + res.describe());
      res = env_->http().put(stock_path(sku_), {{"on_hand", 10}}, admin);
      if (res.status != 200)
        throw std::runtime_error("PUT stock: " + res.describe());
      baseline_ = parse_stock(env_->http().get(stock_path(sku_)));
      if (!baseline_)
        throw std::runtime_error("GET stock failed");
    } catch (const std::exception& e) {
      setup_error_ = e.what();
      if (env_ && env_->has_server())
        setup_error_ += "\n" + env_->server().log_tail(4096);
    }
  }

  static void TearDownTestSuite() {
    env_.reset();
  }

  void SetUp() override {
    if (!mt::superuser_dsn())
      GTEST_SKIP() << mt::test_database_url_env << " is unset";
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    ASSERT_TRUE(env_ && env_->has_server());
    ASSERT_GT(env_->server().pid(), 0) << "the server died in an earlier case";
  }

  void TearDown() override {
    if (env_ && env_->has_server())
      env_->server().dump_log_if_failed();
  }

  std::string token_for(who w) const {
    switch (w) {
    case who::nobody:
      return {};
    case who::admin:
      return env_->token("admin");
    case who::service:
      return env_->token("service");
    case who::customer:
      return env_->token("customer");
    case who::bad_signature:
      return mt::mint_token(env_->secret() + "-not", "e2e-service", "service");
    case who::expired:
      return env_->token("service", -1h);
    case who::garbage:
      return "not.a.jwt";
    }
    return {};
  }

  static std::unique_ptr<server_env> env_;
  static std::string sku_;
  static std::optional<stock_state> baseline_;
  static std::string setup_error_;
};

std::unique_ptr<server_env> StockBadInput::env_;
std::string StockBadInput::sku_;
std::optional<stock_state> StockBadInput::baseline_;
std::string StockBadInput::setup_error_;

TEST_P(StockBadInput, BadInputGetsProblems) {
  const auto& c = GetParam();
  mt::http_request req;
  req.method = c.method;
  req.target
    = replace_all(replace_all(c.target, "{sku}", sku_), "{unknown}", unique_sku("unknown"));
  if (c.body == "{2MiB}")
    req.body = json{{"reservation_id", "bad-big"},
                    {"quantity", 1},
                    {"padding", std::string(2u << 20, 'x')}}
                 .dump();
  else
    req.body = c.body;
  if (!req.body.empty())
    req.with_header("Content-Type", "application/json");
  req.bearer(token_for(c.token));

  auto res = env_->http().try_request(req);
  if (res.status == 0) {
    // Tell a crash (reported by is_running()) from a dropped connection.
    eventually([&] { return !env_->server().is_running(); }, 2s);
    FAIL() << "no response: " << res.body;
  }
  expect_problem(res, c.status, c.code);
  if (c.status == 405) {
    EXPECT_FALSE(res.header("allow").empty()) << "405 must say what is allowed (RFC 9110)";
  }

  // Nothing changed, and the server is still up.
  auto now = parse_stock(env_->http().try_request({.target = stock_path(sku_)}));
  EXPECT_EQ(now, baseline_);
  EXPECT_EQ(env_->http().try_request({.target = "/healthz"}).status, 200);
  EXPECT_TRUE(env_->server().is_running());
}

const std::string valid_reservation = R"({"reservation_id":"bad-ok","quantity":1,"ttl_s":60})";

INSTANTIATE_TEST_SUITE_P(
  Table, StockBadInput,
  ::testing::Values(
    bad_input_case{"MalformedJson", "POST", "/v1/stock/{sku}/reservations",
                   R"({"reservation_id": "bad-1", "quantity": )", who::service, 400,
                   "invalid_request"},
    bad_input_case{"BodyNotAnObject", "POST", "/v1/stock/{sku}/reservations", "[1, 2, 3]",
                   who::service, 400, "invalid_request"},
    bad_input_case{"EmptyBody", "POST", "/v1/stock/{sku}/reservations", "", who::service, 400,
                   "invalid_request"},
    bad_input_case{"QuantityAsString", "POST", "/v1/stock/{sku}/reservations",
                   R"({"reservation_id":"bad-2","quantity":"3"})", who::service, 400,
                   "invalid_request"},
    bad_input_case{"ZeroQuantity", "POST", "/v1/stock/{sku}/reservations",
                   R"({"reservation_id":"bad-3","quantity":0})", who::service, 400,
                   "invalid_request"},
    bad_input_case{"NegativeQuantity", "POST", "/v1/stock/{sku}/reservations",
                   R"({"reservation_id":"bad-4","quantity":-1})", who::service, 400,
                   "invalid_request"},
    bad_input_case{"AbsurdQuantity", "POST", "/v1/stock/{sku}/reservations",
                   R"({"reservation_id":"bad-5","quantity":1000000000000})", who::service, 400,
                   "invalid_request"},
    bad_input_case{"QuantityBeyondInt64", "POST", "/v1/stock/{sku}/reservations",
                   R"({"reservation_id":"bad-6","quantity":1e30})", who::service, 400,
                   "invalid_request"},
    bad_input_case{"FractionalQuantity", "POST", "/v1/stock/{sku}/reservations",
                   R"({"reservation_id":"bad-7","quantity":1.5})", who::service, 400,
                   "invalid_request"},
    bad_input_case{"MissingReservationId", "POST", "/v1/stock/{sku}/reservations",
                   R"({"quantity":1})", who::service, 400, "invalid_request"},
    bad_input_case{"EmptyReservationId", "POST", "/v1/stock/{sku}/reservations",
                   R"({"reservation_id":"","quantity":1})", who::service, 400, "invalid_request"},
    bad_input_case{"NegativeTtl", "POST", "/v1/stock/{sku}/reservations",
                   R"({"reservation_id":"bad-8","quantity":1,"ttl_s":-5})", who::service, 400,
                   "invalid_request"},
    bad_input_case{"NegativeOnHand", "PUT", "/v1/stock/{sku}", R"({"on_hand":-1})", who::admin, 400,
                   "invalid_request"},
    bad_input_case{"DeltaAsString", "POST", "/v1/stock/{sku}/adjustments",
                   R"({"delta":"x","reason":"typo"})", who::admin, 400, "invalid_request"},
    bad_input_case{"StockOfUnknownProduct", "PUT", "/v1/stock/{unknown}", R"({"on_hand":5})",
                   who::admin, 404, "not_found"},
    bad_input_case{"UnknownProduct", "GET", "/v1/products/{unknown}", "", who::nobody, 404,
                   "not_found"},
    bad_input_case{"CommitUnknownReservation", "POST",
                   "/v1/stock/{sku}/reservations/no-such-hold/commit", "", who::service, 404,
                   "not_found"},
    bad_input_case{"MissingToken", "POST", "/v1/stock/{sku}/reservations", valid_reservation,
                   who::nobody, 401, "unauthorized"},
    bad_input_case{"BadSignature", "POST", "/v1/stock/{sku}/reservations", valid_reservation,
                   who::bad_signature, 401, "unauthorized"},
    bad_input_case{"ExpiredToken", "POST", "/v1/stock/{sku}/reservations", valid_reservation,
                   who::expired, 401, "unauthorized"},
    bad_input_case{"GarbageToken", "POST", "/v1/stock/{sku}/reservations", valid_reservation,
                   who::garbage, 401, "unauthorized"},
    bad_input_case{"CustomerReserves", "POST", "/v1/stock/{sku}/reservations", valid_reservation,
                   who::customer, 403, "forbidden"},
    bad_input_case{"CustomerSetsStock", "PUT", "/v1/stock/{sku}", R"({"on_hand":999})",
                   who::customer, 403, "forbidden"},
    bad_input_case{"ServiceSetsStock", "PUT", "/v1/stock/{sku}", R"({"on_hand":999})", who::service,
                   403, "forbidden"},
    bad_input_case{"OversizeBody", "POST", "/v1/stock/{sku}/reservations", "{2MiB}", who::service,
                   413, "payload_too_large"},
    bad_input_case{"UnknownRoute", "GET", "/v1/no-such-route", "", who::nobody, 404, "not_found"},
    bad_input_case{"WrongMethod", "PATCH", "/v1/stock/{sku}", R"({"on_hand":1})", who::admin, 405,
                   ""}),
  [](const ::testing::TestParamInfo<bad_input_case>& info) { return info.param.name; });

} // namespace
