#pragma once

// A small synchronous HTTP/1.1 client for end-to-end tests (Boost.Beast). Tests may block:
// they are not the server.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mercato::test {

/// One response. `status` 0 means no response arrived (the error is then in `body`).
struct http_response {
  int status = 0;
  std::map<std::string, std::string> headers; ///< lower-case names; repeated ones joined by ", "
  std::string body;

  /// The body parsed as JSON; throws nlohmann::json::parse_error when it is not JSON.
  nlohmann::json json() const;

  /// The value of header `name` (any case), or "" when absent.
  std::string header(const std::string& name) const;

  /// Whether header `name` (any case) is present.
  bool has_header(const std::string& name) const;

  /// "HTTP <status> <content-type>: <body, cut at 500 bytes>" for assertion messages.
  std::string describe() const;
};

/// One request. `headers` are sent as given; Host, Content-Length and (for a non-empty body
/// without one) `Content-Type: application/json` are added.
struct http_request {
  std::string method = "GET";
  std::string target = "/";
  std::string body{};
  std::vector<std::pair<std::string, std::string>> headers{};

  /// Adds `Authorization: Bearer <token>` unless `token` is empty.
  http_request& bearer(const std::string& token);
  /// Adds a header.
  http_request& with_header(std::string name, std::string value);
};

/// A request with a JSON body.
http_request json_request(std::string method, std::string target, const nlohmann::json& body,
                          const std::string& token = {});

/// One keep-alive TCP connection to one server, reconnecting when the server closed it.
/// Not thread-safe: one client per thread.
class http_client {
public:
  http_client(std::string host, uint16_t port,
              std::chrono::milliseconds timeout = std::chrono::seconds{10});
  ~http_client();

  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends `req` and reads the response. Throws std::runtime_error when no response arrives
  /// (connection refused, reset, timeout). A request that finds its idle keep-alive
  /// connection closed by the server is sent once more on a new connection.
  http_response request(const http_request& req);

  /// Like request(), but returns status 0 with the error text as body instead of throwing.
  http_response try_request(const http_request& req) noexcept;

  http_response get(const std::string& target, const std::string& token = {});
  http_response del(const std::string& target, const std::string& token = {});
  http_response post(const std::string& target, const nlohmann::json& body,
                     const std::string& token = {});
  http_response put(const std::string& target, const nlohmann::json& body,
                    const std::string& token = {});

  /// Opens the connection now (request() does so on demand).
  void connect();

  /// Closes the connection (the next request opens a new one).
  void close();

  /// Number of TCP connections opened so far (for keep-alive checks).
  int connections_opened() const {
    return connections_opened_;
  }

private:
  enum class outcome { ok, stale, failed };
  outcome exchange(const http_request& req, http_response& out, std::string& error);

  std::string host_;
  uint16_t port_;
  std::chrono::milliseconds timeout_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  int connections_opened_ = 0;
};

/// Options of run_concurrently().
struct concurrency_options {
  size_t connections = 8;                                      ///< threads, one client each
  std::chrono::milliseconds timeout{std::chrono::seconds{30}}; ///< per request
  /// If set, incremented after each request completes (with or without a response), so that
  /// another thread can act part-way through a run.
  std::atomic<size_t>* completed = nullptr;
};

/// Sends every request of `reqs` over `opts.connections` concurrent keep-alive connections
/// (each thread connects first, then all start together) and returns the responses in the
/// order of `reqs`. A request that got no response has status 0 and the error as body.
std::vector<http_response> run_concurrently(const std::string& host, uint16_t port,
                                            const std::vector<http_request>& reqs,
                                            const concurrency_options& opts = {});

} // namespace mercato::test
