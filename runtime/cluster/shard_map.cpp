#include "runtime/cluster/shard_map.hpp"

#include <algorithm>
#include <deque>
#include <set>
#include <utility>

namespace mercato::runtime::cluster {

uint64_t stable_hash(std::string_view bytes, uint64_t seed) {
  auto h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

namespace {

// FNV's low bits mix poorly for short inputs that differ only at the end: finish with a
// 64-bit avalanche (splitmix64's) before taking a modulus or comparing weights.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

} // namespace

int32_t shard_of(std::string_view kind, std::string_view key, int32_t shard_count) {
  if (shard_count <= 1)
    return 0;
  auto h = stable_hash(key, stable_hash(":", stable_hash(kind)));
  return static_cast<int32_t>(mix(h) % static_cast<uint64_t>(shard_count));
}

namespace {

uint64_t weight(const std::string& shard_text, const std::string& member) {
  return mix(stable_hash(shard_text, stable_hash("#", stable_hash(member))));
}

} // namespace

int rendezvous_owner(int32_t shard, const std::vector<std::string>& members) {
  int best = -1;
  uint64_t best_weight = 0;
  auto shard_text = std::to_string(shard);
  for (size_t i = 0; i < members.size(); ++i) {
    auto w = weight(shard_text, members[i]);
    // Ties (practically never) go to the smaller node id, so every node picks the same one.
    if (best < 0 || w > best_weight
        || (w == best_weight && members[i] < members[static_cast<size_t>(best)])) {
      best = static_cast<int>(i);
      best_weight = w;
    }
  }
  return best;
}

std::vector<int> balanced_owners(int32_t shard_count, const std::vector<std::string>& members) {
  auto shards = static_cast<size_t>(std::max(shard_count, 0));
  std::vector<int> owner(shards, -1);
  auto n = members.size();
  if (n == 0)
    return owner;
  auto cap = shards / n; // each member's floor share; the remainder is placed afterwards
  // Each shard's members in rendezvous order, best first (ties to the smaller node id).
  std::vector<std::vector<std::pair<uint64_t, int>>> ranked(shards);
  for (size_t s = 0; s < shards; ++s) {
    auto text = std::to_string(s);
    auto& r = ranked[s];
    for (size_t m = 0; m < n; ++m)
      r.emplace_back(weight(text, members[m]), static_cast<int>(m));
    std::sort(r.begin(), r.end(), [&](const auto& x, const auto& y) {
      if (x.first != y.first)
        return x.first > y.first;
      return members[static_cast<size_t>(x.second)] < members[static_cast<size_t>(y.second)];
    });
  }
  // Shards propose down their order; a member over its floor share drops the shard it weighs
  // lowest (ties to the higher shard number), which proposes to its next member. The shards
  // every member dropped (fewer than there are members) each go to the first member in their
  // order that has not taken one of them yet, so that shares differ by one shard at most.
  std::vector<size_t> next(shards, 0);
  std::vector<std::set<std::pair<uint64_t, size_t>>> held(n); // (weight, shards - shard)
  std::deque<size_t> free;
  std::vector<size_t> leftover;
  for (size_t s = 0; s < shards; ++s)
    free.push_back(s);
  while (!free.empty()) {
    auto s = free.front();
    free.pop_front();
    if (next[s] == n) {
      leftover.push_back(s);
      continue;
    }
    auto [w, m] = ranked[s][next[s]++];
    auto& h = held[static_cast<size_t>(m)];
    h.emplace(w, shards - s);
    owner[s] = m;
    if (h.size() > cap) {
      auto lowest = h.begin();
      auto dropped = shards - lowest->second;
      h.erase(lowest);
      owner[dropped] = -1;
      free.push_back(dropped);
    }
  }
  std::sort(leftover.begin(), leftover.end());
  std::vector<bool> extra(n, false);
  for (auto s : leftover)
    for (const auto& [w, m] : ranked[s])
      if (!extra[static_cast<size_t>(m)]) {
        extra[static_cast<size_t>(m)] = true;
        owner[s] = m;
        break;
      }
  return owner;
}

} // namespace mercato::runtime::cluster
