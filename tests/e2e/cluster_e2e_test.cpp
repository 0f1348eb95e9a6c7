// Cluster tests: three real `mercato` processes on 127.0.0.1 sharing one PostgreSQL database,
// each with its own HTTP and remoting port. Run by ctest as `cluster` (DESIGN.md "Cluster").

#include "tests/support/e2e_env.hpp"
#include "tests/support/fake_marketplace.hpp"
#include "tests/support/shop_fixture.hpp"
#include "tests/support/ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace mt = mercato::test;
using json = nlohmann::json;
using namespace std::chrono_literals;

// The up members of an admin:cluster description.
int up_members(const json& description) {
  int n = 0;
  for (const auto& m : description.at("members"))
    n += m.at("status") == "up" ? 1 : 0;
  return n;
}

class ClusterE2E : public ::testing::Test {
protected:
  void SetUp() override {
    auto dsn = mt::superuser_dsn();
    if (!dsn)
      GTEST_SKIP() << mt::test_database_url_env << " is unset";
    db_ = std::make_unique<mt::test_database>(*dsn);
    secret_ = mt::random_secret();
    admin_ = mt::mint_token(secret_, "e2e-admin", "admin", 1h);
  }

  void TearDown() override {
    // Whatever happened, the other tests need their database back.
    if (pg_stopped_)
      mt::pg_ctl("start");
    clients_.clear();
    nodes_.clear(); // each stops its server (SIGTERM), or records that it died on its own
    db_.reset();
  }

  /// Starts node `i` (appends it) with `args` besides the cluster's, and returns its index.
  size_t start_node(const std::vector<std::string>& args = {}) {
    mt::server_options opts;
    opts.database_url = db_->dsn();
    opts.jwt_secret = secret_;
    opts.extra_args = {"--cluster", "--node-id=node-" + std::to_string(nodes_.size())};
    opts.extra_args.insert(opts.extra_args.end(), args.begin(), args.end());
    // MERCATO_CLUSTER_TEST_LOG_LEVEL=debug keeps every node's full story for a failure.
    if (const char* level = std::getenv("MERCATO_CLUSTER_TEST_LOG_LEVEL"))
      opts.log_level = level;
    nodes_.push_back(std::make_unique<mt::server_process>(std::move(opts)));
    clients_.push_back(
      std::make_unique<mt::http_client>(nodes_.back()->host(), nodes_.back()->port()));
    return nodes_.size() - 1;
  }

  mt::http_client& http(size_t i) {
    return *clients_.at(i);
  }

  json cluster_view(size_t i) {
    auto r = http(i).try_request(mt::http_request{"GET", "/v1/admin/cluster"}.bearer(admin_));
    if (r.status != 200)
      return json{};
    return r.json();
  }

  /// Shards per up member (by node id), as node `i` sees them.
  std::map<std::string, int> shards_by_node(size_t i) {
    std::map<std::string, int> out;
    auto v = cluster_view(i);
    if (!v.is_object())
      return out;
    for (const auto& m : v["members"])
      if (m.value("status", "") == "up")
        out[m.value("node_id", "")] = m.value("shards", 0);
    return out;
  }

  /// Waits until `n` members are up and every shard has an up owner, each member its share of the
  /// 256 shards within 10 % (the bounded-load rendezvous targets keep them within one shard).
  bool wait_for_balance(size_t n, std::chrono::milliseconds timeout = 60s) {
    return mt::eventually(
      [&] {
        auto s = shards_by_node(0);
        if (s.size() != n)
          return false;
        int total = 0;
        auto share = 256.0 / static_cast<double>(n);
        for (const auto& [node, shards] : s) {
          total += shards;
          if (std::abs(shards - share) > 0.1 * share)
            return false;
        }
        return total == 256;
      },
      timeout, 100ms);
  }

  /// Creates product `sku` (stock needs its product), through node `i`.
  void add_product(size_t i, const std::string& sku) {
    auto r
      = http(i).put("/v1/products/" + sku,
                    {{"name", "Item " + sku}, {"price_minor", 1000}, {"currency", "USD"}}, admin_);
    ASSERT_TRUE(r.status == 200 || r.status == 201) << r.describe();
  }

