#pragma once

// An HTTP server on 127.0.0.1 (a free port) for fakes of the third parties Mercato calls: one
// request per connection, answered by a handler on the server's own thread.

#include <boost/beast/http.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mercato::test {

class loopback_http_server {
public:
  using request = boost::beast::http::request<boost::beast::http::string_body>;

  /// What a handler answers.
  struct answer {
    boost::beast::http::status status = boost::beast::http::status::ok;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers; ///< e.g. Retry-After
  };

  /// Listens and serves until destroyed. The handler runs on the server's thread, one request at
  /// a time.
  explicit loopback_http_server(std::function<answer(const request&)> handler);
  ~loopback_http_server();

  loopback_http_server(const loopback_http_server&) = delete;
  loopback_http_server& operator=(const loopback_http_server&) = delete;

  uint16_t port() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace mercato::test
