// Where keys live in a cluster: shard hashing, rendezvous owners and routing decisions.

#include "runtime/cluster/cluster_state.hpp"
#include "runtime/cluster/shard_map.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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

std::vector<std::string> members_named(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back("node-" + std::to_string(i) + "#" + std::to_string(100 + i));
  return out;
}

std::vector<int> shares(const std::vector<int>& owner, size_t members) {
  std::vector<int> out(members, 0);
  for (auto o : owner)
    ++out.at(static_cast<size_t>(o));
  return out;
}

TEST(BalancedOwners, EveryMemberGetsItsShareWithinTenPercent) {
  for (int n = 1; n <= 12; ++n) {
    auto owner = balanced_owners(256, members_named(n));
    ASSERT_EQ(owner.size(), 256U);
    auto ideal = 256.0 / n;
    auto got = shares(owner, static_cast<size_t>(n));
    for (auto share : got) {
      EXPECT_LE(share, static_cast<int>(std::ceil(ideal))) << n << " members";
      EXPECT_GE(share, static_cast<int>(std::floor(ideal))) << n << " members";
      EXPECT_GE(share, 0.9 * ideal) << n << " members";
    }
  }
  EXPECT_EQ(balanced_owners(4, {}), (std::vector<int>{-1, -1, -1, -1}));
}

TEST(BalancedOwners, PlainRendezvousIsFurtherOffThanTheBound) {
  // Why the bound exists: with these three members plain rendezvous is off by more than 10 %.
  auto three = members_named(3);
  auto plain = shares(owners(three, 256), 3);
  auto worst = std::max(std::abs(*std::max_element(plain.begin(), plain.end()) - 256.0 / 3),
                        std::abs(*std::min_element(plain.begin(), plain.end()) - 256.0 / 3));
  EXPECT_GT(worst, 0.1 * 256 / 3) << plain[0] << " " << plain[1] << " " << plain[2];
}

TEST(BalancedOwners, TheOrderOfTheMemberListDoesNotMatter) {
  auto x = members_named(5);
  auto y = std::vector<std::string>{x[3], x[0], x[4], x[2], x[1]};
  auto ox = balanced_owners(256, x);
  auto oy = balanced_owners(256, y);
  for (size_t s = 0; s < 256; ++s)
    EXPECT_EQ(x[static_cast<size_t>(ox[s])], y[static_cast<size_t>(oy[s])]) << "shard " << s;
}

TEST(BalancedOwners, AJoinOrALeaveMovesLittleMoreThanItMust) {
  auto three = members_named(3);
  auto four = members_named(4);
  auto before = balanced_owners(256, three);
  auto after = balanced_owners(256, four);
  int to_new = 0;
  int between_old = 0;
  for (size_t s = 0; s < 256; ++s) {
    if (before[s] == after[s])
      continue;
    (after[s] == 3 ? to_new : between_old) += 1;
  }
  EXPECT_EQ(to_new, 64); // the new member's whole share, each shard moved once
  EXPECT_LE(between_old, 16) << "moves a join makes among the members it does not concern";
  // The same members leaving again: the leaver's 64 plus a few to even the rest.
  int moved = 0;
  for (size_t s = 0; s < 256; ++s)
    moved += before[s] == after[s] ? 0 : 1;
  EXPECT_LE(moved, 64 + 16);
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

std::vector<std::string> peer_nodes(const std::vector<state::interested_peer>& peers) {
  std::vector<std::string> out;
  for (const auto& p : peers)
    out.push_back(p.node_id);
  return out;
}

TEST(ClusterState, ABatchGoesOnlyToConnectedPeersThatFollowItsTopics) {
  state st{"a", std::chrono::milliseconds{60000}};
  st.set_peer("b", 2, caf::actor{});
  st.set_peer("c", 3, caf::actor{});
  std::vector<std::string> batch{"stock:x", "order:o-1", "stock:y"};
  EXPECT_TRUE(st.interested_peers(batch).empty()) << "nobody follows anything yet";
  st.set_interest("b", 2, {"stock:y", "stock:x"}, true);
  st.set_interest("c", 3, {"cart:k"}, true);
  st.set_interest("d", 4, {"order:o-1"}, true); // not connected: nothing is sent to it
  auto peers = st.interested_peers(batch);
  ASSERT_EQ(peer_nodes(peers), std::vector<std::string>{"b"});
  EXPECT_EQ(peers[0].wanted, (std::vector<size_t>{0, 2}));
  st.set_interest("b", 2, {"stock:x"}, false);
  peers = st.interested_peers(batch);
  ASSERT_EQ(peers.size(), 1U);
  EXPECT_EQ(peers[0].wanted, std::vector<size_t>{2});
  // A reconnection keeps what the peer follows; it announces it all again anyway.
  st.drop_peer("b", 2);
  EXPECT_TRUE(st.interested_peers(batch).empty());
  st.set_peer("b", 2, caf::actor{});
  EXPECT_EQ(peer_nodes(st.interested_peers(batch)), std::vector<std::string>{"b"});
}

TEST(ClusterState, APeersInterestsGoWhenTheViewSaysItsIncarnationIsGone) {
  state st{"a", std::chrono::milliseconds{60000}};
  st.set_peer("b", 2, caf::actor{});
  st.set_interest("b", 2, {"stock:x"}, true);
  auto publish = [&](std::vector<member> members) {
    auto v = std::make_shared<view>();
    v->members = std::move(members);
    st.publish(v);
  };
  // A view read before b joined does not list it: b's interests stay.
  publish({member{"a", 1, "", "", 0, "up"}});
  EXPECT_EQ(st.interested_peers({"stock:x"}).size(), 1U);
  publish({member{"a", 1, "", "", 0, "up"}, member{"b", 2, "", "", 0, "up"}});
  EXPECT_EQ(st.interested_peers({"stock:x"}).size(), 1U);
  publish({member{"a", 1, "", "", 0, "up"}, member{"b", 2, "", "", 0, "dead"}});
  EXPECT_TRUE(st.interested_peers({"stock:x"}).empty());
  // b restarts as incarnation 3: what incarnation 2 followed is forgotten.
  st.set_interest("b", 2, {"stock:x"}, true);
  st.set_peer("b", 3, caf::actor{});
  publish({member{"a", 1, "", "", 0, "up"}, member{"b", 3, "", "", 0, "up"}});
  EXPECT_TRUE(st.interested_peers({"stock:x"}).empty());
}

} // namespace
} // namespace mercato::runtime::cluster
