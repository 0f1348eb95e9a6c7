#pragma once

// Where an entity lives in a cluster (DESIGN.md "Cluster"): its key hashes to one of a fixed
// number of shards, and each shard's target owner is the rendezvous hash over the `up` members.
// Pure functions, the same on every node and every build (no std::hash).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mercato::runtime::cluster {

/// 64-bit FNV-1a of `bytes`: stable across processes, platforms and builds.
uint64_t stable_hash(std::string_view bytes, uint64_t seed = 14695981039346656037ULL);

/// The shard of entity `kind:key`, in [0, shard_count).
int32_t shard_of(std::string_view kind, std::string_view key, int32_t shard_count);

/// The index in `members` (node ids) of the shard's target owner: the highest
/// hash(member, shard), so that a join or leave moves only the shards it must. -1 if empty.
int rendezvous_owner(int32_t shard, const std::vector<std::string>& members);

/// The target owner (an index in `members`, -1 if empty) of every shard in [0, shard_count):
/// rendezvous hashing with bounded loads, so that shares differ by one shard at most. Each shard
/// asks the members in its rendezvous order and a member with its floor share keeps the shards
/// it weighs highest (a stable matching: the same result for any order of `members`); the few
/// shards left over go one per member, each to the first in its order. Plain rendezvous leaves
/// shares up to about 15 % off with 256 shards over 3 members; a join or leave still moves few
/// shards more than it must.
std::vector<int> balanced_owners(int32_t shard_count, const std::vector<std::string>& members);

} // namespace mercato::runtime::cluster
