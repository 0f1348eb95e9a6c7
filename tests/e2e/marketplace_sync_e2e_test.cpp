// End-to-end tests of the marketplace pull sync: the real `mercato` binary, configured with a
// shops file, pulls from fake TikTok Shop, Shopee and Lazada seller APIs on loopback
// (tests/support/fake_marketplace.*) that page, rate-limit, fail and hang when told to.

#include "runtime/util/crypto.hpp"
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
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace mt = mercato::test;
using json = nlohmann::json;
using mt::eventually;
using namespace std::chrono_literals;

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string day_of(int64_t unix_s) {
  return mercato::util::format_utc(unix_s, "%Y-%m-%d");
}

std::string lazada_time(int64_t unix_s) {
  return mercato::util::format_utc(unix_s, "%Y-%m-%d %H:%M:%S +0000");
}

// What the pull sends Lazada as update_after.
std::string iso8601(int64_t unix_s) {
  return mercato::util::format_utc(unix_s, "%Y-%m-%dT%H:%M:%S+00:00");
}

json fixture_record(const std::string& platform, size_t index) {
  std::ifstream in{std::string{MERCATO_FIXTURES_DIR} + "/marketplaces/" + platform + ".json"};
  return json::parse(in).at(index);
}

// Native order number `i` of `platform`, created an hour before `update_s`: a pending TikTok
// order, a completed Shopee one (with its escrow income), a delivered Lazada one.
json native_order(const std::string& platform, int i, int64_t update_s) {
  if (platform == "tiktok") {
    auto o = fixture_record("tiktok", 2);
    o["id"] = std::to_string(880000000000 + i);
    o["create_time"] = update_s - 3600;
    o["update_time"] = update_s;
    return o;
  }
  if (platform == "shopee") {
    auto o = fixture_record("shopee", 0);
    o["order_sn"] = "S" + std::to_string(700000 + i);
    o["create_time"] = update_s - 3600;
    o["update_time"] = update_s;
    return o;
  }
  auto o = fixture_record("lazada", 0);
  o["order_id"] = 990000000 + i;
  o["order_number"] = 990000000 + i;
  o["created_at"] = lazada_time(update_s - 3600);
  o["updated_at"] = lazada_time(update_s);
  return o;
}

// The id Mercato gives a marketplace order with a short plain code.
std::string order_id(const std::string& platform, const json& o) {
  if (platform == "tiktok")
    return "tiktok-" + o["id"].get<std::string>();
  if (platform == "shopee")
    return "shopee-" + o["order_sn"].get<std::string>();
  return "lazada-" + o["order_id"].dump();
}

class MarketplaceSyncE2E : public mt::shop_test {
protected:
  void TearDown() override {
    shop_test::TearDown(); // the server first: it must not call fakes that are gone
    fakes_.clear();
    if (!shops_file_.empty())
      std::remove(shops_file_.c_str());
  }

  // A fake of `platform` holding `n` orders updated a second apart, the first at `first_s`.
  mt::fake_marketplace& fake(const std::string& platform, int n, int64_t first_s) {
    auto& f = fakes_[platform];
    f = std::make_unique<mt::fake_marketplace>(platform);
    for (int i = 0; i < n; ++i)
      f->put(native_order(platform, i, first_s + i), first_s + i);
    return *f;
  }

  // Starts the server with a shops file naming every fake (pages of `page_size`, synced every
  // second, from `since_s`).
  void start_syncing(int page_size, int64_t since_s) {
    json shops = json::array();
    for (const auto& [platform, f] : fakes_)
      shops.push_back({{"name", platform + "-main"},
                       {"platform", platform},
                       {"base_url", f->base_url()},
                       {"app_key", mt::fake_marketplace::app_key},
                       {"app_secret", mt::fake_marketplace::app_secret},
                       {"access_token", mt::fake_marketplace::access_token},
                       {"shop_id", mt::fake_marketplace::shop_id},
                       {"currency", "MYR"},
                       {"interval_ms", 1000},
                       {"page_size", page_size},
                       {"since", since_s}});
    if (refresh_tokens_) // the fakes serve the refresh calls too
      for (auto& shop : shops) {
        shop["refresh_token"] = mt::fake_marketplace::refresh_token;
        shop["auth_url"] = fakes_[shop["platform"].get<std::string>()]->base_url();
      }
    shops_file_ = "/tmp/mercato-shops-" + std::to_string(::getpid()) + "-"
                  + std::to_string(reinterpret_cast<uintptr_t>(this)) + ".json";
    std::ofstream{shops_file_} << shops.dump(2);
    std::vector<std::string> flags{
      "--marketplace-shops-file",     shops_file_, "--marketplace-settle-ms",      "0",
      "--marketplace-backoff-min-ms", "100",       "--marketplace-backoff-max-ms", "400"};
    if (refresh_tokens_) { // info: the log shows each refresh, and must show no token
      flags.push_back("--log-level");
      flags.push_back("info");
    }
    start_server(flags);
  }

