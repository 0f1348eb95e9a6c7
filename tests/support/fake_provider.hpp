#pragma once

// A fake SMS or push provider for tests (adapters/notify/http_channels.hpp speaks to it): an HTTP
// server on loopback that records every call and answers as told.

#include "tests/support/loopback_http_server.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace mercato::test {

// An SMS or push provider on loopback: records every call and answers as told (a status, after
// an optional delay).
class fake_provider {
public:
  struct call {
    std::string target;
    std::string authorization;
    std::string idempotency_key;
    nlohmann::json body;
    std::chrono::steady_clock::time_point at; ///< when it arrived
  };

  ~fake_provider() {
    release(); // a held call would keep the server's thread from ending
  }

  /// Calls that arrive from now on are recorded and then held, unanswered, until release():
  /// a provider that hangs.
  void hold() {
    std::lock_guard<std::mutex> guard{mtx_};
    held_ = true;
  }

  /// The first `n` calls are answered; the ones after them are recorded and held until
  /// release().
  void hold_after(size_t n) {
    std::lock_guard<std::mutex> guard{mtx_};
    hold_after_ = n;
  }

  void release() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      held_ = false;
      hold_after_.reset();
    }
    released_.notify_all();
  }

  void answer_with(int status, std::chrono::milliseconds delay = {}) {
    std::lock_guard<std::mutex> guard{mtx_};
    status_ = status;
    delay_ = delay;
  }

  std::vector<call> calls() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return calls_;
  }

  /// What a provider that honours idempotency keys sends on: the first call with each key.
  std::vector<call> sent() const {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<call> out;
    std::set<std::string> keys;
    for (const auto& c : calls_)
      if (keys.insert(c.idempotency_key).second)
        out.push_back(c);
    return out;
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_.port());
  }

private:
  loopback_http_server::answer handle(const loopback_http_server::request& req) {
    int status = 200;
    std::chrono::milliseconds delay{};
    {
      std::unique_lock<std::mutex> guard{mtx_};
      calls_.push_back(
        {std::string{req.target()}, std::string{req[boost::beast::http::field::authorization]},
         std::string{req["Idempotency-Key"]}, nlohmann::json::parse(req.body(), nullptr, false),
         std::chrono::steady_clock::now()});
      auto index = calls_.size();
      released_.wait(guard, [&] { return !held_ && !(hold_after_ && index > *hold_after_); });
      status = status_;
      delay = delay_;
    }
    std::this_thread::sleep_for(delay);
    return {static_cast<boost::beast::http::status>(status), "application/json", "{}", {}};
  }

  mutable std::mutex mtx_;
  std::condition_variable released_;
  bool held_ = false;
  std::optional<size_t> hold_after_;
  int status_ = 200;
  std::chrono::milliseconds delay_{};
  std::vector<call> calls_;
  loopback_http_server server_{[this](const auto& req) { return handle(req); }};
};

} // namespace mercato::test
