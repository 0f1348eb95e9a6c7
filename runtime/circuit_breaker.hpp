#pragma once

// Circuit breakers around the far sides Mercato calls (the payment provider): after a run of
// failures, calls fail fast instead of each waiting for timeouts and retries, and after a
// cool-down a single probe call finds out whether the far side answers again. Thread-safe: the
// provider's detached workers share one breaker.

#include "runtime/metrics.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mercato::runtime {

class circuit_breaker {
public:
  using clock = std::chrono::steady_clock;

  enum class state { closed, open, half_open };

  struct settings {
    int failures_to_open = 5;                  ///< consecutive failed calls that open it
    std::chrono::milliseconds open_for{5000};  ///< before the first probe; doubled per failed one
    std::chrono::milliseconds open_max{60000}; ///< longest wait between two probes
  };

  /// `now` replaces the steady clock (tests). With `metrics`, keeps
  /// `mercato_circuit_state{circuit}` (0 closed, 1 open, 2 half-open) and
  /// `mercato_circuit_rejected_total{circuit}`.
  circuit_breaker(std::string name, settings cfg, metrics_registry* metrics = nullptr,
                  std::function<clock::time_point()> now = {});

  /// True if a call may go now: the breaker is closed, or this is the one probe of a breaker
  /// whose cool-down has passed. False (counted as rejected): fail the call fast.
  bool allow();

  /// The outcome of a call that `allow()` let through. A far side that answers at all (even
  /// with a refusal) succeeded; only no answer, a timeout or a server error is a failure.
  void succeeded();
  void failed();

  /// What a caller that wants to call now would find (an open breaker past its cool-down is
  /// half-open).
  state current() const;

  /// How long until the next probe may go (0 unless open).
  std::chrono::milliseconds retry_after() const;

  struct info {
    std::string name;
    state status = state::closed;
    int consecutive_failures = 0;
    int64_t retry_after_ms = 0;
    uint64_t rejected = 0;
  };
  info describe() const;

  const std::string& name() const {
    return name_;
  }

private:
  clock::time_point now() const;
  void set(state s); // with mtx_ held

  std::string name_;
  settings cfg_;
  std::function<clock::time_point()> now_;
  gauge* state_gauge_ = nullptr;
  counter* rejected_counter_ = nullptr;
  mutable std::mutex mtx_;
  state state_ = state::closed;
  int failures_ = 0;
  std::chrono::milliseconds wait_{0};
  clock::time_point open_until_{};
  clock::time_point probe_started_{};
  uint64_t rejected_ = 0;
};

const char* to_string(circuit_breaker::state s);

/// Every breaker of a node, for the admin API (`GET /v1/admin/circuits`).
class circuit_registry {
public:
  /// The breaker named `name`, made with `cfg` if there is none yet (workers that start again,
  /// as a cluster's singletons may, find theirs).
  std::shared_ptr<circuit_breaker> add(std::string name, circuit_breaker::settings cfg,
                                       metrics_registry* metrics = nullptr);
  std::vector<circuit_breaker::info> describe() const;

private:
  mutable std::mutex mtx_;
  std::vector<std::shared_ptr<circuit_breaker>> all_;
};

} // namespace mercato::runtime
