#include "api/http/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

namespace mercato::api {

namespace {

double seconds(rate_limiter::clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

} // namespace

rate_limiter::rate_limiter(limit read, limit write, size_t max_clients)
    : limits_{read, write}, max_per_shard_(std::max<size_t>(1, max_clients / shard_count)) {
  for (auto& l : limits_)
    l.burst = std::max(l.burst, l.rate > 0 ? int64_t{1} : int64_t{0});
}

int64_t rate_limiter::admit(std::string_view client, route_class c, clock::time_point now) {
  const auto& l = limits_[static_cast<size_t>(c)];
  if (l.rate <= 0)
    return 0;
  auto& s = shards_[static_cast<size_t>(c)][std::hash<std::string_view>{}(client) % shard_count];
  std::lock_guard<std::mutex> guard{s.mtx};
  auto it = s.buckets.find(std::string{client});
  if (it == s.buckets.end()) {
    if (s.buckets.size() >= max_per_shard_)
      trim(s, l, now);
    it = s.buckets.emplace(std::string{client}, bucket{static_cast<double>(l.burst), now}).first;
  }
  auto& b = it->second;
  b.tokens = std::min(static_cast<double>(l.burst),
                      b.tokens + seconds(now - b.last) * static_cast<double>(l.rate));
  b.last = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return std::max<int64_t>(
    1, static_cast<int64_t>(std::ceil((1 - b.tokens) / static_cast<double>(l.rate))));
}

void rate_limiter::trim(shard& s, const limit& l, clock::time_point now) {
  // Clients whose bucket has refilled lose nothing by being forgotten.
  for (auto it = s.buckets.begin(); it != s.buckets.end();) {
    auto full = it->second.tokens + seconds(now - it->second.last) * static_cast<double>(l.rate)
                >= static_cast<double>(l.burst);
    it = full ? s.buckets.erase(it) : std::next(it);
  }
  if (s.buckets.size() < max_per_shard_)
    return;
  // Still full (a flood of clients, each over its limit): forget the idlest half.
  std::vector<clock::time_point> lasts;
  lasts.reserve(s.buckets.size());
  for (const auto& [key, b] : s.buckets)
    lasts.push_back(b.last);
  auto mid = lasts.begin() + static_cast<std::ptrdiff_t>(lasts.size() / 2);
  std::nth_element(lasts.begin(), mid, lasts.end());
  auto cut = *mid;
  for (auto it = s.buckets.begin(); it != s.buckets.end();)
    it = it->second.last <= cut ? s.buckets.erase(it) : std::next(it);
}

size_t rate_limiter::clients() const {
  size_t n = 0;
  for (const auto& by_class : shards_)
    for (const auto& s : by_class) {
      std::lock_guard<std::mutex> guard{s.mtx};
      n += s.buckets.size();
    }
  return n;
}

} // namespace mercato::api
