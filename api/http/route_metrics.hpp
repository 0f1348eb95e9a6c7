#pragma once

// Per-route HTTP metrics with cached references: the registry (which takes a mutex) is consulted
// once per (route, method, status); after that a request costs a few relaxed atomics.

#include "api/http/types.hpp"
#include "runtime/metrics.hpp"

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mercato::api {

/// Records `mercato_http_requests_total{route,method,status}` and
/// `mercato_http_request_duration_seconds{route,method}`.
class route_metrics {
public:
  /// `patterns` are the router's patterns; id `patterns.size()` is the "unmatched" route.
  route_metrics(runtime::metrics_registry* registry, const std::vector<std::string_view>& patterns);
  ~route_metrics();

  route_metrics(const route_metrics&) = delete;
  route_metrics& operator=(const route_metrics&) = delete;

  /// Thread-safe and lock-free once warm. No-op without a registry.
  void record(size_t pattern_id, http_method method, uint16_t status, double seconds);

private:
  struct slot {
    std::atomic<runtime::histogram*> duration{nullptr};
    std::array<std::atomic<runtime::counter*>, 500> by_status{}; // 100..599
  };

  slot& slot_of(size_t pattern_id, http_method method);

  runtime::metrics_registry* registry_;
  std::vector<std::string> routes_; // label values; last one is "unmatched"
  std::unique_ptr<std::atomic<slot*>[]> slots_;
  size_t slot_count_;
};

} // namespace mercato::api