  // Events the journal holds for the orders of `platform`: {orders, events}.
  std::pair<int64_t, int64_t> journaled(const std::string& platform) {
    pqxx::connection conn{env_->dsn()};
    pqxx::read_transaction txn{conn};
    auto row = txn.exec_params1("SELECT count(DISTINCT entity_id), count(*) FROM journal "
                                "WHERE entity_kind = 'order' AND entity_id LIKE $1",
                                platform + "-%");
    return {row[0].as<int64_t>(), row[1].as<int64_t>()};
  }

  json cursor(const std::string& shop) {
    pqxx::connection conn{env_->dsn()};
    pqxx::read_transaction txn{conn};
    auto rows = txn.exec_params("SELECT synced_to, COALESCE(window_to, 0), page_token, pages "
                                "FROM marketplace_sync_cursors WHERE shop = $1",
                                shop);
    if (rows.empty())
      return nullptr;
    return {{"synced_to", rows[0][0].as<int64_t>()},
            {"window_to", rows[0][1].as<int64_t>()},
            {"page_token", rows[0][2].as<std::string>()},
            {"pages", rows[0][3].as<int64_t>()}};
  }

  // Sums a field of GET /v1/stats/daily over the days around `at` for `platform`.
  int64_t stat(const std::string& platform, const std::string& field, int64_t at) {
    auto res = http().get("/v1/stats/daily?from=" + day_of(at - 2 * 86400)
                            + "&to=" + day_of(at + 86400) + "&platform=" + platform,
                          admin_);
    EXPECT_EQ(res.status, 200) << res.describe();
    int64_t sum = 0;
    if (res.status == 200)
      for (const auto& row : res.json())
        sum += row[field].get<int64_t>();
    return sum;
  }

  std::map<std::string, std::unique_ptr<mt::fake_marketplace>> fakes_;
  std::string shops_file_;
  bool refresh_tokens_ = false; // shops name a refresh_token and the fake as auth_url
};

