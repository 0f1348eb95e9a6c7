#pragma once

// The HTTP/1.1 front of a node. Beast stays behind a pimpl: including this header costs nothing
// heavy, so runtime/ can own a server without compiling Asio.

#include "api/http/router.hpp"
#include "runtime/node.hpp"

#include <cstdint>
#include <memory>

namespace mercato::api {

/// Listens on `cfg.server.http_addr`, runs `cfg.server.io_threads` Asio threads and serves the
/// routes of the API (api/routes) over keep-alive HTTP/1.1 sessions: one strand per connection,
/// pipelined requests answered in order, `read_timeout_ms` idle timeout, `max_body_bytes` body
/// limit (413), 16 KiB header limit (431). Handlers talk to actors through one-shot actors; I/O
/// threads never wait on them.
///
/// Lifecycle (runtime/): construct after the actor system and the handles exist, `start()`,
/// later `stop()` before shutting the actor system down; the destructor stops too.
///
///     api::http_server http{handles};
///     http.start();                      // throws std::runtime_error if it cannot listen
///     log->info("http listens on {}", http.port());
///     ...                                // until SIGTERM
///     http.stop();                       // graceful; then stop the actor system
class http_server {
public:
  /// Serves the full API (`make_router(handles)`).
  explicit http_server(runtime::node_handles handles);

  /// Serves `routes` instead (tests, tools). `handles.sys` may be null when no route needs it.
  http_server(runtime::node_handles handles, std::shared_ptr<const router> routes);

  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds, listens, writes `cfg.server.port_file` (if set; via a temporary file and rename, so
  /// readers never see a partial file) and starts the I/O threads. Throws std::runtime_error with
  /// a readable message when the address is invalid, the port is taken or the port file cannot be
  /// written. Call once.
  void start();

  /// Graceful stop, idempotent, blocking: stops accepting, closes idle connections at once, lets
  /// requests in flight finish (their responses carry `Connection: close`) for up to
  /// `min(request_timeout_ms + 1 s, 10 s)`, then closes the rest and joins the I/O threads.
  void stop();

  /// The bound port (the real one when `http_addr` asked for port 0); 0 before start().
  uint16_t port() const noexcept;

  /// Number of open connections (for metrics and tests).
  size_t connections() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace mercato::api
