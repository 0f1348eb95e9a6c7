#include "api/http/server.hpp"

#include "api/http/session.hpp"
#include "api/routes/common.hpp"
#include "api/ws/endpoint.hpp"
#include "runtime/logging.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace mercato::api {

namespace {

using tcp = asio::ip::tcp;

// "host:port", "[v6]:port", ":port" (all interfaces).
tcp::endpoint parse_endpoint(asio::io_context& ioc, const std::string& addr) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos)
    throw std::runtime_error("http_addr '" + addr + "' must be host:port");
  auto host = addr.substr(0, colon);
  auto port_text = addr.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty())
    host = "0.0.0.0";
  unsigned long port = 0;
  try {
    size_t used = 0;
    port = std::stoul(port_text, &used);
    if (used != port_text.size() || port > 65535)
      throw std::out_of_range("port");
  } catch (const std::exception&) {
    throw std::runtime_error("http_addr '" + addr + "' has an invalid port");
  }
  beast::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (!ec)
    return {ip, static_cast<unsigned short>(port)};
  tcp::resolver resolver{ioc};
  auto results = resolver.resolve(host, port_text, tcp::resolver::passive, ec);
  if (ec || results.empty())
    throw std::runtime_error("http_addr '" + addr + "': cannot resolve '" + host
                             + "': " + ec.message());
  return results.begin()->endpoint();
}

void write_port_file(const std::string& path, uint16_t port) {
  auto tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out{tmp, std::ios::trunc};
    out << port << '\n';
    out.flush();
    if (!out)
      throw std::runtime_error("cannot write port file '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot rename '" + tmp + "' to port file '" + path + "'");
  }
}

} // namespace

// One over the connection cap: a short 503 and a close, written at once (a fresh socket's send
// buffer takes it whole), so that the client learns why instead of seeing a reset.
void refuse_connection(tcp::socket& socket) {
  static const std::string body
    = R"({"type":"https://mercato.dev/problems/unavailable","title":"Service unavailable",)"
      R"("status":503,"detail":"too many open connections; retry","code":"unavailable"})";
  static const std::string text = "HTTP/1.1 503 Service Unavailable\r\n"
                                  "Content-Type: application/problem+json\r\n"
                                  "Retry-After: 1\r\nConnection: close\r\nContent-Length: "
                                  + std::to_string(body.size()) + "\r\n\r\n" + body;
  beast::error_code ec;
  asio::write(socket, asio::buffer(text), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

// Bit per role, from "service,admin".
unsigned role_mask(std::string_view names) {
  unsigned mask = 0;
  while (!names.empty()) {
    auto comma = names.find(',');
    role r;
    if (parse_role(names.substr(0, comma), r))
      mask |= 1u << static_cast<unsigned>(r);
    names = comma == std::string_view::npos ? std::string_view{} : names.substr(comma + 1);
  }
  return mask;
}

struct http_server::impl {
  runtime::node_handles handles;
  std::shared_ptr<const router> routes;
  std::shared_ptr<asio::io_context> ioc;
  std::shared_ptr<session_shared> shared;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> retry_timer;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::shared_ptr<spdlog::logger> log;
  uint16_t bound_port = 0;
  bool start_called = false;
  bool started = false; // listening with I/O threads running
  bool stopped = false;

  void do_accept() {
    acceptor->async_accept(
      asio::make_strand(*ioc),
      [this](beast::error_code ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
  }

  void refuse(tcp::socket& socket) {
    if (shared->refused)
      shared->refused->inc();
    log->warn("http refuses a connection: {} open, the cap is {}", shared->open(),
              shared->max_connections);
    refuse_connection(socket);
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open())
      return;
    if (ec) {
      // E.g. EMFILE: log once per failure and back off instead of spinning.
      log->warn("http accept fails: {}", ec.message());
      retry_timer->expires_after(std::chrono::milliseconds{100});
      retry_timer->async_wait([this](beast::error_code tec) {
        if (!tec && acceptor->is_open())
          do_accept();
      });
      return;
    }
    if (shared->stopping.load()) {
      beast::error_code ignored;
      socket.close(ignored);
      return;
    }
    if (shared->open() >= shared->max_connections) {
      refuse(socket);
      do_accept();
      return;
    }
    beast::error_code opt_ec;
    socket.set_option(tcp::no_delay{true}, opt_ec); // small responses: no Nagle delay
    auto session = std::make_shared<http_session>(std::move(socket), shared);
    shared->add(session);
    session->start();
    do_accept();
  }
};

http_server::http_server(runtime::node_handles handles)
    : http_server(handles, make_router(handles)) {}

http_server::http_server(runtime::node_handles handles, std::shared_ptr<const router> routes)
    : impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  d.handles = std::move(handles);
  d.routes = std::move(routes);
  d.log = runtime::logger("api");
  d.ioc = std::make_shared<asio::io_context>(std::max(1, d.handles.cfg.server.io_threads));
  d.shared = std::make_shared<session_shared>();
  d.shared->ioc = d.ioc;
  d.shared->routes = d.routes;
  d.shared->metrics = std::make_unique<route_metrics>(d.handles.metrics, d.routes->patterns());
  d.shared->log = d.log;
  auto& srv = d.handles.cfg.server;
  if (srv.read_timeout_ms > 0)
    d.shared->read_timeout = std::chrono::milliseconds{srv.read_timeout_ms};
  if (d.handles.cfg.entity.request_timeout_ms > 0)
    d.shared->request_timeout = std::chrono::milliseconds{d.handles.cfg.entity.request_timeout_ms};
  if (srv.max_body_bytes > 0)
    d.shared->max_body = static_cast<uint64_t>(srv.max_body_bytes);
  const auto& limits = d.handles.cfg.limits;
  if (limits.read_rps > 0 || limits.write_rps > 0) {
    d.shared->limiter
      = std::make_unique<rate_limiter>(rate_limiter::limit{limits.read_rps, limits.read_burst},
                                       rate_limiter::limit{limits.write_rps, limits.write_burst});
    d.shared->jwt = make_verifier(d.handles.cfg.auth);
    d.shared->exempt_roles = role_mask(limits.exempt_roles);
  }
  d.shared->max_connections = static_cast<size_t>(std::max<int64_t>(1, limits.max_connections));
  if (d.handles.metrics) {
    d.shared->rate_limited = &d.handles.metrics->get_counter(
      "mercato_http_rate_limited_total", "Requests answered 429 for being over a client's limit.");
    d.shared->refused = &d.handles.metrics->get_counter(
      "mercato_http_connections_refused_total",
      "Connections refused with 503 for being over limits.max_connections.");
  }
  d.shared->ws_upgrade = ws::make_upgrade_handler(d.handles, d.shared);
}

http_server::~http_server() {
  stop();
}

void http_server::start() {
  auto& d = *impl_;
  if (d.start_called)
    throw std::logic_error("http_server::start called twice");
  d.start_called = true;
  auto& srv = d.handles.cfg.server;
  auto endpoint = parse_endpoint(*d.ioc, srv.http_addr);
  d.acceptor = std::make_unique<tcp::acceptor>(asio::make_strand(*d.ioc));
  d.retry_timer = std::make_unique<asio::steady_timer>(d.acceptor->get_executor());
  beast::error_code ec;
  d.acceptor->open(endpoint.protocol(), ec);
  if (!ec)
    d.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec)
    d.acceptor->bind(endpoint, ec);
  if (!ec)
    d.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + srv.http_addr + ": " + ec.message());
  d.bound_port = d.acceptor->local_endpoint().port();
  if (!srv.port_file.empty())
    write_port_file(srv.port_file, d.bound_port);
  d.work.emplace(d.ioc->get_executor());
  asio::post(d.acceptor->get_executor(), [&d] { d.do_accept(); });
  auto n = std::max(1, srv.io_threads);
  d.threads.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    d.threads.emplace_back([ioc = d.ioc, log = d.log] {
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (const std::exception& e) { // handlers should not throw; keep serving if one does
          log->error("http I/O thread catches: {}", e.what());
        }
      }
    });
  d.started = true;
  d.log->info("http listens on {}:{} with {} I/O threads", endpoint.address().to_string(),
              d.bound_port, n);
}

