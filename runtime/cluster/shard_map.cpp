#include "runtime/cluster/shard_map.hpp"

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

int rendezvous_owner(int32_t shard, const std::vector<std::string>& members) {
  int best = -1;
  uint64_t best_weight = 0;
  auto shard_text = std::to_string(shard);
  for (size_t i = 0; i < members.size(); ++i) {
    auto w = mix(stable_hash(shard_text, stable_hash("#", stable_hash(members[i]))));
    // Ties (practically never) go to the smaller node id, so every node picks the same one.
    if (best < 0 || w > best_weight
        || (w == best_weight && members[i] < members[static_cast<size_t>(best)])) {
      best = static_cast<int>(i);
      best_weight = w;
    }
  }
  return best;
}

} // namespace mercato::runtime::cluster
