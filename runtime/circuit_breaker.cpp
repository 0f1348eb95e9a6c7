#include "runtime/circuit_breaker.hpp"

#include "runtime/logging.hpp"

#include <algorithm>

namespace mercato::runtime {

circuit_breaker::circuit_breaker(std::string name, settings cfg, metrics_registry* metrics,
                                 std::function<clock::time_point()> now)
    : name_(std::move(name)), cfg_(cfg), now_(std::move(now)) {
  cfg_.failures_to_open = std::max(cfg_.failures_to_open, 1);
  cfg_.open_max = std::max(cfg_.open_max, cfg_.open_for);
  if (metrics) {
    labels lbl{{"circuit", name_}};
    state_gauge_
      = &metrics->get_gauge("mercato_circuit_state",
                            "Circuit breakers: 0 closed, 1 open (failing fast), 2 half-open", lbl);
    rejected_counter_ = &metrics->get_counter("mercato_circuit_rejected_total",
                                              "Calls failed fast by an open circuit breaker", lbl);
  }
}

circuit_breaker::clock::time_point circuit_breaker::now() const {
  return now_ ? now_() : clock::now();
}

void circuit_breaker::set(state s) {
  if (s != state_)
    logger("runtime")->log(s == state::closed ? spdlog::level::info : spdlog::level::warn,
                           "circuit {}: {} -> {}", name_, to_string(state_), to_string(s));
  state_ = s;
  if (state_gauge_)
    state_gauge_->set(static_cast<int64_t>(s));
}

bool circuit_breaker::allow() {
  std::lock_guard<std::mutex> guard{mtx_};
  auto t = now();
  switch (state_) {
  case state::closed:
    return true;
  case state::open:
    if (t >= open_until_) {
      set(state::half_open);
      probe_started_ = t;
      return true;
    }
    break;
  case state::half_open:
    // A probe that never reported (its caller died) must not hold the breaker forever.
    if (t - probe_started_ >= cfg_.open_max) {
      probe_started_ = t;
      return true;
    }
    break;
  }
  ++rejected_;
  if (rejected_counter_)
    rejected_counter_->inc();
  return false;
}

void circuit_breaker::succeeded() {
  std::lock_guard<std::mutex> guard{mtx_};
  failures_ = 0;
  wait_ = std::chrono::milliseconds{0};
  set(state::closed);
}

void circuit_breaker::failed() {
  std::lock_guard<std::mutex> guard{mtx_};
  ++failures_;
  // Calls let through before it opened may fail later: they must not extend the wait.
  if (state_ == state::open || (state_ == state::closed && failures_ < cfg_.failures_to_open))
    return;
  // Opens, or stays open for longer after a failed probe.
  wait_ = wait_.count() == 0 ? cfg_.open_for : std::min(wait_ * 2, cfg_.open_max);
  open_until_ = now() + wait_;
  set(state::open);
}

circuit_breaker::state circuit_breaker::current() const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (state_ == state::open && now() >= open_until_)
    return state::half_open;
  return state_;
}

std::chrono::milliseconds circuit_breaker::retry_after() const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (state_ != state::open)
    return std::chrono::milliseconds{0};
  return std::max(std::chrono::ceil<std::chrono::milliseconds>(open_until_ - now()),
                  std::chrono::milliseconds{0});
}

circuit_breaker::info circuit_breaker::describe() const {
  info out;
  out.name = name_;
  out.status = current();
  out.retry_after_ms = retry_after().count();
  std::lock_guard<std::mutex> guard{mtx_};
  out.consecutive_failures = failures_;
  out.rejected = rejected_;
  return out;
}

const char* to_string(circuit_breaker::state s) {
  switch (s) {
  case circuit_breaker::state::closed:
    return "closed";
  case circuit_breaker::state::open:
    return "open";
  case circuit_breaker::state::half_open:
    return "half_open";
  }
  return "unknown";
}

std::shared_ptr<circuit_breaker>
circuit_registry::add(std::string name, circuit_breaker::settings cfg, metrics_registry* metrics) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (const auto& b : all_)
    if (b->name() == name)
      return b;
  auto b = std::make_shared<circuit_breaker>(std::move(name), cfg, metrics);
  all_.push_back(b);
  return b;
}

std::vector<circuit_breaker::info> circuit_registry::describe() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<circuit_breaker::info> out;
  for (const auto& b : all_)
    out.push_back(b->describe());
  return out;
}

} // namespace mercato::runtime
