// The HTTP front's token buckets (api/http/rate_limiter.hpp), on a clock the test moves.

#include "api/http/rate_limiter.hpp"

#include <gtest/gtest.h>

using mercato::api::rate_limiter;
using namespace std::chrono_literals;

namespace {

constexpr auto reads = rate_limiter::route_class::read;
constexpr auto writes = rate_limiter::route_class::write;

} // namespace

TEST(RateLimiter, ABurstGoesThroughThenTheRateAndRetryAfterSaysWhen) {
  rate_limiter l{{10, 5}, {2, 2}};
  auto t = rate_limiter::clock::time_point{} + 1h;
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(l.admit("ada", reads, t), 0) << "request " << i << " of the burst";
  EXPECT_EQ(l.admit("ada", reads, t), 1) << "over the burst: a token comes within a second";
  EXPECT_EQ(l.admit("ada", reads, t + 100ms), 0) << "10 a second: one per 100 ms";
  EXPECT_EQ(l.admit("ada", reads, t + 100ms), 1);
  // Writes have their own, smaller bucket; at 2 a second a token may be whole seconds away.
  EXPECT_EQ(l.admit("ada", writes, t), 0);
  EXPECT_EQ(l.admit("ada", writes, t), 0);
  EXPECT_EQ(l.admit("ada", writes, t), 1);
  // Another client is not held back by ada.
  EXPECT_EQ(l.admit("bob", reads, t + 100ms), 0);
  EXPECT_EQ(l.admit("bob", writes, t), 0);
}

TEST(RateLimiter, RetryAfterRoundsUpToWholeSeconds) {
  rate_limiter l{{1, 1}, {0, 0}};
  auto t = rate_limiter::clock::time_point{} + 1h;
  EXPECT_EQ(l.admit("c", reads, t), 0);
  EXPECT_EQ(l.admit("c", reads, t + 10ms), 1);
  rate_limiter slow{{0, 0}, {1, 1}};
  EXPECT_EQ(slow.admit("c", writes, t), 0);
  EXPECT_EQ(slow.admit("c", writes, t), 1);
  // A class without a rate is not limited at all.
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(slow.admit("c", reads, t), 0);
}

TEST(RateLimiter, ARefilledBucketIsNotPiledUpBeyondTheBurst) {
  rate_limiter l{{100, 3}, {0, 0}};
  auto t = rate_limiter::clock::time_point{} + 1h;
  EXPECT_EQ(l.admit("c", reads, t), 0);
  auto later = t + 1h; // 360,000 tokens' worth of time, capped at 3
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(l.admit("c", reads, later), 0);
  EXPECT_GT(l.admit("c", reads, later), 0);
}

TEST(RateLimiter, MemoryStaysBoundedWhateverTheNumberOfClients) {
  rate_limiter l{{1, 1}, {0, 0}, 1600};
  auto t = rate_limiter::clock::time_point{} + 1h;
  // Each client is over its limit (its bucket empty), so none may simply be forgotten as idle.
  for (int i = 0; i < 100000; ++i)
    l.admit("client-" + std::to_string(i), reads, t + std::chrono::microseconds{i});
  EXPECT_LE(l.clients(), 1600u);
  EXPECT_GT(l.clients(), 0u);
  // The newest clients are the ones kept: the last one is still over its limit.
  EXPECT_EQ(l.admit("client-99999", reads, t + 100ms), 1);
}
