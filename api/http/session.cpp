#include "api/http/session.hpp"

#include "api/http/request_id.hpp"
#include "api/json/problem.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>

#include <array>
#include <charconv>
#include <ctime>

namespace mercato::api {

namespace http = beast::http;

namespace {

// RFC 9110 Date header value, formatted once per second per thread.
std::string_view http_date() {
  thread_local std::time_t cached_second = 0;
  thread_local char buf[32];
  thread_local size_t len = 0;
  auto now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    len = std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return {buf, len};
}

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, res.ptr);
}

bool is_http_parse_error(const beast::error_code& ec) {
  return ec.category() == beast::http::make_error_code(http::error::bad_method).category();
}

} // namespace

request request_of(const http::request<http::string_body>& msg, http_method method) {
  request req;
  req.method = method;
  req.target = msg.target();
  auto qpos = req.target.find('?');
  req.path = req.target.substr(0, qpos);
  req.query = qpos == std::string_view::npos ? std::string_view{} : req.target.substr(qpos + 1);
  req.authorization = msg[http::field::authorization];
  req.idempotency_key = msg["Idempotency-Key"];
  req.signature = msg["X-Signature"];
  req.if_none_match = msg[http::field::if_none_match];
  req.body = msg.body();
  return req;
}

std::optional<response> read_error_response(const beast::error_code& ec, uint64_t max_body,
                                            uint32_t header_limit) {
  if (ec == http::error::end_of_stream || ec == http::error::partial_message)
    return std::nullopt;
  if (ec == http::error::body_limit)
    return problem_response(413, "payload_too_large",
                            "the request body exceeds " + std::to_string(max_body) + " bytes");
  if (ec == http::error::header_limit)
    return problem_response(431, "invalid_request",
                            "the request header exceeds " + std::to_string(header_limit)
                              + " bytes");
  if (is_http_parse_error(ec))
    return problem_response(400, "invalid_request", "malformed HTTP request: " + ec.message());
  return std::nullopt;
}

// -- session_shared ----------------------------------------------------------------------------

void session_shared::add(const std::shared_ptr<closable>& s) {
  std::lock_guard<std::mutex> guard{mtx};
  sessions.emplace(s.get(), s);
}

void session_shared::remove(const closable* s) {
  std::lock_guard<std::mutex> guard{mtx};
  sessions.erase(s);
  if (sessions.empty())
    all_closed.notify_all();
}

size_t session_shared::open() const {
  std::lock_guard<std::mutex> guard{mtx};
  return sessions.size();
}

// -- http_session ------------------------------------------------------------------------------

http_session::http_session(asio::ip::tcp::socket&& socket, std::shared_ptr<session_shared> shared)
    : shared_(std::move(shared)), stream_(std::move(socket)), deadline_(stream_.get_executor()) {
  head_.reserve(512);
  beast::error_code ec;
  auto peer = stream_.socket().remote_endpoint(ec);
  if (!ec)
    peer_ = peer.address().to_string();
}

http_session::~http_session() {
  shared_->remove(static_cast<const closable*>(this));
}

void http_session::start() {
  asio::dispatch(stream_.get_executor(),
                 beast::bind_front_handler(&http_session::do_read, shared_from_this()));
}

void http_session::do_read() {
  if (closed_)
    return;
  if (close_after_ || shared_->stopping.load(std::memory_order_relaxed))
    return do_close();
  parser_.emplace();
  parser_->body_limit(shared_->max_body);
  parser_->header_limit(shared_->header_limit);
  stream_.expires_after(shared_->read_timeout);
  http::async_read_header(
    stream_, buffer_, *parser_,
    beast::bind_front_handler(&http_session::on_read_header, shared_from_this()));
}

