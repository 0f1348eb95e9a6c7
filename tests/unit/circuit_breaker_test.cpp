// The circuit breaker on a clock the test moves: opens after a run of failed calls, fails fast
// while open, lets one probe through after its cool-down, closes when the probe is answered and
// waits twice as long after a failed probe.

#include "runtime/circuit_breaker.hpp"

#include "runtime/metrics.hpp"

#include <gtest/gtest.h>

using namespace mercato::runtime;
using namespace std::chrono_literals;

namespace {

class CircuitBreaker : public ::testing::Test {
protected:
  circuit_breaker::settings cfg() {
    circuit_breaker::settings s;
    s.failures_to_open = 3;
    s.open_for = 1000ms;
    s.open_max = 3000ms;
    return s;
  }

  circuit_breaker::clock::time_point t{};
  metrics_registry metrics;
  circuit_breaker b{"psp", cfg(), &metrics, [this] { return t; }};

  int64_t state_gauge() {
    return metrics.get_gauge("mercato_circuit_state", "", {{"circuit", "psp"}}).value();
  }
};

} // namespace

TEST_F(CircuitBreaker, OpensAfterARunOfFailuresNotAfterScatteredOnes) {
  for (int i = 0; i < 9; ++i) { // two failures, then an answer, three times
    ASSERT_TRUE(b.allow());
    i % 3 == 2 ? b.succeeded() : b.failed();
  }
  EXPECT_EQ(b.current(), circuit_breaker::state::closed);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(b.allow());
    b.failed();
  }
  EXPECT_EQ(b.current(), circuit_breaker::state::open);
  EXPECT_EQ(state_gauge(), 1);
  EXPECT_FALSE(b.allow());
  EXPECT_EQ(b.retry_after(), 1000ms);
  EXPECT_EQ(b.describe().rejected, 1u);
}

TEST_F(CircuitBreaker, OneProbeAfterTheCoolDownClosesItWhenAnswered) {
  for (int i = 0; i < 3; ++i)
    b.allow(), b.failed();
  t += 999ms;
  EXPECT_FALSE(b.allow());
  t += 1ms;
  EXPECT_EQ(b.current(), circuit_breaker::state::half_open);
  EXPECT_TRUE(b.allow()) << "the probe";
  EXPECT_FALSE(b.allow()) << "only one probe at a time";
  EXPECT_EQ(state_gauge(), 2);
  b.succeeded();
  EXPECT_EQ(b.current(), circuit_breaker::state::closed);
  EXPECT_EQ(state_gauge(), 0);
  EXPECT_TRUE(b.allow());
  EXPECT_EQ(b.describe().consecutive_failures, 0);
}

TEST_F(CircuitBreaker, AFailedProbeDoublesTheWaitUpToItsMaximum) {
  for (int i = 0; i < 3; ++i)
    b.allow(), b.failed();
  for (auto wait : {1000ms, 2000ms, 3000ms, 3000ms}) {
    EXPECT_EQ(b.retry_after(), wait);
    t += wait;
    ASSERT_TRUE(b.allow());
    b.failed();
  }
  // Calls let through before it opened report late: they do not extend the wait.
  auto before = b.retry_after();
  b.failed();
  EXPECT_EQ(b.retry_after(), before);
}

TEST_F(CircuitBreaker, AProbeThatNeverReportsDoesNotHoldItForever) {
  for (int i = 0; i < 3; ++i)
    b.allow(), b.failed();
  t += 1000ms;
  ASSERT_TRUE(b.allow()); // its caller dies without a word
  t += 2999ms;
  EXPECT_FALSE(b.allow());
  t += 1ms;
  EXPECT_TRUE(b.allow()) << "another probe after open_max";
}

TEST(CircuitRegistry, DescribesEveryBreaker) {
  circuit_registry r;
  auto a = r.add("a", {});
  r.add("b", {});
  for (int i = 0; i < 5; ++i)
    a->allow(), a->failed();
  auto all = r.describe();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "a");
  EXPECT_EQ(all[0].status, circuit_breaker::state::open);
  EXPECT_GT(all[0].retry_after_ms, 0);
  EXPECT_EQ(all[1].status, circuit_breaker::state::closed);
  EXPECT_EQ(r.add("a", {}), a) << "a worker that starts again finds its breaker";
  EXPECT_EQ(r.describe().size(), 2u);
}