TEST_F(MarketplaceSyncE2E, PullsEveryOrderOnceThroughPagesARateLimitAndAFailure) {
  const int64_t first = now_s() - 86400;
  const int n = 25;
  auto& tiktok = fake("tiktok", n, first);
  auto& shopee = fake("shopee", n, first);
  auto& lazada = fake("lazada", n, first);
  tiktok.fail_next_lists(1, 500);    // the first call fails
  shopee.fail_next_lists(1, 429, 1); // the first call is rate-limited for a second
  lazada.fail_next_lists(2, 503);    // two in a row
  start_syncing(10, first - 60);
  if (HasFatalFailure())
    return;

  for (const std::string p : {"tiktok", "shopee", "lazada"}) {
    SCOPED_TRACE(p);
    EXPECT_TRUE(eventually([&] { return journaled(p).first == n; }, 60s))
      << journaled(p).first << " of " << n << " orders";
    // Imported once: one event per order, however often a page was asked for.
    EXPECT_EQ(journaled(p), std::make_pair(int64_t{n}, int64_t{n}));
    EXPECT_TRUE(eventually([&] { return stat(p, "total_orders", first) == n; }, 10s));
    for (const auto& c : fakes_[p]->calls())
      EXPECT_TRUE(c.signed_ok) << c.path;
    auto cur = cursor(p + "-main");
    ASSERT_FALSE(cur.is_null());
    EXPECT_GE(cur["synced_to"].get<int64_t>(), first + n); // past the last order's update
    EXPECT_GE(cur["pages"].get<int64_t>(), 3);
  }

  // Operators see the same cursors; nobody else does.
  auto view = http().get("/v1/admin/marketplaces/sync", admin_);
  ASSERT_EQ(view.status, 200) << view.describe();
  auto listed = view.json();
  const auto& shops = listed.at("shops");
  ASSERT_EQ(shops.size(), 3u) << shops.dump();
  for (const auto& shop : shops) {
    SCOPED_TRACE(shop.dump());
    auto platform = shop.at("platform").get<std::string>();
    EXPECT_EQ(shop.at("shop"), platform + "-main");
    EXPECT_GE(shop.at("orders").get<int64_t>(), n);
    EXPECT_GE(shop.at("pages").get<int64_t>(), 3);
    EXPECT_TRUE(shop.at("last_error").is_null()) << "the failures were retried and passed";
    // RFC 3339 text of one format compares in time order: past the last order's update.
    EXPECT_GE(shop.at("synced_to").get<std::string>(),
              mercato::util::format_rfc3339_ms((first + n) * 1000));
  }
  EXPECT_EQ(http().get("/v1/admin/marketplaces/sync", ada_).status, 403);
  auto table
    = mt::run_command({mt::mercatoctl_binary(), "sync"},
                      {{"MERCATO_URL", env_->server().base_url()}, {"MERCATO_TOKEN", admin_}},
                      {"MERCATO_URL", "MERCATO_TOKEN"});
  ASSERT_EQ(table.exit_code, 0) << table.describe();
  for (const std::string p : {"tiktok-main", "shopee-main", "lazada-main"})
    EXPECT_NE(table.out.find(p), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("SYNCED_TO"), std::string::npos) << table.out;

  // Pages in order, each asked for again after its failure, none skipped.
  auto lists = tiktok.list_calls();
  ASSERT_GE(lists.size(), 4u);
  EXPECT_EQ(lists[0].status, 500);
  EXPECT_EQ(lists[1].query.count("page_token"), 0u); // the first page again
  EXPECT_EQ(lists[2].query["page_token"], "10");
  EXPECT_EQ(lists[3].query["page_token"], "20");
  for (int i = 1; i < 4; ++i)
    EXPECT_EQ(lists[i].status, 200);
  auto sl = shopee.list_calls();
  ASSERT_GE(sl.size(), 2u);
  EXPECT_EQ(sl[0].status, 429);
  EXPECT_EQ(sl[1].query["cursor"], ""); // the same page, after the platform's Retry-After
  EXPECT_GE(sl[1].at - sl[0].at, 1s);
  auto ll = lazada.list_calls();
  ASSERT_GE(ll.size(), 5u);
  EXPECT_EQ(ll[0].status, 503);
  EXPECT_EQ(ll[1].status, 503);
  // Lazada pages by update time: each starts at the last page's newest order, past it.
  EXPECT_EQ(ll[2].query["update_after"], iso8601(first - 60));
  EXPECT_EQ(ll[2].query["offset"], "0");
  EXPECT_EQ(ll[3].query["update_after"], iso8601(first + 9));
  EXPECT_EQ(ll[3].query["offset"], "1");
  EXPECT_EQ(ll[4].query["update_after"], iso8601(first + 19));
  EXPECT_EQ(ll[4].query["offset"], "1");
  // Shopee's vouchers come from the escrow call: the discount of the fixture's order counts.
  EXPECT_EQ(stat("shopee", "total_discount_minor", first) % n, 0);
  EXPECT_GT(stat("shopee", "total_discount_minor", first), 0);

  // A cancellation on the platform reaches the order with a later sync, as a new event.
  auto changed = native_order("tiktok", 3, now_s());
  changed["status"] = "CANCELLED";
  changed["cancel_reason"] = "Buyer no longer wants the item";
  tiktok.put(changed, now_s());
  EXPECT_TRUE(eventually([&] { return stat("tiktok", "cancelled_orders", first) == 1; }, 30s));
  EXPECT_EQ(journaled("tiktok"), std::make_pair(int64_t{n}, int64_t{n + 1}));
  auto res = http().get("/v1/orders/" + order_id("tiktok", changed), admin_);
  ASSERT_EQ(res.status, 200) << res.describe();
  EXPECT_EQ(res.json()["status"], "cancelled");
}

