// Where keys live in a cluster: shard hashing, rendezvous owners and routing decisions.

#include "runtime/cluster/cluster_state.hpp"
#include "runtime/cluster/shard_map.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace mercato::runtime::cluster {
namespace {

TEST(ShardMap, EveryKeyHasOneShardInRangeAndTheSameOneEveryTime) {
  for (int i = 0; i < 1000; ++i) {
    auto key = "sku-" + std::to_string(i);
    auto s = shard_of("stock", key, 256);
    EXPECT_GE(s, 0);
    EXPECT_LT(s, 256);
    EXPECT_EQ(s, shard_of("stock", key, 256));
  }
  EXPECT_EQ(shard_of("stock", "x", 1), 0);
}

TEST(ShardMap, KeysSpreadEvenlyOverTheShards) {
  std::vector<int> count(64, 0);
  for (int i = 0; i < 64000; ++i)
    ++count[static_cast<size_t>(shard_of("cart", "cart-" + std::to_string(i), 64))];
  for (auto n : count) {
    EXPECT_GT(n, 800); // 1000 expected per shard
    EXPECT_LT(n, 1200);
  }
}

TEST(ShardMap, TheKindIsPartOfTheKey) {
  int same = 0;
  for (int i = 0; i < 1000; ++i) {
    auto key = std::to_string(i);
    same += shard_of("stock", key, 256) == shard_of("order", key, 256) ? 1 : 0;
  }
  EXPECT_LT(same, 30); // about 4 by chance
}

std::vector<int> owners(const std::vector<std::string>& members, int shards) {
  std::vector<int> out;
  for (int s = 0; s < shards; ++s)
    out.push_back(rendezvous_owner(s, members));
  return out;
}

TEST(Rendezvous, AJoinMovesShardsOnlyToTheNewMemberAndAboutItsShare) {
  std::vector<std::string> three{"a#1", "b#2", "c#3"};
  auto before = owners(three, 256);
  auto four = three;
  four.push_back("d#4");
  auto after = owners(four, 256);
  int moved = 0;
  for (size_t s = 0; s < before.size(); ++s) {
    if (before[s] == after[s])
      continue;
    ++moved;
    EXPECT_EQ(after[s], 3) << "shard " << s << " moved between old members";
  }
  EXPECT_GT(moved, 40); // 64 expected
  EXPECT_LT(moved, 90);
}

TEST(Rendezvous, ALeaveMovesOnlyTheLeaversShards) {
  std::vector<std::string> three{"a#1", "b#2", "c#3"};
  auto before = owners(three, 256);
  std::vector<std::string> two{"a#1", "c#3"};
  auto after = owners(two, 256);
  for (size_t s = 0; s < before.size(); ++s) {
    if (before[s] == 1)
      continue; // b's shards go to a or c
    auto was = three[static_cast<size_t>(before[s])];
    EXPECT_EQ(two[static_cast<size_t>(after[s])], was) << "shard " << s;
  }
  EXPECT_EQ(rendezvous_owner(0, {}), -1);
}

TEST(Rendezvous, TheOrderOfTheMemberListDoesNotMatter) {
  std::vector<std::string> x{"a#1", "b#2", "c#3"};
  std::vector<std::string> y{"c#3", "a#1", "b#2"};
  for (int s = 0; s < 256; ++s)
    EXPECT_EQ(x[static_cast<size_t>(rendezvous_owner(s, x))],
              y[static_cast<size_t>(rendezvous_owner(s, y))]);
}

view two_nodes(int self) {
  view v;
  v.version = 1;
  v.shard_count = 4;
  v.members = {member{"a", 1, "", "", 0, "up"}, member{"b", 2, "", "", 0, "up"}};
  v.owner = {0, 1, -1, 1};
  v.releasing = {false, false, false, false};
  v.self = self;
  return v;
}

// A key of each shard (0..3) of kind "stock" among 4 shards.
std::map<int32_t, std::string> key_per_shard() {
  std::map<int32_t, std::string> out;
  for (int i = 0; out.size() < 4; ++i) {
    auto key = "k" + std::to_string(i);
    out.emplace(shard_of("stock", key, 4), key);
  }
  return out;
}

TEST(Placement, LocalRemoteOrNowhereByTheShardsOwner) {
  auto keys = key_per_shard();
  auto v = two_nodes(0);
  EXPECT_EQ(place(v, "stock", keys[0]).where, placement_kind::local);
  auto p = place(v, "stock", keys[1]);
  EXPECT_EQ(p.where, placement_kind::remote);
  EXPECT_EQ(p.member, 1);
  EXPECT_EQ(place(v, "stock", keys[2]).where, placement_kind::nowhere) << "unowned";
  v.members[1].status = "dead";
  EXPECT_EQ(place(v, "stock", keys[3]).where, placement_kind::nowhere) << "owner not up";
  v.releasing[0] = true;
  EXPECT_EQ(place(v, "stock", keys[0]).where, placement_kind::nowhere) << "being handed over";
}

TEST(ClusterState, TheLeaseIsValidOnlyAfterARenewalAndUntilTheSelfFence) {
  state st{"a", std::chrono::milliseconds{60000}};
  EXPECT_FALSE(st.lease_valid());
  st.renewed();
  EXPECT_TRUE(st.lease_valid());
  state strict{"b", std::chrono::milliseconds{0}};
  strict.renewed();
  EXPECT_FALSE(strict.lease_valid());
}

} // namespace
} // namespace mercato::runtime::cluster