void http_session::on_read_header(beast::error_code ec, std::size_t) {
  if (ec)
    return on_read_error(ec);
  if (parser_->is_done())
    return dispatch();
  // Clients that ask for it (curl does for bodies over 1 KiB) wait for "100 Continue".
  if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
    static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(stream_, asio::buffer(cont.data(), cont.size()),
                      beast::bind_front_handler(&http_session::on_continue, shared_from_this()));
    return;
  }
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_continue(beast::error_code ec, std::size_t) {
  if (ec)
    return on_read_error(ec);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(beast::error_code ec, std::size_t) {
  if (ec)
    return on_read_error(ec);
  dispatch();
}

void http_session::on_read_error(beast::error_code ec) {
  if (ec == asio::error::operation_aborted || closed_)
    return;
  if (ec == http::error::end_of_stream || ec == beast::error::timeout) {
    // Idle keep-alive connection closed by the client, or by our read timeout.
    return do_close();
  }
  if (auto res = read_error_response(ec, shared_->max_body, shared_->header_limit)) {
    begin_request_without_route();
    return do_write(std::move(*res));
  }
  // Reset by peer, half-read message at EOF, ...: nothing to answer.
  shared_->log->debug("http connection ends on read error: {}", ec.message());
  do_close();
}

void http_session::begin_request_without_route() {
  started_ = std::chrono::steady_clock::now();
  method_ = http_method::other;
  request_id_.clear();
  trace_id_.clear();
  if (parser_ && parser_->is_header_done()) {
    auto& msg = parser_->get();
    method_ = parse_method(msg.method_string());
    auto rid = msg["X-Request-ID"];
    if (is_valid_request_id(rid))
      request_id_.assign(rid);
  }
  if (request_id_.empty())
    request_id_ = new_request_id();
  pattern_id_ = static_cast<size_t>(-1); // "unmatched"
  pattern_ = "unmatched";
  keep_alive_ = false; // the stream's state is unknown after a failed read
  linger_ = true;      // unread input may follow: drain it so that the answer is not reset
  http10_ = false;
  awaiting_ = false;
}

void http_session::dispatch() {
  stream_.expires_never();
  started_ = std::chrono::steady_clock::now();
  auto& msg = parser_->get();
  method_ = parse_method(msg.method_string());
  keep_alive_ = msg.keep_alive();
  http10_ = msg.version() < 11;
  auto rid = msg["X-Request-ID"];
  if (is_valid_request_id(rid))
    request_id_.assign(rid);
  else
    request_id_ = new_request_id();
  trace_id_.clear();
  if (auto tp = msg["traceparent"]; !tp.empty()) {
    trace_context tc;
    if (parse_traceparent(tp, tc))
      trace_id_.assign(tc.trace_id);
  }
  auto req = request_of(msg, method_);
  req.request_id = request_id_;
  if (req.path == "/v1/ws" && shared_->ws_upgrade && try_upgrade())
    return;
  auto m = shared_->routes->match(method_, req.path, req.params);
  pattern_id_ = m.pattern_id;
  pattern_ = m.pattern;
  awaiting_ = true;
  auto seq = ++seq_;
  if (auto wait = over_limit(req)) {
    auto res = problem_response(429, "rate_limited",
                                "too many requests; retry in " + std::to_string(wait) + " s");
    res.retry_after_s = static_cast<uint32_t>(wait);
    return on_response(seq, std::move(res));
  }
  if (m.result != router::outcome::found)
    return on_response(seq,
                       unrouted_response(std::move(m), method_, msg.method_string(), req.path));
  self_keepalive_ = shared_from_this();
  deadline_.expires_after(m.deadline.count() > 0 ? m.deadline : shared_->request_timeout);
  deadline_.async_wait([weak = weak_from_this(), seq](beast::error_code ec) {
    if (ec)
      return; // cancelled: answered in time
    if (auto self = weak.lock()) {
      auto res = problem_response(503, "unavailable", "the request timed out; retry");
      res.retry_after_s = 1;
      self->on_response(seq, std::move(res)); // a late answer is then dropped as stale
    }
  });
  try {
    (*m.fn)(req, responder{weak_from_this(), seq});
  } catch (const std::exception& e) {
    shared_->log->error("request {} fails: handler of {} throws: {}", request_id_, pattern_,
                        e.what());
    post_response(seq, problem_response(500, "internal", "internal error"));
  } catch (...) {
    shared_->log->error("request {} fails: handler of {} throws", request_id_, pattern_);
    post_response(seq, problem_response(500, "internal", "internal error"));
  }
}

int64_t http_session::over_limit(const request& req) {
  auto& sh = *shared_;
  if (!sh.limiter)
    return 0;
  std::string client;
  if (!req.authorization.empty()) {
    // Verified tokens are cached per thread: the routes' own check costs no second HMAC.
    auto v = sh.jwt->verify_header(req.authorization, jwt_verifier::now());
    if (v.ok()) {
      if ((sh.exempt_roles & (1u << static_cast<unsigned>(v.who.who))) != 0)
        return 0;
      client = "sub:" + v.who.sub;
    }
  }
  if (client.empty()) // anonymous, or a token that is refused anyway: the address pays
    client = "addr:" + peer_;
  auto reads = method_ == http_method::get || method_ == http_method::head
               || method_ == http_method::options;
  auto wait = sh.limiter->admit(
    client, reads ? rate_limiter::route_class::read : rate_limiter::route_class::write,
    std::chrono::steady_clock::now());
  if (wait > 0 && sh.rate_limited)
    sh.rate_limited->inc();
  return wait;
}

bool http_session::try_upgrade() {
  auto& msg = parser_->get();
  if (msg.method() != http::verb::get || !beast::iequals(msg[http::field::upgrade], "websocket"))
    return false; // the router answers plain requests of /v1/ws (426)
  started_ = std::chrono::steady_clock::now();
  auto& socket = stream_.socket();
  response refusal;
  if (shared_->ws_upgrade(socket, msg, request_id_, refusal)) {
    // The WebSocket session owns the socket now; this session ends without touching it.
    closed_ = true;
    awaiting_ = false;
    return true;
  }
  pattern_id_ = static_cast<size_t>(-1);
  pattern_ = "/v1/ws";
  keep_alive_ = false;
  awaiting_ = false;
  do_write(std::move(refusal));
  return true;
}

void http_session::post_response(uint64_t seq, response&& res) {
  asio::post(stream_.get_executor(),
             [weak = weak_from_this(), seq, res = std::move(res)]() mutable {
               if (auto self = weak.lock())
                 self->on_response(seq, std::move(res));
             });
}

void http_session::on_response(uint64_t seq, response&& res) {
  if (seq != seq_ || !awaiting_ || closed_)
    return; // stale or duplicate answer, or the connection is gone
  awaiting_ = false;
  deadline_.cancel();
  // Safe: the caller (an Asio handler or dispatch()) holds its own reference.
  self_keepalive_.reset();
  do_write(std::move(res));
}

void http_session::do_write(response&& res) {
  bool close = !keep_alive_ || close_after_ || shared_->stopping.load(std::memory_order_relaxed);
  if (res.is_problem)
    body_ = render_problem(res.prob, res.status, request_id_);
  else
    body_ = std::move(res.body);
  bool bodiless = res.status == 204 || res.status == 304 || res.status < 200;
  if (bodiless)
    body_.clear();

  auto& h = head_;
  h.clear();
  h += "HTTP/1.1 ";
  append_number(h, res.status);
  h += ' ';
  h += http::obsolete_reason(static_cast<http::status>(res.status));
  h += "\r\nDate: ";
  h += http_date();
  if (!bodiless) {
    h += "\r\nContent-Type: ";
    h += res.content_type;
    h += "\r\nContent-Length: ";
    append_number(h, body_.size());
  }
  h += "\r\nX-Request-ID: ";
  h += request_id_;
  if (!res.location.empty()) {
    h += "\r\nLocation: ";
    h += res.location;
  }
  if (!res.allow.empty()) {
    h += "\r\nAllow: ";
    h += res.allow;
  }
  if (res.retry_after_s != 0) {
    h += "\r\nRetry-After: ";
    append_number(h, res.retry_after_s);
  }
  if (close)
    h += "\r\nConnection: close";
  else if (http10_)
    h += "\r\nConnection: keep-alive";
  h += "\r\n";
  h += res.extra_headers;
  h += "\r\n";

  // Metrics and the access log: the answer is final from here on.
  auto elapsed = std::chrono::steady_clock::now() - started_;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
  shared_->metrics->record(pattern_id_, method_, res.status, static_cast<double>(us) / 1e6);
  if (shared_->log->should_log(spdlog::level::debug))
    shared_->log->debug("request method={} route={} status={} us={} request_id={} trace_id={}",
                        to_string(method_), pattern_, res.status, us, request_id_,
                        trace_id_.empty() ? "-" : trace_id_);

  bool send_body = method_ != http_method::head && !body_.empty();
  std::array<asio::const_buffer, 2> bufs{asio::buffer(head_),
                                         send_body ? asio::buffer(body_) : asio::const_buffer{}};
  writing_ = true;
  stream_.expires_after(shared_->read_timeout);
  asio::async_write(stream_, bufs,
                    beast::bind_front_handler(&http_session::on_write, shared_from_this(), close));
}

void http_session::on_write(bool close, beast::error_code ec, std::size_t) {
  writing_ = false;
  if (body_.capacity() > 64 * 1024)
    std::string{}.swap(body_); // do not keep a /metrics-sized buffer per idle connection
  if (ec) {
    if (ec != asio::error::operation_aborted)
      shared_->log->debug("http connection ends on write error: {}", ec.message());
    return do_close();
  }
  if (linger_)
    return do_linger();
  if (close || close_after_)
    return do_close();
  do_read();
}

void http_session::do_linger() {
  // Lingering close: half-close, then discard what the client still sends (bounded in time and
  // bytes). Closing with unread input would reset the connection, and the client could lose the
  // error response (e.g. 413 while it is still uploading the body).
  if (closed_)
    return;
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  stream_.expires_after(std::chrono::seconds{2});
  buffer_.clear();
  stream_.async_read_some(buffer_.prepare(16 * 1024),
                          beast::bind_front_handler(&http_session::on_linger, shared_from_this()));
}

void http_session::on_linger(beast::error_code ec, std::size_t n) {
  constexpr size_t max_linger_bytes = 16 * 1024 * 1024;
  lingered_ += n;
  if (ec || closed_ || lingered_ > max_linger_bytes)
    return do_close();
  stream_.async_read_some(buffer_.prepare(16 * 1024),
                          beast::bind_front_handler(&http_session::on_linger, shared_from_this()));
}

void http_session::do_close() {
  if (closed_)
    return;
  closed_ = true;
  awaiting_ = false;
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  stream_.socket().close(ec); // cancels a pending read; its handler drops the last reference
  self_keepalive_.reset();
}

void http_session::shutdown(bool force) {
  asio::post(stream_.get_executor(), [self = shared_from_this(), force] {
    if (self->closed_)
      return;
    if (!force && (self->awaiting_ || self->writing_))
      self->close_after_ = true;
    else
      self->do_close();
  });
}

} // namespace mercato::api
