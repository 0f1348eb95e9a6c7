#pragma once

// A blocking HTTP(S) call through libcurl, for the adapters that call other services' APIs (the
// marketplace pull sync, the SMS and push providers); they run it in detached actors, so blocking
// holds up only their own work. Unlike post_json it speaks TLS, keeps connections open between
// the calls of one thread, and returns the headers a caller must obey (Retry-After).

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mercato::net {

struct http_call_request {
  std::string method = "GET"; ///< GET or POST
  std::string url;            ///< http:// or https://, query included
  std::string body;           ///< sent with POST
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{30000};      ///< connect to last byte
  std::size_t max_body_bytes = 32 * 1024 * 1024; ///< a longer answer fails the call
};

struct http_call_result {
  int status = 0;    ///< 0: no HTTP answer (`error` says why)
  std::string error; ///< transport failure, or empty
  std::string body;
  /// Retry-After of the answer in seconds (the delta form; an HTTP date is ignored).
  std::optional<std::chrono::seconds> retry_after;
};

/// A POST of a JSON body to an API that takes a bearer key and an idempotency key and answers
/// with a small JSON (the SMS and push providers, the PSP): answers past 64 KiB fail the call.
/// The caller sets its timeout.
http_call_request json_post(std::string url, std::string body, const std::string& bearer_key,
                            const std::string& idempotency_key);

/// Performs `req` on this thread's handle, over a connection it kept open if it has one to that
/// host. Never throws.
http_call_result http_call(const http_call_request& req);

} // namespace mercato::net
