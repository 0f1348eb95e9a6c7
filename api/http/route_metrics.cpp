#include "api/http/route_metrics.hpp"

namespace mercato::api {

namespace {

constexpr const char* requests_name = "mercato_http_requests_total";
constexpr const char* requests_help = "HTTP requests by route, method and status.";
constexpr const char* duration_name = "mercato_http_request_duration_seconds";
constexpr const char* duration_help
  = "HTTP request latency in seconds, from the request parsed to its response serialised.";

} // namespace

route_metrics::route_metrics(runtime::metrics_registry* registry,
                             const std::vector<std::string_view>& patterns)
    : registry_(registry) {
  routes_.reserve(patterns.size() + 1);
  for (auto p : patterns)
    routes_.emplace_back(p);
  routes_.emplace_back("unmatched");
  slot_count_ = routes_.size() * http_method_count;
  slots_ = std::make_unique<std::atomic<slot*>[]>(slot_count_);
  for (size_t i = 0; i < slot_count_; ++i)
    slots_[i].store(nullptr, std::memory_order_relaxed);
}

route_metrics::~route_metrics() {
  for (size_t i = 0; i < slot_count_; ++i)
    delete slots_[i].load(std::memory_order_relaxed);
}

route_metrics::slot& route_metrics::slot_of(size_t pattern_id, http_method method) {
  if (pattern_id >= routes_.size())
    pattern_id = routes_.size() - 1;
  auto& cell = slots_[pattern_id * http_method_count + static_cast<size_t>(method)];
  auto* s = cell.load(std::memory_order_acquire);
  if (s != nullptr)
    return *s;
  auto fresh = std::make_unique<slot>();
  slot* expected = nullptr;
  if (cell.compare_exchange_strong(expected, fresh.get(), std::memory_order_acq_rel))
    return *fresh.release();
  return *expected; // another thread won
}

void route_metrics::record(size_t pattern_id, http_method method, uint16_t status, double seconds) {
  if (registry_ == nullptr)
    return;
  if (pattern_id >= routes_.size())
    pattern_id = routes_.size() - 1;
  auto& s = slot_of(pattern_id, method);
  if (status < 100 || status > 599)
    status = 500;
  auto& ccell = s.by_status[status - 100];
  auto* c = ccell.load(std::memory_order_acquire);
  if (c == nullptr) {
    // The registry dedups by labels, so racing threads get the same counter.
    c = &registry_->get_counter(requests_name, requests_help,
                                {{"route", routes_[pattern_id]},
                                 {"method", std::string{to_string(method)}},
                                 {"status", std::to_string(status)}});
    ccell.store(c, std::memory_order_release);
  }
  auto* h = s.duration.load(std::memory_order_acquire);
  if (h == nullptr) {
    h = &registry_->get_histogram(
      duration_name, duration_help, runtime::metrics_registry::latency_buckets(),
      {{"route", routes_[pattern_id]}, {"method", std::string{to_string(method)}}});
    s.duration.store(h, std::memory_order_release);
  }
  c->inc();
  h->observe(seconds);
}

} // namespace mercato::api