  /// A stock item (product and `on_hand` units, set through node 0) that node `owner` serves:
  /// the first of "<prefix>0", "<prefix>1", ... whose shard it owns; "" if none of 200.
  std::string stock_owned_by(size_t owner, const std::string& prefix, int on_hand) {
    for (int k = 0; k < 200; ++k) {
      auto sku = prefix + std::to_string(k);
      add_product(0, sku);
      auto r = http(0).put("/v1/stock/" + sku, {{"on_hand", on_hand}}, admin_);
      EXPECT_EQ(r.status, 200) << r.describe();
      if (live_stock(owner).count(sku) > 0)
        return sku;
    }
    return "";
  }

  /// The first column of the first row of `sql` (one text parameter), if any row.
  std::optional<int64_t> journal_ms(const std::string& sql, const std::string& param) {
    pqxx::connection conn{db_->dsn()};
    pqxx::nontransaction txn{conn};
    auto rows = txn.exec_params(sql, param);
    if (rows.empty() || rows[0][0].is_null())
      return std::nullopt;
    return rows[0][0].as<int64_t>();
  }

  /// The stock keys node `i` has live; with `node`, the keys that node has, as node `i` lists
  /// them (`limit` a page).
  std::set<std::string> live_stock(size_t i, const std::string& node = {}, int limit = 1000) {
    std::set<std::string> keys;
    std::string cursor;
    for (int pages = 0; pages < 50; ++pages) {
      auto target = "/v1/admin/actors?kind=stock&limit=" + std::to_string(limit)
                    + (node.empty() ? std::string{} : "&node=" + node)
                    + (cursor.empty() ? std::string{} : "&cursor=" + cursor);
      auto r = http(i).get(target, admin_);
      EXPECT_EQ(r.status, 200) << r.describe();
      if (r.status != 200)
        return keys;
      auto body = r.json();
      for (const auto& item : body["items"]) {
        keys.insert(item.value("key", ""));
        if (!node.empty()) {
          EXPECT_EQ(item.value("node", ""), node) << item.dump();
        }
      }
      if (!body["next_cursor"].is_string())
        return keys;
      cursor = body["next_cursor"].get<std::string>();
    }
    ADD_FAILURE() << "more than 50 pages";
    return keys;
  }

  /// Incarnation by node id of the up members, as node `i` sees them.
  std::map<std::string, int64_t> up_incarnations(size_t i) {
    std::map<std::string, int64_t> out;
    auto v = cluster_view(i);
    if (!v.is_object())
      return out;
    for (const auto& m : v["members"])
      if (m.value("status", "") == "up")
        out[m.value("node_id", "")] = m.value("incarnation", int64_t{-1});
    return out;
  }

  bool pg_stopped_ = false;
  std::unique_ptr<mt::test_database> db_;
  std::string secret_;
  std::string admin_;
  std::vector<std::unique_ptr<mt::server_process>> nodes_;
  std::vector<std::unique_ptr<mt::http_client>> clients_;
};