TEST_F(MarketplaceSyncE2E, AKilledSyncResumesAtItsCursorAndImportsEveryOrderOnce) {
  const int64_t first = now_s() - 7200;
  const int n = 30;
  auto& tiktok = fake("tiktok", n, first);
  tiktok.hold_lists_after(2); // pages "" and "10" are answered; the third call hangs
  start_syncing(10, first - 60);
  if (HasFatalFailure())
    return;
  ASSERT_TRUE(eventually([&] { return tiktok.list_calls().size() == 3; }, 30s));
  // The third page is asked for only after the second is durable.
  auto before = cursor("tiktok-main");
  ASSERT_FALSE(before.is_null());
  EXPECT_EQ(before["page_token"], "20");
  EXPECT_EQ(journaled("tiktok"), std::make_pair(int64_t{20}, int64_t{20}));

  env_->server().kill9();
  tiktok.release(); // its answer goes to a dead process
  ASSERT_NO_THROW(env_->restart());

  EXPECT_TRUE(eventually([&] { return journaled("tiktok").first == n; }, 60s));
  EXPECT_EQ(journaled("tiktok"), std::make_pair(int64_t{n}, int64_t{n}));
  auto lists = tiktok.list_calls();
  ASSERT_GE(lists.size(), 4u);
  // The restarted node asks for the page it was waiting for, in the same window.
  EXPECT_EQ(lists[3].query["page_token"], "20");
  EXPECT_EQ(lists[3].body, lists[2].body);
  EXPECT_EQ(lists[3].status, 200);
  EXPECT_TRUE(eventually(
    [&] {
      auto c = cursor("tiktok-main");
      return !c.is_null() && c["synced_to"].get<int64_t>() >= first + n;
    },
    30s));
}

TEST_F(MarketplaceSyncE2E, AnOrderChangedWhileItsWindowIsPagedSkipsNoOtherOrder) {
  // Offsets would shift under a change: order 3 leaves the window after page one was read, and
  // page two at offset 10 would start at order 11, skipping order 10 for good.
  const int64_t first = now_s() - 7200;
  const int n = 30;
  auto& lazada = fake("lazada", n, first);
  lazada.hold_lists_after(1);
  start_syncing(10, first - 60);
  if (HasFatalFailure())
    return;
  ASSERT_TRUE(eventually([&] { return lazada.list_calls().size() == 2; }, 30s));
  auto changed = native_order("lazada", 3, now_s());
  changed["statuses"] = json::array({"canceled"});
  lazada.put(changed, now_s());
  lazada.release();

  EXPECT_TRUE(eventually([&] { return journaled("lazada").second == n + 1; }, 30s))
    << journaled("lazada").first << " orders, " << journaled("lazada").second << " events";
  EXPECT_EQ(journaled("lazada"), std::make_pair(int64_t{n}, int64_t{n + 1}));
  auto res = http().get("/v1/orders/" + order_id("lazada", changed), admin_);
  ASSERT_EQ(res.status, 200) << res.describe();
  EXPECT_EQ(res.json()["status"], "cancelled");
}