void http_server::stop() {
  auto& d = *impl_;
  if (!d.started || d.stopped)
    return;
  d.stopped = true;
  d.shared->stopping.store(true);
  // 1. Stop accepting (on the acceptor's strand).
  asio::post(d.acceptor->get_executor(), [&d] {
    beast::error_code ec;
    d.acceptor->close(ec);
    d.retry_timer->cancel();
  });
  // 2. Close idle sessions; busy ones close after their response.
  auto close_all = [&d](bool force) {
    std::vector<std::shared_ptr<closable>> live;
    {
      std::lock_guard<std::mutex> guard{d.shared->mtx};
      for (auto& [ptr, weak] : d.shared->sessions)
        if (auto s = weak.lock())
          live.push_back(std::move(s));
    }
    for (auto& s : live)
      s->shutdown(force);
  };
  close_all(false);
  // 3. Drain, bounded by the request timeout.
  auto drain = std::chrono::milliseconds{
    std::clamp<int64_t>(d.handles.cfg.entity.request_timeout_ms + 1000, 1000, 10000)};
  auto wait_closed = [&d](std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock{d.shared->mtx};
    return d.shared->all_closed.wait_for(lock, limit, [&d] { return d.shared->sessions.empty(); });
  };
  if (!wait_closed(drain)) {
    d.log->warn("http stop: {} connections still busy after {} ms, closing them", connections(),
                drain.count());
    close_all(true);
    wait_closed(std::chrono::milliseconds{1000});
  }
  // 4. Let the I/O threads run out of work, then join them.
  d.work.reset();
  auto stuck = connections() > 0;
  if (stuck)
    d.ioc->stop(); // a session held by a late actor reply; its socket is closed already
  if (d.shared->ws_stop)
    d.shared->ws_stop(stuck);
  for (auto& t : d.threads)
    if (t.joinable())
      t.join();
  d.threads.clear();
  // The WebSocket lanes end here, on this thread, once their threads are joined: nothing else
  // holds them but sessions that are gone or stuck.
  d.shared->ws_upgrade = nullptr;
  d.shared->ws_stop = nullptr;
  d.log->info("http stopped");
}

uint16_t http_server::port() const noexcept {
  return impl_->bound_port;
}

size_t http_server::connections() const noexcept {
  std::lock_guard<std::mutex> guard{impl_->shared->mtx};
  return impl_->shared->sessions.size();
}

} // namespace mercato::api