TEST_F(ClusterE2E, ThreeNodesServeEveryKeyFromExactlyOneNode) {
  for (int i = 0; i < 3; ++i)
    start_node();
  ASSERT_TRUE(wait_for_balance(3)) << cluster_view(0).dump();
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(http(i).get("/readyz").status, 200);

  std::mt19937 rng{20261202};
  std::uniform_int_distribution<size_t> any_node{0, 2};
  constexpr int keys = 1000;
  for (int k = 0; k < keys; ++k) {
    auto sku = "cl-" + std::to_string(k);
    add_product(any_node(rng), sku);
    auto r = http(any_node(rng)).put("/v1/stock/" + sku, {{"on_hand", k}}, admin_);
    ASSERT_EQ(r.status, 200) << sku << ": " << r.describe();
  }
  for (int k = 0; k < keys; ++k) {
    auto sku = "cl-" + std::to_string(k);
    auto r = http(any_node(rng)).get("/v1/stock/" + sku, admin_);
    ASSERT_EQ(r.status, 200) << sku << ": " << r.describe();
    EXPECT_EQ(r.json().value("on_hand", -1), k) << sku;
  }
  std::map<std::string, int> where;
  size_t total = 0;
  for (size_t i = 0; i < 3; ++i) {
    auto live = live_stock(i);
    EXPECT_FALSE(live.empty()) << "node " << i << " serves no key";
    total += live.size();
    for (const auto& k : live)
      ++where[k];
  }
  EXPECT_EQ(where.size(), static_cast<size_t>(keys));
  EXPECT_EQ(total, static_cast<size_t>(keys)) << "a key is live on two nodes";
  for (const auto& [key, n] : where)
    EXPECT_EQ(n, 1) << key;
  // Any node lists any member's entities (`?node=`), in pages, as that member lists its own.
  for (size_t j = 0; j < 3; ++j) {
    auto own = live_stock(j);
    for (size_t i = 0; i < 3; ++i)
      EXPECT_EQ(live_stock(i, "node-" + std::to_string(j), 97), own)
        << "node-" << j << " as node-" << i << " lists it";
  }
  EXPECT_TRUE(live_stock(0, "node-9").empty()) << "not a member";
}

TEST_F(ClusterE2E, AKilledNodesKeysAnswerFromTheSurvivorsWithNothingLost) {
  for (int i = 0; i < 3; ++i)
    start_node();
  ASSERT_TRUE(wait_for_balance(3)) << cluster_view(0).dump();
  constexpr int keys = 90;
  for (int k = 0; k < keys; ++k) {
    auto sku = "kill-" + std::to_string(k);
    add_product(0, sku);
    ASSERT_EQ(http(k % 3).put("/v1/stock/" + sku, {{"on_hand", 100 + k}}, admin_).status, 200);
  }
  // Make the victim's entities live (and acknowledged writes of its own) before it dies.
  std::set<std::string> victims = live_stock(2);
  ASSERT_FALSE(victims.empty());
  // A hold of 2 s on the victim, on an item nobody asks for again: its timer dies with the node.
  auto held = stock_owned_by(2, "kill-held-", 10);
  ASSERT_FALSE(held.empty());
  auto hold = http(0).post("/v1/stock/" + held + "/reservations",
                           {{"reservation_id", "h-kill"}, {"quantity", 3}, {"ttl_s", 2}}, admin_);
  ASSERT_EQ(hold.status, 201) << hold.describe();
  auto hold_due = journal_ms("SELECT (payload->>'expires_at_ms')::bigint FROM journal WHERE "
                             "entity_kind = 'stock' AND entity_id = $1 AND event_type = "
                             "'reserved'",
                             held);
  ASSERT_TRUE(hold_due.has_value());
  // An operator follows the cluster on node-0.
  mt::ws_client::options o;
  o.token = admin_;
  mt::ws_client watch{nodes_[0]->port(), o};
  auto snap = watch.subscribe("admin:cluster");
  ASSERT_EQ(snap.at("type"), "snapshot") << snap.dump();
  EXPECT_EQ(up_members(snap.at("data")), 3) << snap.dump();
  nodes_[2]->kill9();
  auto killed_at = std::chrono::steady_clock::now();
  auto killed_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  bool all_back = mt::eventually(
    [&] {
      for (const auto& sku : victims) {
        auto r = http(0).try_request(mt::http_request{"GET", "/v1/stock/" + sku}.bearer(admin_));
        if (r.status != 200)
          return false;
      }
      return true;
    },
    20s, 50ms);
  auto failover = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - killed_at);
  ASSERT_TRUE(all_back) << cluster_view(0).dump();
  std::cout << "[ cluster ] " << victims.size() << " keys of the killed node answered from the "
            << "survivors " << failover.count() << " ms after kill -9\n";
  EXPECT_LT(failover, 10s);
  // The survivor that took the held item's shard woke it: the hold expires when it is due, or
  // at once if it was overdue by the takeover, although nobody asked for the item.
  std::optional<int64_t> expired_at;
  ASSERT_TRUE(mt::eventually(
    [&] {
      expired_at = journal_ms("SELECT (payload->>'at_ms')::bigint FROM journal WHERE "
                              "entity_kind = 'stock' AND entity_id = $1 AND event_type = "
                              "'expired'",
                              held);
      return expired_at.has_value();
    },
    20s, 50ms))
    << "the hold on the killed node never expired";
  EXPECT_GE(*expired_at, *hold_due) << "expired early";
  EXPECT_LE(*expired_at, std::max(*hold_due, killed_at_ms + failover.count()) + 2000);
  std::cout << "[ cluster ] a 2 s hold on the killed node expired " << (*expired_at - *hold_due)
            << " ms after it was due\n";
  for (int k = 0; k < keys; ++k) {
    auto sku = "kill-" + std::to_string(k);
    auto r = http(1).get("/v1/stock/" + sku, admin_);
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.json().value("on_hand", -1), 100 + k) << sku << ": an acknowledged write is lost";
  }
  auto v = cluster_view(1);
  int shards = 0;
  for (const auto& [node, n] : shards_by_node(1))
    shards += n;
  EXPECT_EQ(shards, 256) << v.dump();
  EXPECT_EQ(shards_by_node(1).count("node-2"), 0u) << v.dump();
  // ... and sees, frame after frame with no gap, node-2 leave the up members and its shards
  // land on the survivors.
  auto last = snap.at("seq").get<uint64_t>();
  for (;;) {
    auto f = watch.next();
    ASSERT_EQ(f.at("type"), "event") << f.dump();
    ASSERT_EQ(f.at("seq").get<uint64_t>(), ++last) << f.dump();
    const auto& d = f.at("data");
    int survivors_shards = 0;
    for (const auto& m : d.at("members"))
      if (m.at("status") == "up")
        survivors_shards += m.at("shards").get<int>();
    if (up_members(d) == 2 && survivors_shards == 256)
      break;
  }
  nodes_[2].reset(); // killed: nothing to stop
}

