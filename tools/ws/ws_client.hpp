#pragma once

// A client of Mercato's WebSocket endpoint `GET /v1/ws` (API.md "WebSocket"), shared by
// `mercato-bench push` and `mercatoctl watch`. One object is one connection; any number of them
// run on the caller's io_context, and their handlers run on the thread(s) running it. Beast
// stays in ws_client.cpp, so that the tools that use it do not compile it again.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mercato::tools {

/// Where an http:// base URL points.
struct http_target {
  std::string host;
  std::string port = "80";
  std::string prefix; ///< path before /v1, without a trailing slash
};

/// Parses http://HOST[:PORT][/PATH] (HOST may be a bracketed IPv6 address). Throws
/// std::invalid_argument with a message naming the URL.
http_target parse_http_url(const std::string& url);

/// {"op":"subscribe","topic":T} with "last_seq" when given.
std::string subscribe_frame(const std::string& topic, std::optional<uint64_t> last_seq = {});

/// {"op":"unsubscribe","topic":T}
std::string unsubscribe_frame(const std::string& topic);

/// {"op":"ping"}
std::string ping_frame();

/// How a connection ended.
struct ws_end {
  enum class kind {
    connect_failed,    ///< no TCP connection (refused, unreachable, timed out)
    handshake_refused, ///< the server answered the upgrade with another HTTP status
    handshake_failed,  ///< the upgrade failed otherwise (timeout, bad answer)
    closed,            ///< the server closed the WebSocket (see close_code)
    error,             ///< the connection failed after the upgrade
    stopped,           ///< close() or abort() was called
  };
  kind what = kind::error;
  int http_status = 0; ///< handshake_refused: the answer's status
  std::string body;    ///< handshake_refused: the answer's body (a problem, usually)
  int close_code = 0;  ///< closed: the code of the server's close frame (1000, 1008, ...)
  std::string detail;  ///< the error's text, or the close frame's reason
  std::string describe() const;
};

/// Settings of one connection.
struct ws_options {
  std::string token;                                     ///< sent as `Authorization: Bearer`
  std::chrono::milliseconds connect_timeout{10000};      ///< TCP connect, then the upgrade
  std::chrono::milliseconds idle_timeout{0};             ///< > 0: pings when idle, ends when silent
  std::size_t max_message_bytes = std::size_t{16} << 20; ///< larger messages end the connection
};

/// What a connection reports. Each may be empty.
struct ws_handlers {
  std::function<void()> on_open; ///< upgraded: send() may be called
  /// One text or binary message; the view is valid only during the call.
  std::function<void(std::string_view message)> on_message;
  std::function<void(const ws_end&)> on_end; ///< exactly once, last
};

/// One connection to `<prefix>/v1/ws` of a target. Not thread-safe: call it, and run the
/// io_context that its handlers run on, from one thread.
class ws_connection {
public:
  virtual ~ws_connection() = default;

  /// Connects to the first endpoint that answers, upgrades, then reads until the end.
  virtual void start(const boost::asio::ip::tcp::resolver::results_type& endpoints) = 0;

  /// Queues a text frame; frames queued before on_open are sent once the upgrade is done.
  virtual void send(std::string text) = 0;

  /// Closes with 1000 (normal closure); on_end follows with kind stopped.
  virtual void close() = 0;

  /// Drops the TCP connection at once; on_end follows with kind stopped.
  virtual void abort() = 0;

  /// Bytes queued by send() and not yet written.
  virtual std::size_t queued_bytes() const = 0;
};

/// A connection to `target` (not started).
std::shared_ptr<ws_connection> make_ws_connection(boost::asio::io_context& ioc,
                                                  const http_target& target, ws_options options,
                                                  ws_handlers handlers);

} // namespace mercato::tools
