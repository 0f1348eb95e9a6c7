#pragma once

// One HTTP/1.1 connection (internal to api/http; includes Beast).

#include "api/auth/jwt.hpp"
#include "api/http/rate_limiter.hpp"
#include "api/http/route_metrics.hpp"
#include "api/http/router.hpp"
#include "api/http/types.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace mercato::api {

namespace asio = boost::asio;
namespace beast = boost::beast;

/// A connection the server closes when it stops: an HTTP session or a WebSocket session.
class closable {
public:
  virtual ~closable() = default;
  /// Any thread: closes once the work in flight is done; with `force`, at once.
  virtual void shutdown(bool force) = 0;
};

/// Takes over a WebSocket upgrade request (the socket and the parsed request); returns false,
/// with `refusal` to answer instead, when it refuses the handshake.
using ws_upgrade_fn = std::function<bool(asio::ip::tcp::socket& socket,
                                         beast::http::request<beast::http::string_body>& msg,
                                         const std::string& request_id, response& refusal)>;

/// The answer to a request that could not be read: 413 over `max_body`, 431 over `header_limit`,
/// 400 for malformed HTTP; none (close quietly) for a connection that ended, timed out or broke.
std::optional<response> read_error_response(const beast::error_code& ec, uint64_t max_body,
                                            uint32_t header_limit);

/// The route handlers' view of `msg` (which must outlive it): path and query split from the
/// target, and the headers the handlers read. `request_id` and `params` are left to the caller.
request request_of(const beast::http::request<beast::http::string_body>& msg, http_method method);

/// What all sessions of one server share. Outlives every session (each holds a shared_ptr).
struct session_shared {
  std::shared_ptr<asio::io_context> ioc; // sessions keep it alive (CAF threads may post late)
  std::shared_ptr<const router> routes;
  std::unique_ptr<route_metrics> metrics;
  std::shared_ptr<spdlog::logger> log;
  std::chrono::milliseconds read_timeout{30000};
  /// Deadline of one request, enforced here at the edge with the connection's own timer, so
  /// that actor requests on the hot path need no CAF timeout (each one wakes CAF's clock thread).
  std::chrono::milliseconds request_timeout{5000};
  uint64_t max_body = 1 << 20;
  uint32_t header_limit = 16 * 1024;
  std::atomic<bool> stopping{false};

  // Live sessions: registered on accept, removed by the session's destructor.
  mutable std::mutex mtx;
  std::condition_variable all_closed;
  std::unordered_map<const closable*, std::weak_ptr<closable>> sessions;

  /// Over-limit clients get 429 `rate_limited` (null: no limits). A client is the subject of a
  /// token that verifies with `jwt`, else the peer address; roles in `exempt_roles` (a bit per
  /// role) are not limited.
  std::unique_ptr<rate_limiter> limiter;
  std::shared_ptr<const jwt_verifier> jwt;
  unsigned exempt_roles = 0;
  runtime::counter* rate_limited = nullptr; ///< mercato_http_rate_limited_total
  /// Open connections (HTTP and WebSocket) beyond which new ones are refused with 503.
  size_t max_connections = SIZE_MAX;
  runtime::counter* refused = nullptr; ///< mercato_http_connections_refused_total

  /// Serves GET /v1/ws upgrades when set (before the server starts).
  ws_upgrade_fn ws_upgrade;
  /// Stops what serves the upgraded connections once every session is closed; `force` when some
  /// could not be.
  std::function<void(bool force)> ws_stop;

  void add(const std::shared_ptr<closable>& s);
  void remove(const closable* s);
  size_t open() const;
};

/// A keep-alive HTTP/1.1 connection on its own strand. Reads one request, dispatches it, waits
/// for the handler's answer (which arrives through `post_response`, from any thread), writes it,
/// then reads the next; pipelined requests therefore get their answers in order.
class http_session : public response_sink,
                     public closable,
                     public std::enable_shared_from_this<http_session> {
public:
  http_session(asio::ip::tcp::socket&& socket, std::shared_ptr<session_shared> shared);
  ~http_session() override;

  /// Dispatches the first read onto the strand.
  void start();

  /// Any thread: posts the answer of request `seq` onto the strand.
  void post_response(uint64_t seq, response&& res) override;

  /// Any thread: closes the connection once the request in flight (if any) is answered; with
  /// `force`, closes at once and drops the request in flight.
  void shutdown(bool force) override;

private:
  void do_read();
  void on_read_header(beast::error_code ec, std::size_t n);
  void on_continue(beast::error_code ec, std::size_t n);
  void on_read(beast::error_code ec, std::size_t n);
  void on_read_error(beast::error_code ec);
  void dispatch();
  void on_response(uint64_t seq, response&& res);
  void do_write(response&& res);
  void on_write(bool close, beast::error_code ec, std::size_t n);
  void do_close();
  void do_linger();
  void on_linger(beast::error_code ec, std::size_t n);
  void begin_request_without_route();     // request id and timing for parse failures
  bool try_upgrade();                     // hands a /v1/ws upgrade to the WebSocket endpoint
  int64_t over_limit(const request& req); // seconds until the client may ask again; 0: now

  std::shared_ptr<session_shared> shared_;
  beast::tcp_stream stream_;
  std::string peer_;            // the client's address, for rate limits of requests without a token
  asio::steady_timer deadline_; // of the request being answered; on the strand
  beast::flat_buffer buffer_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;

  // Holds the session alive while a handler's answer is outstanding (no Asio operation owns it
  // then); reset when the answer arrives or the connection closes.
  std::shared_ptr<http_session> self_keepalive_;
  uint64_t seq_ = 0;
  bool awaiting_ = false;    // a handler's answer is outstanding
  bool writing_ = false;     // a response is being written
  bool close_after_ = false; // stop() asked: close after the current response
  bool closed_ = false;
  bool linger_ = false; // after an error answer: drain the input before closing
  size_t lingered_ = 0; // bytes discarded while lingering

  // The request being answered.
  std::string request_id_;
  std::string trace_id_;
  http_method method_ = http_method::get;
  size_t pattern_id_ = 0;
  std::string_view pattern_;
  bool keep_alive_ = true;
  bool http10_ = false;
  std::chrono::steady_clock::time_point started_;

  // Serialised response: headers and body written with one gathered write.
  std::string head_;
  std::string body_;
};

} // namespace mercato::api