TEST_F(ClusterE2E, AFrozenOwnerIsTakenOverAndFencedAndExitsOnWaking) {
  for (int i = 0; i < 2; ++i)
    start_node();
  ASSERT_TRUE(wait_for_balance(2)) << cluster_view(0).dump();
  auto sku = stock_owned_by(1, "frozen-", 5);
  ASSERT_FALSE(sku.empty()) << "node-1 owns none of 200 keys";
  nodes_[1]->signal(SIGSTOP);
  auto frozen_at = std::chrono::steady_clock::now();
  // The survivor takes the key over once node-1's heartbeat expired, and serves writes.
  bool taken = mt::eventually(
    [&] {
      auto r = http(0).try_request(
        mt::json_request("PUT", "/v1/stock/" + sku, {{"on_hand", 7}}, admin_));
      return r.status == 200;
    },
    20s, 50ms);
  auto takeover = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - frozen_at);
  ASSERT_TRUE(taken) << cluster_view(0).dump();
  std::cout << "[ cluster ] a frozen owner's key was served by the survivor " << takeover.count()
            << " ms after SIGSTOP\n";
  EXPECT_LT(takeover, 10s);
  // The takeover came after node-1's lease expired (3 s), so by its own clock it has not renewed
  // for longer than its self-fence (2.5 s) when it wakes.
  nodes_[1]->signal(SIGCONT);
  // On waking it answers nothing successfully, then exits (its heartbeat finds it dead).
  auto r
    = http(1).try_request(mt::json_request("PUT", "/v1/stock/" + sku, {{"on_hand", 9}}, admin_));
  EXPECT_NE(r.status, 200) << r.describe();
  auto status = nodes_[1]->wait_for_exit(3s);
  ASSERT_TRUE(status.has_value()) << "the fenced node still runs";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 75)
    << mt::describe_wait_status(*status);
  auto now = http(0).get("/v1/stock/" + sku, admin_);
  ASSERT_EQ(now.status, 200);
  EXPECT_EQ(now.json().value("on_hand", -1), 7);
  // Nothing committed for that key after the takeover but the survivor's write.
  pqxx::connection conn{db_->dsn()};
  pqxx::work txn{conn};
  auto n = txn
             .exec_params("SELECT count(*) FROM journal WHERE entity_kind = 'stock' AND "
                          "entity_id = $1",
                          sku)[0][0]
             .as<int64_t>();
  EXPECT_EQ(n, 2) << "the set by node-0, the set after the takeover";
}