TEST_F(MarketplaceSyncE2E, ExpiredTokensAreRefreshedAndTheRotatedPairSurvivesAKill) {
  const int64_t first = now_s() - 7200;
  const int n = 5;
  const std::vector<std::string> platforms{"tiktok", "shopee", "lazada"};
  for (const auto& p : platforms)
    fake(p, n, first);
  refresh_tokens_ = true;
  start_syncing(10, first - 60);
  if (HasFatalFailure())
    return;

  // The configured access token's expiry is unknown: the first page waits for a refresh.
  for (const auto& p : platforms) {
    SCOPED_TRACE(p);
    EXPECT_TRUE(eventually([&] { return journaled(p).first == n; }, 60s))
      << journaled(p).first << " of " << n << " orders";
    EXPECT_GE(fakes_[p]->refreshes(), 1);
  }

  // The platforms expire the access token in use; newer orders come only after a refresh.
  std::map<std::string, int> refreshes;
  for (const auto& p : platforms) {
    auto& f = *fakes_[p];
    refreshes[p] = f.refreshes();
    f.expire_access_token();
    // A second ahead: no window can close on a part of them while they are put.
    const int64_t at = now_s() + 1;
    for (int i = n; i < 2 * n; ++i)
      f.put(native_order(p, i, at), at);
  }
  for (const auto& p : platforms) {
    SCOPED_TRACE(p);
    EXPECT_TRUE(eventually([&] { return journaled(p).first == 2 * n; }, 60s))
      << journaled(p).first << " of " << 2 * n << " orders";
    EXPECT_GT(fakes_[p]->refreshes(), refreshes[p]);
    size_t refused = 0;
    for (const auto& c : fakes_[p]->calls()) {
      EXPECT_TRUE(c.signed_ok) << c.path;
      refused += c.token_ok ? 0 : 1;
    }
    EXPECT_GE(refused, 1u) << "the platform's auth error came first";
    // The shops file's refresh token is spent now.
    EXPECT_NE(fakes_[p]->current_refresh_token(), mt::fake_marketplace::refresh_token);
  }

  // Killed, and restarted with the same shops file: only the stored pair still works. The
  // access token expires while the node is down, so the stored refresh token must work too.
  env_->server().kill9();
  for (const auto& p : platforms) {
    auto& f = *fakes_[p];
    refreshes[p] = f.refreshes();
    f.expire_access_token();
    const int64_t at = now_s() + 1;
    for (int i = 2 * n; i < 3 * n; ++i)
      f.put(native_order(p, i, at), at);
  }
  ASSERT_NO_THROW(env_->restart());
  for (const auto& p : platforms) {
    SCOPED_TRACE(p);
    EXPECT_TRUE(eventually([&] { return journaled(p).first == 3 * n; }, 60s))
      << journaled(p).first << " of " << 3 * n << " orders";
    EXPECT_EQ(journaled(p), std::make_pair(int64_t{3 * n}, int64_t{3 * n})); // each once
    EXPECT_GT(fakes_[p]->refreshes(), refreshes[p]);
    for (const auto& c : fakes_[p]->refresh_calls())
      EXPECT_TRUE(c.token_ok) << "a refresh presented a spent refresh token";
  }

  // The seller authorises the app again and the operator puts the new refresh token in the
  // shops file: it overrides the stored pair, whose tokens the platform no longer takes.
  env_->server().kill9();
  std::map<std::string, std::string> reauthorised;
  {
    auto shops = json::parse(std::ifstream{shops_file_});
    for (auto& shop : shops) {
      const auto platform = shop.at("platform").get<std::string>();
      auto& f = *fakes_[platform];
      reauthorised[platform] = f.reauthorise();
      shop["refresh_token"] = reauthorised[platform];
      const int64_t at = now_s() + 1;
      for (int i = 3 * n; i < 4 * n; ++i)
        f.put(native_order(platform, i, at), at);
    }
    std::ofstream{shops_file_} << shops.dump(2);
  }
  ASSERT_NO_THROW(env_->restart());
  for (const auto& p : platforms) {
    SCOPED_TRACE(p);
    EXPECT_TRUE(eventually([&] { return journaled(p).first == 4 * n; }, 60s))
      << journaled(p).first << " of " << 4 * n << " orders";
    EXPECT_EQ(journaled(p), std::make_pair(int64_t{4 * n}, int64_t{4 * n}));
    auto refreshed = fakes_[p]->refresh_calls();
    ASSERT_FALSE(refreshed.empty());
    EXPECT_TRUE(refreshed.back().token_ok);
  }

  // Stored as the pair in use, with the hash of the configured token it descends from; never
  // shown or logged.
  std::vector<std::string> secrets;
  for (const auto& p : platforms)
    for (auto& t : fakes_[p]->issued_tokens())
      secrets.push_back(std::move(t));
  {
    pqxx::connection conn{env_->dsn()};
    pqxx::read_transaction txn{conn};
    auto rows = txn.exec("SELECT shop, platform, COALESCE(last_error, ''), refresh_token, "
                         "token_seed FROM marketplace_sync_cursors ORDER BY shop");
    ASSERT_EQ(rows.size(), 3u);
    for (const auto& row : rows) {
      SCOPED_TRACE(row[0].as<std::string>());
      EXPECT_EQ(row[3].as<std::string>(),
                fakes_[row[1].as<std::string>()]->current_refresh_token());
      EXPECT_EQ(row[4].as<std::string>(),
                mercato::util::sha256_hex(reauthorised[row[1].as<std::string>()]));
      for (const auto& t : secrets)
        EXPECT_EQ(row[2].as<std::string>().find(t), std::string::npos) << t;
    }
  }
  auto view = http().get("/v1/admin/marketplaces/sync", admin_);
  ASSERT_EQ(view.status, 200) << view.describe();
  EXPECT_EQ(view.json().at("shops").size(), 3u) << view.body;
  std::ifstream log_file{env_->server().log_path()};
  std::stringstream log;
  log << log_file.rdbuf();
  EXPECT_NE(log.str().find("refreshes its access token"), std::string::npos);
  for (const auto& t : secrets) {
    EXPECT_EQ(view.body.find(t), std::string::npos) << t;
    EXPECT_EQ(log.str().find(t), std::string::npos) << t;
  }
}

} // namespace
