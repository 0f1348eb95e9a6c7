#pragma once

// A blocking HTTP/1.1 POST for the adapters that call out (the webhook publisher, the http
// payment provider); they run it in detached actors, so blocking holds up only their own
// work. Plain http:// only.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace mercato::net {

/// What one POST came to.
struct post_result {
  int status = 0;    ///< 0: no HTTP answer (`error` says why)
  std::string error; ///< network failure, or empty
  std::string body;  ///< at most the first 64 KiB of the answer

  bool is_success() const {
    return status >= 200 && status < 300;
  }
};

/// `url` split into host, port and target; `error` is set when it is not http://HOST[:PORT][/P].
struct http_url {
  std::string host;
  std::string port;
  std::string target; ///< "/" when the URL has no path
  std::string error;
};

/// Parses an http:// URL.
http_url parse_http_url(const std::string& url);

/// POSTs `body` as application/json with `headers` on a fresh connection. Never throws.
post_result post_json(const http_url& url, const std::string& body,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      std::chrono::milliseconds timeout);

} // namespace mercato::net
