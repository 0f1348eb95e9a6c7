#pragma once

// A payment service provider on loopback for tests of the http payment provider: the REST
// contract of adapters/payments/http_provider.cpp, idempotent per Idempotency-Key, recording
// every call, with switches for the answers (authorised, declined, pending; 500 for the next N
// calls). Runs on its own thread; all members are thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mercato::test {

class fake_psp {
public:
  /// One request as received.
  struct call {
    std::string method;
    std::string target;
    std::string body;
    std::string authorization;
    std::string idempotency_key;
  };

  /// Listens on 127.0.0.1 on a free port.
  fake_psp();
  ~fake_psp();

  fake_psp(const fake_psp&) = delete;
  fake_psp& operator=(const fake_psp&) = delete;

  uint16_t port() const;

  /// "http://127.0.0.1:<port>"
  std::string url() const;

  /// The status a new authorisation gets: "authorized" (default), "declined" or "pending".
  void answer_authorizations_with(std::string status);

  /// Answers the next `n` requests (any path) with 500 before handling them.
  void fail_next(int n);

  /// Sets the PSP's status of a payment it knows (as its own processing would).
  void set_status(const std::string& payment_id, std::string status);

  /// Every request so far, in order.
  std::vector<call> calls() const;

  /// Number of requests whose target ends with `suffix` (e.g. "/void").
  size_t count(const std::string& suffix) const;

  /// The PSP's status of the payment authorised under `payment_id` ("" if unknown).
  std::string status_of(const std::string& payment_id) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace mercato::test