TEST_F(ClusterE2E, AJoinAndASigtermMoveShardsWithoutAFailedRequest) {
  for (int i = 0; i < 3; ++i)
    start_node();
  ASSERT_TRUE(wait_for_balance(3)) << cluster_view(0).dump();
  constexpr int keys = 60;
  for (int k = 0; k < keys; ++k) {
    auto sku = "move-" + std::to_string(k);
    add_product(0, sku);
    ASSERT_EQ(http(0).put("/v1/stock/" + sku, {{"on_hand", 1}}, admin_).status, 200);
  }
  // Clients of nodes 0 and 1 read and write every key while shards move under them.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::mutex mtx;
  std::string first_failure;
  std::vector<uint16_t> ports{nodes_[0]->port(), nodes_[1]->port()};
  std::thread traffic([&] {
    std::vector<std::unique_ptr<mt::http_client>> clients;
    for (auto port : ports)
      clients.push_back(std::make_unique<mt::http_client>("127.0.0.1", port));
    for (int n = 0; !stop; ++n) {
      auto sku = "move-" + std::to_string(n % keys);
      auto& c = *clients[static_cast<size_t>(n) % clients.size()];
      auto r
        = n % 2 == 0
            ? c.try_request(mt::http_request{"GET", "/v1/stock/" + sku}.bearer(admin_))
            : c.try_request(mt::json_request("PUT", "/v1/stock/" + sku, {{"on_hand", n}}, admin_));
      if (r.status == 200) {
        ++ok;
      } else {
        ++failed;
        std::lock_guard<std::mutex> guard{mtx};
        if (first_failure.empty())
          first_failure = sku + ": " + r.describe();
      }
    }
  });
  auto ok_after = [&](int more) {
    auto target = ok.load() + more;
    return mt::eventually([&] { return ok.load() >= target; }, 30s, 20ms);
  };
  EXPECT_TRUE(ok_after(50));
  start_node(); // node-3 joins: shards move to it, 16 at a time per owner
  EXPECT_TRUE(wait_for_balance(4)) << cluster_view(0).dump();
  EXPECT_TRUE(ok_after(50));
  auto status = nodes_[2]->terminate(); // node-2 leaves: its shards go to the others first
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << mt::describe_wait_status(*status);
  EXPECT_TRUE(wait_for_balance(3)) << cluster_view(0).dump();
  EXPECT_EQ(shards_by_node(0).count("node-2"), 0u);
  EXPECT_TRUE(ok_after(50));
  stop = true;
  traffic.join();
  EXPECT_EQ(failed.load(), 0) << first_failure;
  std::cout << "[ cluster ] " << ok.load() << " requests while a node joined and one left, "
            << failed.load() << " failed\n";
}

