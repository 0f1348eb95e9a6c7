#pragma once

// Per-client token buckets for the HTTP front (API.md: over-limit clients get 429 with
// Retry-After). Free of Beast, so that it is tested on its own.

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mercato::api {

/// Token buckets per (client, route class): each class refills `rate` tokens a second up to
/// `burst`; a request takes one. Thread-safe: the keys are spread over independently locked
/// shards. Memory stays bounded: past `max_clients` a shard forgets the clients whose buckets
/// have refilled (they would start full anyway), then the longest idle.
class rate_limiter {
public:
  using clock = std::chrono::steady_clock;

  /// A class's limit; `rate` 0 = unlimited.
  struct limit {
    int64_t rate = 0;
    int64_t burst = 0;
  };

  /// Route classes: reads (GET, HEAD, OPTIONS) and writes (everything else).
  enum class route_class : uint8_t { read, write };

  rate_limiter(limit read, limit write, size_t max_clients = 100000);

  /// 0 when `client` may make a request of class `c` at `now` (the token is taken); otherwise the
  /// whole seconds until it may (for Retry-After, at least 1).
  int64_t admit(std::string_view client, route_class c, clock::time_point now);

  /// Clients remembered (for tests and metrics).
  size_t clients() const;

private:
  struct bucket {
    double tokens = 0;
    clock::time_point last;
  };
  struct shard {
    mutable std::mutex mtx;
    std::unordered_map<std::string, bucket> buckets;
  };
  static constexpr size_t shard_count = 16;

  void trim(shard& s, const limit& l, clock::time_point now);

  std::array<limit, 2> limits_;
  size_t max_per_shard_;
  std::array<std::array<shard, shard_count>, 2> shards_; // per route class
};

} // namespace mercato::api
