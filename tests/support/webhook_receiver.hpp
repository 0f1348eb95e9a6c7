#pragma once

// A webhook receiver on loopback for tests of the outbox publisher: records every request and
// answers 200, or 500 for the first N requests, for every request, or for chosen event ids.
// Runs on its own thread; all members are thread-safe.

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace mercato::test {

class webhook_receiver {
public:
  /// One request as received.
  struct request {
    std::string target;
    std::string event_id;  ///< X-Mercato-Event-Id
    std::string signature; ///< X-Signature
    std::string body;
    int answered = 0; ///< the status it got
  };

  /// Listens on 127.0.0.1 on a free port.
  webhook_receiver();
  ~webhook_receiver();

  webhook_receiver(const webhook_receiver&) = delete;
  webhook_receiver& operator=(const webhook_receiver&) = delete;

  /// "http://127.0.0.1:<port>/hook"
  std::string url() const;

  /// Answers the next `n` requests with 500.
  void fail_next(int n);

  /// Answers every request with 500 while `on`.
  void fail_always(bool on);

  /// Answers every request carrying event id `id` with 500.
  void fail_event(const std::string& id);

  /// Answers 200 again to everything (undoes fail_next, fail_always and fail_event).
  void clear_failures();

  /// Every request so far, in arrival order.
  std::vector<request> requests() const;

  /// The requests answered 2xx, first delivery of each event id only, in arrival order (what a
  /// receiver that dedupes by event id processes).
  std::vector<request> deduped() const;

  /// Number of distinct event ids answered 2xx.
  size_t delivered_count() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace mercato::test