TEST_F(ClusterE2E, CheckoutsWhoseEntitiesLiveOnDifferentNodesSellEachUnitOnce) {
  for (int i = 0; i < 3; ++i)
    start_node();
  ASSERT_TRUE(wait_for_balance(3)) << cluster_view(0).dump();
  // Ten products whose stock items spread over the nodes; each cart, checkout, order and payment
  // lands wherever its id hashes, so every saga crosses nodes.
  constexpr int products = 10;
  for (int p = 0; p < products; ++p) {
    auto sku = "co-" + std::to_string(p);
    add_product(static_cast<size_t>(p % 3), sku);
    ASSERT_EQ(http(0).put("/v1/stock/" + sku, {{"on_hand", 5}}, admin_).status, 200);
  }
  auto ada = mt::mint_token(secret_, "ada", "customer", 1h);
  std::vector<std::string> orders;
  for (int n = 0; n < 12; ++n) {
    auto& c = http(static_cast<size_t>(n % 3));
    auto cart = c.post("/v1/carts", json::object(), ada);
    ASSERT_EQ(cart.status, 201) << cart.describe();
    auto cart_id = cart.json().at("cart_id").get<std::string>();
    for (int l = 0; l < 3; ++l) {
      auto sku = "co-" + std::to_string((n + l) % products);
      auto r = http(static_cast<size_t>((n + l) % 3))
                 .put("/v1/carts/" + cart_id + "/lines/" + sku, {{"quantity", 1}}, ada);
      ASSERT_EQ(r.status, 200) << r.describe();
    }
    auto res = http(static_cast<size_t>((n + 1) % 3))
                 .request(mt::checkout_request("cl-" + cart_id, mt::checkout_body(cart_id), ada));
    ASSERT_EQ(res.status, 201) << res.describe();
    orders.push_back(res.json().at("order_id").get<std::string>());
  }
  // 36 units sold of 50: each product sold as many as carts held it, never more. A checkout
  // answers once its order is durable and settles its holds right after.
  std::map<std::string, int> expected;
  for (int n = 0; n < 12; ++n)
    for (int l = 0; l < 3; ++l)
      ++expected["co-" + std::to_string((n + l) % products)];
  std::string last;
  bool settled = mt::eventually(
    [&] {
      for (const auto& [sku, held] : expected) {
        auto r = http(2).try_request(mt::http_request{"GET", "/v1/stock/" + sku}.bearer(admin_));
        if (r.status != 200)
          return false;
        last = sku + ": " + r.body;
        if (r.json().value("on_hand", -1) != 5 - held || r.json().value("reserved", -1) != 0)
          return false;
      }
      return true;
    },
    15s, 50ms);
  EXPECT_TRUE(settled) << last;
  for (size_t i = 0; i < orders.size(); ++i) {
    auto r = http(i % 3).get("/v1/orders/" + orders[i], ada);
    ASSERT_EQ(r.status, 200) << r.describe();
  }
}

TEST_F(ClusterE2E, ASubscriberOnOneNodeSeesEverySeqOfAnEntityOnAnotherOnceInOrder) {
  for (int i = 0; i < 3; ++i)
    start_node();
  ASSERT_TRUE(wait_for_balance(3)) << cluster_view(0).dump();
  // A SKU that node-2 owns, watched through node-0.
  auto sku = stock_owned_by(2, "ws-", 100);
  ASSERT_FALSE(sku.empty()) << "node-2 owns none of 200 keys";
  // Events go only to nodes with subscribers for them: none so far, though every node committed.
  auto forwarded = [&](size_t from, const std::string& to) {
    auto res = http(from).get("/metrics");
    EXPECT_EQ(res.status, 200) << res.describe();
    std::map<std::string, std::string> want;
    if (!to.empty())
      want["peer"] = to;
    return mt::metric_value(res.body, "mercato_cluster_events_forwarded_total", want).value_or(0);
  };
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(forwarded(i, ""), 0) << "node-" << i << " forwarded events nobody follows";
  mt::ws_client::options o;
  o.token = admin_;
  mt::ws_client ws{nodes_[0]->port(), o};
  auto snap = ws.subscribe("stock:" + sku);
  ASSERT_EQ(snap.at("type"), "snapshot") << snap.dump();
  auto last = snap.at("seq").get<uint64_t>();
  // Changes made on the owner, node-2, through node-1; then node-2 dies and the changes go on
  // at the survivor that takes the SKU over.
  auto set = [&](int on_hand) {
    return mt::eventually(
      [&] {
        auto r = http(1).try_request(
          mt::json_request("PUT", "/v1/stock/" + sku, {{"on_hand", on_hand}}, admin_));
        return r.status == 200;
      },
      20s, 50ms);
  };
  std::vector<int> sent;
  for (int v = 1; v <= 5; ++v) {
    ASSERT_TRUE(set(v));
    sent.push_back(v);
  }
  // The owner forwarded them to node-0, whose subscriber follows the SKU, and not to node-1.
  EXPECT_TRUE(mt::eventually([&] { return forwarded(2, "node-0") >= 5; }, 10s, 20ms))
    << forwarded(2, "node-0");
  EXPECT_EQ(forwarded(2, "node-1"), 0);
  nodes_[2]->kill9();
  for (int v = 6; v <= 10; ++v) {
    ASSERT_TRUE(set(v));
    sent.push_back(v);
  }
  // Each set is an event carrying its change of on_hand.
  std::vector<int> deltas;
  for (size_t i = 0; i < sent.size(); ++i)
    deltas.push_back(sent[i] - (i == 0 ? 100 : sent[i - 1]));
  std::vector<int> seen;
  while (seen.size() < deltas.size()) {
    auto f = ws.next(15s);
    ASSERT_EQ(f.at("type"), "event") << f.dump();
    auto seq = f.at("seq").get<uint64_t>();
    ASSERT_EQ(seq, last + 1) << "every seq once, in order: " << f.dump();
    last = seq;
    seen.push_back(f.at("data").value("delta", 0));
  }
  EXPECT_EQ(seen, deltas);
  nodes_[2].reset(); // killed: nothing to stop
}

