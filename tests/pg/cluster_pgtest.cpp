// The cluster's tables (migration 0014) through pg::cluster_store, and the journal's member
// fence, against a real PostgreSQL.

#include "adapters/pg/cluster_store.hpp"
#include "adapters/pg/journal.hpp"
#include "tests/support/pg_fixture.hpp"

#include <caf/all.hpp>

#include <atomic>

namespace mercato::test {
namespace {

using namespace std::chrono_literals;

class ClusterStore : public migrated_pg_test {
protected:
  pg::cluster_join member(const std::string& node, int32_t protocol = 1) {
    pg::cluster_join j;
    j.node_id = node;
    j.http_address = "127.0.0.1:1";
    j.caf_host = "127.0.0.1";
    j.caf_port = 2;
    j.protocol_version = protocol;
    j.shard_count = 12; // more than 10: text order would differ from shard order
    return j;
  }
};

TEST_F(ClusterStore, TheFirstJoinCreatesTheShardsAndEachJoinIsANewIncarnation) {
  pg::cluster_store store{url()};
  auto a = store.join(member("a"));
  ASSERT_TRUE(a) << render(a.error());
  auto b = store.join(member("b"));
  ASSERT_TRUE(b) << render(b.error());
  EXPECT_NE(*a, *b);
  auto s = store.read(0);
  ASSERT_TRUE(s) << render(s.error());
  EXPECT_EQ(s->shard_count, 12);
  ASSERT_EQ(s->shards.size(), 12u);
  for (size_t i = 0; i < s->shards.size(); ++i) {
    EXPECT_EQ(s->shards[i].name, std::to_string(i)) << "shards are listed in shard order";
    EXPECT_TRUE(s->shards[i].node_id.empty());
  }
  ASSERT_EQ(s->members.size(), 2u);
  EXPECT_EQ(s->members[0].status, "joining");
  // A later node's shard count changes nothing: the count is fixed at creation.
  auto c = member("c");
  c.shard_count = 99;
  ASSERT_TRUE(store.join(c));
  EXPECT_EQ(store.read(0)->shards.size(), 12u);
}

TEST_F(ClusterStore, ANodeOfAnotherProtocolVersionIsRefused) {
  pg::cluster_store store{url()};
  ASSERT_TRUE(store.join(member("a", 1)));
  auto b = store.join(member("b", 2));
  ASSERT_FALSE(b);
  EXPECT_EQ(errc_of(b.error()), mercato_errc::invalid_request);
  EXPECT_EQ(scalar<int64_t>("SELECT count(*) FROM cluster_members"), 1);
}

TEST_F(ClusterStore, AnExpiredMemberIsMarkedDeadAndItsRenewalFindsNothing) {
  pg::cluster_store store{url()};
  auto live = member("live");
  live.lease_ms = 600000;
  auto gone = member("gone");
  gone.lease_ms = 0; // expired from the next transaction on
  auto l = store.join(live);
  auto g = store.join(gone);
  ASSERT_TRUE(l && g);
  ASSERT_TRUE(*store.set_status("live", *l, "up"));
  ASSERT_TRUE(*store.set_status("gone", *g, "up"));
  auto before = store.read(0)->version;
  auto dead = store.mark_expired_dead();
  ASSERT_TRUE(dead) << render(dead.error());
  EXPECT_EQ(*dead, 1);
  EXPECT_GT(store.read(0)->version, before);
  EXPECT_EQ(
    query("SELECT status FROM cluster_members WHERE node_id = 'gone'")[0][0].as<std::string>(),
    "dead");
  EXPECT_FALSE(*store.renew("gone", *g, 3000, 0));
  EXPECT_TRUE(*store.renew("live", *l, 3000, 0));
  EXPECT_EQ(*store.mark_expired_dead(), 0);
}

TEST_F(ClusterStore, ALeavingNodeLearnsTheOldestViewTheOthersRouteBy) {
  pg::cluster_store store{url()};
  auto a = store.join(member("a"));
  auto b = store.join(member("b"));
  auto c = store.join(member("c"));
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*store.least_seen_version("a", *a), INT64_MAX) << "nobody else is up";
  for (auto [id, inc] : {std::pair{"a", *a}, {"b", *b}, {"c", *c}})
    ASSERT_TRUE(*store.set_status(id, inc, "up"));
  ASSERT_TRUE(*store.renew("a", *a, 3000, 3));
  ASSERT_TRUE(*store.renew("b", *b, 3000, 7));
  ASSERT_TRUE(*store.renew("c", *c, 3000, 9));
  EXPECT_EQ(*store.least_seen_version("a", *a), 7) << "a's own version does not count";
  EXPECT_EQ(*store.least_seen_version("c", *c), 3);
  ASSERT_TRUE(*store.set_status("b", *b, "left"));
  EXPECT_EQ(*store.least_seen_version("a", *a), 9) << "only up members count";
  // A member that is leaving is no target for a shard any more, and the view says so.
  auto epoch = store.read(0)->shards[5].epoch;
  ASSERT_TRUE(*store.set_leaving("c", *c));
  EXPECT_FALSE(*store.move_shard(5, epoch, "c", *c));
  EXPECT_TRUE(*store.move_shard(5, epoch, "a", *a));
  auto view = store.read(0);
  ASSERT_TRUE(view);
  for (const auto& m : view->members)
    EXPECT_EQ(m.leaving, m.node_id == "c") << m.node_id;
}

TEST_F(ClusterStore, AShardMovesOnlyFromTheEpochItWasReadAt) {
  pg::cluster_store store{url()};
  auto a = store.join(member("a"));
  auto b = store.join(member("b"));
  ASSERT_TRUE(a && b);
  auto s = store.read(0);
  auto epoch = s->shards[3].epoch;
  EXPECT_TRUE(*store.move_shard(3, epoch, "a", *a));
  EXPECT_FALSE(*store.move_shard(3, epoch, "b", *b)) << "a stale epoch must not move it";
  auto now = store.read(0);
  EXPECT_EQ(now->shards[3].node_id, "a");
  EXPECT_EQ(now->shards[3].epoch, epoch + 1);
  EXPECT_TRUE(*store.move_singleton("workers", 0, "b", *b));
  EXPECT_FALSE(*store.move_singleton("workers", 0, "a", *a));
  EXPECT_EQ(store.read(0)->singletons.at(0).node_id, "b");
}

TEST_F(ClusterStore, AJournalWritesOnlyWhileItsMemberIsUp) {
  pg::cluster_store store{url()};
  auto inc = store.join(member("writer"));
  ASSERT_TRUE(inc);
  ASSERT_TRUE(*store.set_status("writer", *inc, "up"));
  auto fenced = std::make_shared<std::atomic<int>>(0);
  pg::journal_fence fence{"writer", *inc, [fenced] { ++*fenced; }};
  auto journal
    = pg::spawn_journal(sys(), url(), config::journal_settings{}, nullptr, {}, {}, fence);
  auto first = ask<uint64_t>(journal, atom::append_v, stock_request("fenced-sku", 1, 1));
  ASSERT_TRUE(first) << render(first.error());
  query("UPDATE cluster_members SET status = 'dead' WHERE node_id = 'writer'");
  auto second = ask<uint64_t>(journal, atom::append_v, stock_request("fenced-sku", 2, 1));
  ASSERT_FALSE(second);
  EXPECT_EQ(errc_of(second.error()), mercato_errc::storage_unavailable);
  EXPECT_EQ(fenced->load(), 1);
  EXPECT_EQ(scalar<int64_t>("SELECT count(*) FROM journal WHERE entity_id = 'fenced-sku'"), 1);
  caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
}

} // namespace
} // namespace mercato::test
