// The database goes away under load: the real `mercato` binary on the private PostgreSQL of
// tools/dev, which this test stops and starts again (MERCATO_TEST_PG_CTL and
// MERCATO_TEST_PG_DATA_DIR, set by `tools/dev test`; the ctest `outage` runs it alone, since
// every other test shares that PostgreSQL).

#include "tests/support/e2e_env.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_db.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace mt = mercato::test;
using json = nlohmann::json;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

using mt::pg_ctl;

class OutageE2E : public ::testing::Test {
protected:
  void SetUp() override {
    auto dsn = mt::superuser_dsn();
    if (!dsn)
      GTEST_SKIP() << mt::test_database_url_env << " is unset";
    // Not skipped: run through `tools/dev test`, which sets both.
    ASSERT_TRUE(mt::pg_ctl_available())
      << "MERCATO_TEST_PG_CTL and MERCATO_TEST_PG_DATA_DIR are unset: run `tools/dev test`";
    try {
      env_ = std::make_unique<mt::server_env>(*dsn);
      env_->start();
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
    admin_ = env_->token("admin");
    service_ = env_->token("service");
  }

  void TearDown() override {
    // Whatever happened, the other suites need their database back.
    if (frozen_)
      pg_ctl("thaw");
    if (stopped_)
      pg_ctl("start");
    env_.reset();
  }

  void stock_item(const std::string& sku, int64_t on_hand) {
    auto& c = env_->http();
    auto p = c.put("/v1/products/" + sku,
                   {{"name", "Product " + sku},
                    {"description", "made by the outage test"},
                    {"category", "e2e"},
                    {"price_minor", 100},
                    {"currency", "USD"}},
                   admin_);
    ASSERT_TRUE(p.status == 200 || p.status == 201) << p.describe();
    auto s = c.put("/v1/stock/" + sku, {{"on_hand", on_hand}}, admin_);
    ASSERT_EQ(s.status, 200) << s.describe();
  }

  std::unique_ptr<mt::server_env> env_;
  std::string admin_;
  std::string service_;
  bool stopped_ = false;
  bool frozen_ = false;
};

struct attempt {
  std::string sku;
  std::string id;
  clock_type::time_point sent;
  clock_type::time_point answered;
  mt::http_response res;
};

// PostgreSQL stopped for 10 s under a steady reservation load: the node stays up, every write
// is answered at once (201 before and after, 503 with Retry-After while the database is away),
// reads of live state keep working, service is back within 2 s of the database, and every
// acknowledged reservation is still there.
TEST_F(OutageE2E, ADatabaseStoppedForTenSecondsUnderLoadLosesNothingAcknowledged) {
  const std::string tag = "out-" + std::to_string(::getpid()) + "-";
  std::vector<std::string> skus;
  for (int i = 0; i < 4; ++i) {
    skus.push_back(tag + std::to_string(i));
    ASSERT_NO_FATAL_FAILURE(stock_item(skus.back(), 1'000'000));
  }
  const auto quiet = tag + "quiet"; // read only, so it stays live through the outage
  ASSERT_NO_FATAL_FAILURE(stock_item(quiet, 7));
  ASSERT_EQ(env_->http().get("/v1/stock/" + quiet).status, 200);

  std::atomic<bool> stop{false};
  std::mutex mtx;
  std::vector<attempt> attempts;
  std::vector<std::thread> load;
  for (int w = 0; w < 3; ++w)
    load.emplace_back([&, w] {
      mt::http_client c{env_->server().host(), env_->server().port(), 5s};
      for (int n = 0; !stop; ++n) {
        attempt a;
        a.sku = skus[static_cast<size_t>(n + w) % skus.size()];
        a.id = "r" + std::to_string(w) + "-" + std::to_string(n);
        a.sent = clock_type::now();
        a.res = c.try_request(
          mt::json_request("POST", "/v1/stock/" + a.sku + "/reservations",
                           {{"reservation_id", a.id}, {"quantity", 1}, {"ttl_s", 3600}}, service_));
        a.answered = clock_type::now();
        if (a.res.status != 201)
          std::this_thread::sleep_for(20ms); // a client backing off a little
        std::lock_guard<std::mutex> guard{mtx};
        attempts.push_back(std::move(a));
      }
    });
  auto acknowledged = [&] {
    std::lock_guard<std::mutex> guard{mtx};
    size_t n = 0;
    for (const auto& a : attempts)
      n += a.res.status == 201 ? 1 : 0;
    return n;
  };
  ASSERT_TRUE(mt::eventually([&] { return acknowledged() >= 200; }, 30s, 10ms));

  auto down = pg_ctl("stop");
  auto down_at = clock_type::now();
  stopped_ = down.exit_code == 0;
  ASSERT_EQ(down.exit_code, 0) << down.describe();
  // While it is away: reads of live state are served.
  mt::http_client reader{env_->server().host(), env_->server().port(), 5s};
  int reads = 0;
  int reads_ok = 0;
  while (clock_type::now() < down_at + 10s) {
    auto r = reader.try_request(mt::http_request{"GET", "/v1/stock/" + quiet});
    ++reads;
    reads_ok += r.status == 200 && r.json().value("on_hand", -1) == 7 ? 1 : 0;
    std::this_thread::sleep_for(100ms);
  }
  auto start_asked = clock_type::now();
  auto up = pg_ctl("start");
  auto up_at = clock_type::now();
  stopped_ = up.exit_code != 0;
  ASSERT_EQ(up.exit_code, 0) << up.describe();
  std::this_thread::sleep_for(5s);
  stop = true;
  for (auto& t : load)
    t.join();
  EXPECT_EQ(reads_ok, reads) << "reads of a live stock item during the outage";
  EXPECT_TRUE(env_->server().is_running()) << "the node crashed";

  auto ms = [](clock_type::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  int during = 0;
  int slow = 0;
  int bad = 0;
  std::optional<clock_type::time_point> first_after;
  int failed_late = 0;
  std::string first_bad;
  std::string first_slow;
  std::string first_late;
  for (const auto& a : attempts) {
    auto st = a.res.status;
    if (st != 201) {
      bool problem = st == 503 && a.res.header("retry-after") == "1"
                     && a.res.json().value("code", "") == "unavailable";
      if (!problem && bad++ == 0)
        first_bad = a.id + ": " + a.res.describe();
      if (ms(a.answered - a.sent) > 1000 && slow++ == 0)
        first_slow = a.id + " took " + std::to_string(ms(a.answered - a.sent)) + " ms";
    }
    if (a.sent > down_at && a.answered < start_asked) {
      ++during;
      EXPECT_NE(st, 201) << a.id << " was acknowledged with the database stopped";
    }
    if (st == 201 && a.sent >= up_at && (!first_after || a.answered < *first_after))
      first_after = a.answered;
    if (a.sent >= up_at + 2s && st != 201 && failed_late++ == 0)
      first_late = a.id + ": " + a.res.describe();
  }
  EXPECT_EQ(bad, 0) << "answers other than 201 or 503 unavailable with Retry-After: 1, first "
                    << first_bad;
  EXPECT_EQ(slow, 0) << "refusals slower than 1 s, first " << first_slow;
  EXPECT_GE(during, 20) << "too few writes while the database was away to tell anything";
  ASSERT_TRUE(first_after.has_value()) << "nothing acknowledged after the database came back";
  EXPECT_LE(ms(*first_after - up_at), 2000) << "service resumed too late";
  EXPECT_EQ(failed_late, 0) << "writes still failing 2 s after the database came back, first "
                            << first_late;

  // Every acknowledged hold survived: replaying it is idempotent (same hold), and each SKU
  // holds at least as many units as were acknowledged on it, after a restart too.
  std::map<std::string, int64_t> held;
  for (const auto& a : attempts)
    if (a.res.status == 201)
      ++held[a.sku];
  ASSERT_NO_THROW(env_->restart());
  for (const auto& sku : skus) {
    auto r = env_->http().get("/v1/stock/" + sku);
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_GE(r.json().value("reserved", int64_t{-1}), held[sku]) << sku << ": a hold was lost";
  }
  int mismatches = 0;
  for (const auto& a : attempts) {
    if (a.res.status != 201)
      continue;
    auto again = env_->http().request(
      mt::json_request("POST", "/v1/stock/" + a.sku + "/reservations",
                       {{"reservation_id", a.id}, {"quantity", 1}, {"ttl_s", 3600}}, service_));
    bool same = again.status == 201
                && again.json().value("expires_at", "") == a.res.json().value("expires_at", "");
    if (!same && mismatches++ < 5)
      ADD_FAILURE() << a.id << " acknowledged " << a.res.body << ", replayed " << again.describe();
  }
  EXPECT_EQ(mismatches, 0);
  std::cout << "[ outage ] " << attempts.size() << " reservations, " << acknowledged()
            << " acknowledged, " << during << " during the outage; first acknowledged "
            << ms(*first_after - up_at) << " ms after the database was back\n";
}

// PostgreSQL frozen (SIGSTOP): it keeps its connections open and answers nothing, so neither its
// statement_timeout nor TCP liveness checks can end a wait. A write is answered 503 once the
// stall timeout cuts the journal's connection; what is live is still read; once the database
// thaws, writes succeed again and nothing acknowledged is lost.
TEST_F(OutageE2E, AFrozenDatabaseCostsAWriteItsStallTimeoutAndNothingAcknowledged) {
  mt::server_options opts;
  opts.extra_args = {"--db-stall-timeout-ms", "1000"};
  env_->start(opts);
  const std::string tag = "frz-" + std::to_string(::getpid()) + "-";
  ASSERT_NO_FATAL_FAILURE(stock_item(tag + "a", 10));
  ASSERT_NO_FATAL_FAILURE(stock_item(tag + "b", 20));
  auto& c = env_->http();
  ASSERT_EQ(c.get("/v1/stock/" + tag + "b").status, 200);

  auto freeze = pg_ctl("freeze");
  ASSERT_EQ(freeze.exit_code, 0) << freeze.describe();
  frozen_ = true;
  // A reservation of a live SKU: only its append needs the database.
  auto w = c.post("/v1/stock/" + tag + "a/reservations",
                  {{"reservation_id", tag + "r1"}, {"quantity", 1}}, admin_);
  EXPECT_EQ(w.status, 503) << w.describe();
  EXPECT_TRUE(mt::eventually(
    [&] {
      return env_->server().log_tail(1 << 20).find(
               "journal: the database did not answer within 1000 ms; connection cut")
             != std::string::npos;
    },
    15s))
    << env_->server().log_tail();
  auto live = c.get("/v1/stock/" + tag + "b");
  ASSERT_EQ(live.status, 200) << live.describe();
  EXPECT_EQ(live.json().value("on_hand", -1), 20);

  auto thaw = pg_ctl("thaw");
  ASSERT_EQ(thaw.exit_code, 0) << thaw.describe();
  frozen_ = false;
  EXPECT_TRUE(mt::eventually(
    [&] {
      return c.put("/v1/stock/" + tag + "a", {{"on_hand", 12}}, admin_).status == 200;
    },
    20s));
  auto a = c.get("/v1/stock/" + tag + "a").json();
  EXPECT_EQ(a.value("on_hand", -1), 12) << a.dump();
  // The reservation answered 503 may or may not have become durable (its commit was cut); it
  // is never half there: held or not, the figures add up.
  EXPECT_EQ(a.value("available", -1) + a.value("reserved", -1), 12) << a.dump();
  EXPECT_EQ(c.get("/v1/stock/" + tag + "b").json().value("on_hand", -1), 20);
}

} // namespace