// The marketplace pull sync runs with the cluster's singleton work, on one node at a time. Its
// node is killed while it waits for a page: a survivor takes the work over and goes on from the
// durable cursor, so no page before it is asked for again and every order is imported once.
TEST_F(ClusterE2E, APullSyncGoesOnFromItsCursorOnTheNodeThatTakesTheSingletonWorkOver) {
  mt::fake_marketplace tiktok{"tiktok"};
  const int n = 30;
  const int64_t first = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count()
                        - 7200;
  std::ifstream fixture{std::string{MERCATO_FIXTURES_DIR} + "/marketplaces/tiktok.json"};
  auto pending = json::parse(fixture).at(2); // a pending order
  for (int i = 0; i < n; ++i) {
    auto o = pending;
    o["id"] = std::to_string(770000000000 + i);
    o["create_time"] = first + i - 3600;
    o["update_time"] = first + i;
    tiktok.put(o, first + i);
  }
  tiktok.hold_lists_after(1); // the second page's call never gets its answer
  auto shops_file = "/tmp/mercato-cluster-shops-" + std::to_string(::getpid()) + ".json";
  std::ofstream{shops_file} << json::array({{{"name", "tiktok-main"},
                                             {"platform", "tiktok"},
                                             {"base_url", tiktok.base_url()},
                                             {"app_key", mt::fake_marketplace::app_key},
                                             {"app_secret", mt::fake_marketplace::app_secret},
                                             {"access_token", mt::fake_marketplace::access_token},
                                             {"shop_id", mt::fake_marketplace::shop_id},
                                             {"interval_ms", 1000},
                                             {"page_size", 10},
                                             {"since", first - 60}}})
                                 .dump();
  std::vector<std::string> args{
    "--marketplace-shops-file",     shops_file, "--marketplace-settle-ms",      "0",
    "--marketplace-backoff-min-ms", "100",      "--marketplace-backoff-max-ms", "400"};
  start_node(args);
  start_node(args);
  ASSERT_TRUE(wait_for_balance(2)) << cluster_view(0).dump();
  ASSERT_TRUE(mt::eventually([&] { return tiktok.list_calls().size() >= 2; }, 30s, 20ms))
    << tiktok.list_calls().size() << " list calls";

  auto imported = [&] {
    pqxx::connection conn{db_->dsn()};
    pqxx::nontransaction txn{conn};
    auto row = txn.exec1("SELECT count(DISTINCT entity_id), count(*) FROM journal "
                         "WHERE entity_kind = 'order' AND entity_id LIKE 'tiktok-77%'");
    return std::make_pair(row[0].as<int64_t>(), row[1].as<int64_t>());
  };
  std::string holder;
  {
    pqxx::connection conn{db_->dsn()};
    pqxx::nontransaction txn{conn};
    auto rows = txn.exec("SELECT node_id FROM cluster_singletons");
    ASSERT_EQ(rows.size(), 1u);
    holder = rows[0][0].as<std::string>();
  }
  ASSERT_TRUE(holder == "node-0" || holder == "node-1") << holder;
  EXPECT_TRUE(mt::eventually([&] { return imported().first == 10; }, 10s, 20ms))
    << "the first page's orders: " << imported().first;
  auto dead = holder == "node-0" ? 0u : 1u;
  nodes_[dead]->kill9();
  tiktok.release();

  EXPECT_TRUE(mt::eventually([&] { return imported().first == n; }, 60s, 50ms))
    << imported().first << " of " << n << " orders";
  EXPECT_EQ(imported(), std::make_pair(int64_t{n}, int64_t{n})) << "each order imported once";
  auto lists = tiktok.list_calls();
  ASSERT_GE(lists.size(), 3u);
  EXPECT_EQ(lists[0].query.count("page_token"), 0u);
  EXPECT_EQ(lists[1].query["page_token"], "10");
  EXPECT_EQ(lists[2].query["page_token"], "10") << "the survivor starts at the cursor";
  nodes_[dead].reset(); // killed: nothing to stop
  std::remove(shops_file.c_str());
}

// PostgreSQL restarts under three nodes, down for longer than a node's own lease (2.5 s): nobody
// is declared dead (a node marks others dead only once it has renewed its own heartbeat for 3 s),
// every node goes on with the same incarnation, and writes through every node succeed again
// within 5 s of the database's return.
TEST_F(ClusterE2E, APostgresRestartKillsNoNodeAndServiceIsBackWithinFiveSeconds) {
  ASSERT_TRUE(mt::pg_ctl_available())
    << "MERCATO_TEST_PG_CTL and MERCATO_TEST_PG_DATA_DIR are unset: run `tools/dev test`";
  for (int i = 0; i < 3; ++i)
    start_node();
  ASSERT_TRUE(wait_for_balance(3)) << cluster_view(0).dump();
  auto members = up_incarnations(0);
  ASSERT_EQ(members.size(), 3u);
  constexpr int keys = 30;
  for (int k = 0; k < keys; ++k) {
    auto sku = "pgr-" + std::to_string(k);
    add_product(0, sku);
    ASSERT_EQ(http(k % 3).put("/v1/stock/" + sku, {{"on_hand", k}}, admin_).status, 200);
  }
  auto stop = mt::pg_ctl("stop");
  ASSERT_EQ(stop.exit_code, 0) << stop.describe();
  pg_stopped_ = true;
  // Down on purpose for longer than the lease: each node refuses writes on its own meanwhile.
  std::this_thread::sleep_for(3500ms);
  for (size_t i = 0; i < 3; ++i) {
    auto r = http(i).try_request(
      mt::json_request("PUT", "/v1/stock/pgr-" + std::to_string(i), {{"on_hand", 1}}, admin_));
    EXPECT_EQ(r.status, 503) << "node " << i << " while the database is down: " << r.describe();
  }
  auto start = mt::pg_ctl("start");
  ASSERT_EQ(start.exit_code, 0) << start.describe();
  pg_stopped_ = false;
  auto back_at = std::chrono::steady_clock::now();
  // Service is back when a write of every key, each through another node than it lives on at
  // random, succeeds.
  int round = 0;
  std::string last;
  bool served = mt::eventually(
    [&] {
      ++round;
      for (int k = 0; k < keys; ++k) {
        auto r = http(static_cast<size_t>(k + round) % 3)
                   .try_request(mt::json_request("PUT", "/v1/stock/pgr-" + std::to_string(k),
                                                 {{"on_hand", 100 + k}}, admin_));
        if (r.status != 200) {
          last = "pgr-" + std::to_string(k) + ": " + r.describe();
          return false;
        }
      }
      return true;
    },
    30s, 50ms);
  auto back = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now()
                                                                    - back_at);
  ASSERT_TRUE(served) << last;
  std::cout << "[ cluster ] every write served again " << back.count()
            << " ms after PostgreSQL came back\n";
  EXPECT_LT(back, 5s) << last;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(nodes_[i]->is_running()) << "node " << i << " exited";
    EXPECT_EQ(up_incarnations(i), members) << "node " << i << ": " << cluster_view(i).dump();
  }
  for (int k = 0; k < keys; ++k) {
    auto r = http(static_cast<size_t>(k) % 3).get("/v1/stock/pgr-" + std::to_string(k), admin_);
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.json().value("on_hand", -1), 100 + k);
  }
}

} // namespace
