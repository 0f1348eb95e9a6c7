// The WebSocket sessions of /v1/ws (Beast). One session per connection, on a fan-out lane
// (lane.hpp): the connection's socket moves to the lane's io_context at the upgrade, and
// everything of the session — subscriptions, sequencing, the send queue — runs on the lane's one
// thread, which also offers it the hub's frames.

#include "api/json/fields.hpp"
#include "api/json/problem.hpp"
#include "api/routes/common.hpp"
#include "api/ws/endpoint.hpp"
#include "api/ws/frames.hpp"
#include "api/ws/lane.hpp"
#include "api/ws/topic_cursor.hpp"
#include "api/ws/ws_env.hpp"
#include "runtime/logging.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace mercato::api::ws {

namespace websocket = beast::websocket;
namespace http = beast::http;

namespace {

// Private-use close code (RFC 6455 §7.4.2) for a session whose token expired; 4401 echoes 401.
constexpr auto token_expired = static_cast<websocket::close_code>(4401);

// A frame waiting to be written: shared with every subscriber of its topic, or the session's own.
struct out_frame {
  runtime::frame_ptr shared;
  std::string own;

  const std::string& text() const noexcept {
    return shared ? shared->text : own;
  }
};

// The frames waiting to be written, oldest first: a vector read from the front. An idle session
// holds no allocation for it (a std::deque allocates a 512-byte block even when empty), and a
// queue that drains gives back what a burst made it grow to.
class send_queue {
public:
  bool empty() const noexcept {
    return head_ == items_.size();
  }
  size_t size() const noexcept {
    return items_.size() - head_;
  }
  const out_frame& front() const {
    return items_[head_];
  }
  void push_back(out_frame f) {
    items_.push_back(std::move(f));
  }
  void pop_front() {
    items_[head_] = {}; // the shared frame may be the last reference
    if (++head_ == items_.size())
      return clear();
    // A queue that never drains still reuses its front: what was written is cut off once it is
    // half of the vector, so the vector stays within twice the frames queued.
    if (head_ >= 16 && 2 * head_ >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  /// Drops every frame but the oldest (the one on the wire).
  void keep_front() {
    if (size() > 1)
      items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(head_) + 1, items_.end());
  }
  void clear() {
    std::vector<out_frame>{}.swap(items_);
    head_ = 0;
  }

private:
  std::vector<out_frame> items_;
  size_t head_ = 0;
};

class ws_session : public lane_member,
                   public closable,
                   public std::enable_shared_from_this<ws_session> {
public:
  ws_session(asio::ip::tcp::socket&& socket, ws_lane& lane, std::shared_ptr<const ws_env> env,
             std::shared_ptr<session_shared> shared, std::optional<principal> who,
             int64_t expires_at_s, std::string request_id)
      : lane_(lane.shared_from_this()), env_(std::move(env)), shared_(std::move(shared)),
        who_(std::move(who)), expires_at_s_(expires_at_s), request_id_(std::move(request_id)),
        ws_(std::move(socket)), close_timer_(ws_.get_executor()),
        expiry_timer_(ws_.get_executor()) {
    const auto& cfg = env_->handles.cfg.ws;
    max_frames_ = static_cast<size_t>(cfg.max_queued_frames);
    max_bytes_ = static_cast<size_t>(cfg.max_queued_bytes);
  }

  ~ws_session() override {
    shared_->remove(static_cast<const closable*>(this));
    if (accepted_ && env_->sessions)
      env_->sessions->add(-1);
  }

  void start(http::request<http::string_body>&& req) {
    upgrade_ = std::move(req); // read by the handshake until it completes
    const auto& cfg = env_->handles.cfg.ws;
    if (cfg.send_buffer_bytes > 0) {
      beast::error_code ec;
      ws_.next_layer().set_option(
        asio::socket_base::send_buffer_size(static_cast<int>(cfg.send_buffer_bytes)), ec);
    }
    websocket::stream_base::timeout opt;
    opt.handshake_timeout = std::chrono::milliseconds{cfg.close_timeout_ms};
    opt.idle_timeout = std::chrono::milliseconds{cfg.idle_timeout_ms};
    opt.keep_alive_pings = true;
    ws_.set_option(opt);
    ws_.set_option(websocket::stream_base::decorator(
      [rid = request_id_](websocket::response_type& res) { res.set("X-Request-ID", rid); }));
    // Beast fails a connection over its own limit with a teardown that may reset it before the
    // peer reads the close frame; below this cap, oversize frames get a clean closing handshake.
    ws_.read_message_max(std::max<size_t>(64 * 1024, 4 * static_cast<size_t>(cfg.max_frame_bytes)));
    ws_.auto_fragment(false); // one frame per message: events are small
    ws_.text(true);
    ws_.async_accept(upgrade_,
                     [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
  }

  // The lane's thread: a frame of a topic this session follows.
  void offer(const runtime::frame_ptr& frame, void* tag) override {
    if (closing_)
      return;
    auto& sub = *static_cast<subscription*>(tag); // joined with it; it leaves before it is erased
    apply(sub, sub.cursor.offer(frame));
  }

  // The lane's thread: its inbox overflowed and frames of this session's topics were dropped.
  void lagging() override {
    if (closing_)
      return;
    env_->log->warn("ws session closed: its lane fell behind request_id={}", request_id_);
    close_with(websocket::close_code::try_again_later, "lagging");
  }

  void shutdown(bool force) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), force] {
      if (force)
        self->abort();
      else
        self->close_with(websocket::close_code::going_away, "server shutting down");
    });
  }

private:
  struct subscription {
    topic_ref ref;
    topic_cursor cursor;
    uint64_t generation = 0; // tells replies of an earlier subscription of the same topic apart
  };

  void on_accept(beast::error_code ec) {
    upgrade_ = {}; // the handshake is done with it: an idle session keeps no request headers
    if (ec) {
      env_->log->debug("ws handshake fails: {} request_id={}", ec.message(), request_id_);
      return finish();
    }
    accepted_ = true;
    if (env_->sessions)
      env_->sessions->add(1);
    env_->log->debug("ws session opens request_id={} sub={}", request_id_,
                     who_ ? who_->sub : std::string{"-"});
    arm_expiry();
    do_read();
  }

  void do_read() {
    ws_.async_read(
      rbuf_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (ec == websocket::error::message_too_big)
        env_->log->info("ws session closed: frame over {} bytes request_id={}",
                        env_->handles.cfg.ws.max_frame_bytes, request_id_);
      else if (ec != websocket::error::closed && ec != asio::error::operation_aborted)
        env_->log->debug("ws session ends on read: {} request_id={}", ec.message(), request_id_);
      return finish();
    }
    if (rbuf_.size() > static_cast<size_t>(env_->handles.cfg.ws.max_frame_bytes)) {
      env_->log->info("ws session closed: frame of {} bytes over {} request_id={}", rbuf_.size(),
                      env_->handles.cfg.ws.max_frame_bytes, request_id_);
      rbuf_.consume(rbuf_.size());
      return close_with(websocket::close_code::too_big, "frame too big");
    }
    if (!ws_.got_text()) {
      rbuf_.consume(rbuf_.size());
      send_own(error_frame("invalid_request", {}, "frames must be JSON text"));
    } else {
      auto data = rbuf_.data();
      std::string text{static_cast<const char*>(data.data()), data.size()};
      rbuf_.consume(rbuf_.size());
      handle(text);
    }
    if (!closing_)
      do_read();
  }

  void handle(const std::string& text) {
    client_message msg;
    std::string error;
    if (!parse_client_message(text, msg, error))
      return send_own(std::move(error));
    switch (msg.op) {
    case client_message::kind::ping:
      return send_own(pong_frame());
    case client_message::kind::auth:
      return renew(msg.token);
    case client_message::kind::unsubscribe:
      return unsubscribe(msg.topic.topic);
    case client_message::kind::subscribe:
      return subscribe(std::move(msg.topic), msg.last_seq);
    }
  }

  // -- the token's lifetime --------------------------------------------------------------------

  // A session lives as long as its token: at `exp` it closes with 4401, unless the client sent a
  // fresh token ({"op":"auth"}) first. Anonymous sessions never expire.
  void arm_expiry() {
    if (!who_ || closing_)
      return;
    // At most a day at a time: far-future expiries (up to the year 9999) stay within the clock.
    auto left = std::clamp<int64_t>(expires_at_s_ - jwt_verifier::now(), 0, 86400);
    expiry_timer_.expires_after(std::chrono::seconds{left});
    expiry_timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->closing_)
        return;
      if (self->expires_at_s_ > jwt_verifier::now())
        return self->arm_expiry();
      self->env_->log->info("ws session closed: token expired request_id={} sub={}",
                            self->request_id_, self->who_->sub);
      self->close_with(token_expired, "token expired");
    });
  }

  // A fresh token for the same subject, role and order scope extends the session (the session's
  // subscriptions were checked against the old one); an anonymous session may authenticate this
  // way. A refused token changes nothing.
  void renew(const std::string& token) {
    auto res = env_->jwt->verify(token, jwt_verifier::now());
    if (!res.ok())
      return send_own(error_frame("unauthorized", {}, to_string(res.error)));
    if (who_
        && (who_->sub != res.who.sub || who_->who != res.who.who
            || who_->order_scope != res.who.order_scope))
      return send_own(
        error_frame("forbidden", {}, "a fresh token must be for the same subject, role and order"));
    who_ = std::move(res.who);
    expires_at_s_ = res.expires_at_s;
    arm_expiry();
    send_own(authenticated_frame(expires_at_s_));
  }

  void subscribe(topic_ref ref, std::optional<uint64_t> last_seq) {
    if (subs_.count(ref.topic) > 0)
      return send_own(error_frame("conflict", ref.topic, "already subscribed"));
    if (static_cast<int64_t>(subs_.size()) >= env_->handles.cfg.ws.max_subscriptions)
      return send_own(error_frame("rate_limited", ref.topic, "too many subscriptions"));
    if (!may_subscribe(who_, ref.kind))
      return send_own(error_frame(who_ ? "forbidden" : "unauthorized", ref.topic,
                                  who_ ? "this role may not follow " + ref.kind + " topics"
                                       : "a token is required for " + ref.kind + " topics"));
    auto generation = ++generations_;
    auto& sub = subs_[ref.topic];
    sub.ref = ref;
    sub.cursor = topic_cursor{max_frames_};
    sub.generation = generation;
    // Subscribe first: whatever commits after the start point is read is then held, not lost.
    lane_->join(ref.topic, shared_from_this(), &sub);
    fetch_start(*env_, who_, ref, last_seq,
                [weak = weak_from_this(), topic = ref.topic, generation](start_point p) {
                  if (auto self = weak.lock())
                    asio::post(self->ws_.get_executor(),
                               [self, topic, generation, p = std::move(p)]() mutable {
                                 self->on_start(topic, generation, std::move(p));
                               });
                });
  }

  void unsubscribe(const std::string& topic) {
    if (subs_.erase(topic) > 0)
      lane_->leave(topic, this);
  }

  subscription* find(const std::string& topic, uint64_t generation) {
    auto it = subs_.find(topic);
    return it == subs_.end() || it->second.generation != generation ? nullptr : &it->second;
  }

  void on_start(const std::string& topic, uint64_t generation, start_point p) {
    auto* sub = find(topic, generation);
    if (!sub || closing_)
      return;
    if (!p.error.empty()) {
      unsubscribe(topic);
      return send_own(error_frame(p.error, topic, p.detail));
    }
    if (p.snapshot)
      send_own(snapshot_frame(topic, p.seq, *p.snapshot));
    for (auto& f : p.replay)
      send_shared(std::move(f));
    apply(*sub, sub->cursor.start(p.seq));
  }

  void apply(subscription& sub, topic_cursor::step step) {
    if (step.overflow)
      return close_slow();
    for (auto& f : step.send)
      send_shared(std::move(f));
    if (step.fill) {
      env_->log->info("ws topic {} misses seqs {}..{}; reading them from the journal",
                      sub.ref.topic, step.fill->after + 1, step.fill->upto);
      fetch_range(*env_, sub.ref, step.fill->after, step.fill->upto,
                  [weak = weak_from_this(), topic = sub.ref.topic,
                   generation = sub.generation](bool ok, std::vector<runtime::frame_ptr> frames) {
                    if (auto self = weak.lock())
                      asio::post(self->ws_.get_executor(),
                                 [self, topic, generation, ok, frames = std::move(frames)] {
                                   self->on_filled(topic, generation, ok, frames);
                                 });
                  });
    }
  }

  void on_filled(const std::string& topic, uint64_t generation, bool ok,
                 const std::vector<runtime::frame_ptr>& frames) {
    auto* sub = find(topic, generation);
    if (!sub || closing_)
      return;
    if (!ok) {
      sub->cursor.fill_failed();
      return;
    }
    apply(*sub, sub->cursor.filled(frames));
  }

  // -- sending ---------------------------------------------------------------------------------

  void send_own(std::string text) {
    enqueue(out_frame{nullptr, std::move(text)});
  }

  void send_shared(runtime::frame_ptr f) {
    enqueue(out_frame{std::move(f), {}});
  }

  void enqueue(out_frame f) {
    if (closing_)
      return;
    queued_bytes_ += f.text().size();
    out_.push_back(std::move(f));
    if (out_.size() > max_frames_ || queued_bytes_ > max_bytes_)
      return close_slow();
    if (!writing_)
      do_write();
  }

  void do_write() {
    writing_ = true;
    write_started_ = std::chrono::steady_clock::now();
    const auto& text = out_.front().text();
    ws_.async_write(
      asio::buffer(text.data(), text.size()),
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    if (!out_.empty()) {
      queued_bytes_ -= out_.front().text().size();
      out_.pop_front();
    }
    if (ec) {
      if (ec != asio::error::operation_aborted)
        env_->log->debug("ws session ends on write: {} request_id={}", ec.message(), request_id_);
      return abort();
    }
    if (env_->frames_sent)
      env_->frames_sent->inc();
    if (close_pending_)
      return do_close();
    if (!out_.empty())
      do_write();
  }

  // -- closing ---------------------------------------------------------------------------------

  // A client that does not read what it asked for is dropped rather than buffered without end:
  // its frames are discarded and it gets 1008 once the frame on the wire is written.
  void close_slow() {
    if (closing_)
      return;
    auto waited = writing_ ? std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - write_started_)
                               .count()
                           : 0;
    env_->log->warn("ws session closed as slow: {} frames, {} bytes unsent, the frame on the wire "
                    "waits {} ms request_id={}",
                    out_.size(), queued_bytes_, waited, request_id_);
    if (env_->slow_closed)
      env_->slow_closed->inc();
    close_with(websocket::close_code::policy_error, "slow consumer");
  }

  void close_with(websocket::close_code code, const char* reason) {
    if (closing_)
      return;
    closing_ = true;
    close_reason_ = websocket::close_reason{code, reason};
    release_subscriptions();
    if (writing_) { // keep the frame on the wire; drop the rest
      out_.keep_front();
    } else {
      out_.clear();
    }
    close_timer_.expires_after(std::chrono::milliseconds{env_->handles.cfg.ws.close_timeout_ms});
    close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec)
        self->abort(); // the peer does not take the close frame: drop the connection
    });
    if (writing_)
      close_pending_ = true;
    else
      do_close();
  }

  void do_close() {
    close_pending_ = false;
    ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code) {
      self->close_timer_.cancel();
      self->abort();
    });
  }

  void abort() {
    closing_ = true;
    release_subscriptions();
    close_timer_.cancel();
    expiry_timer_.cancel();
    beast::error_code ec;
    ws_.next_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    ws_.next_layer().close(ec);
  }

  void finish() {
    closing_ = true;
    release_subscriptions();
    close_timer_.cancel();
    expiry_timer_.cancel();
  }

  // Drops the lane's references, so that the session ends with its last pending operation.
  void release_subscriptions() {
    for (const auto& [topic, sub] : subs_)
      lane_->leave(topic, this);
    subs_.clear();
  }

  std::shared_ptr<ws_lane> lane_; // the session runs on its thread
  std::shared_ptr<const ws_env> env_;
  std::shared_ptr<session_shared> shared_;
  std::optional<principal> who_;
  int64_t expires_at_s_ = 0; // of who_'s token (Unix seconds)
  std::string request_id_;
  // A plain socket: the websocket stream has its own timeouts, and beast::tcp_stream's
  // per-operation timer bookkeeping costs on every frame of a fan-out.
  websocket::stream<asio::ip::tcp::socket> ws_;
  asio::steady_timer close_timer_;
  asio::steady_timer expiry_timer_;
  http::request<http::string_body> upgrade_;
  beast::flat_buffer rbuf_;
  size_t max_frames_ = 0;
  size_t max_bytes_ = 0;

  // On the lane's thread.
  std::unordered_map<std::string, subscription> subs_;
  uint64_t generations_ = 0;
  send_queue out_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  std::chrono::steady_clock::time_point write_started_;
  bool accepted_ = false;
  bool closing_ = false;
  bool close_pending_ = false;
  websocket::close_reason close_reason_;
};

// The token of an upgrade: the Authorization header, else `access_token` in the query (browsers
// cannot set headers on a WebSocket). Neither: anonymous.
std::string_view token_of(const http::request<http::string_body>& msg, std::string& from_query) {
  auto header = msg[http::field::authorization];
  if (!header.empty())
    return header;
  auto target = msg.target();
  auto q = target.find('?');
  if (q == std::string_view::npos)
    return {};
  validation ignored;
  detail::for_each_query_param(target.substr(q + 1), ignored,
                               [&from_query](const std::string& key, const std::string& value) {
                                 if (key == "access_token")
                                   from_query = "Bearer " + value;
                               });
  return from_query;
}

} // namespace

ws_upgrade_fn make_upgrade_handler(const runtime::node_handles& handles,
                                   const std::shared_ptr<session_shared>& shared) {
  if (!handles.hub)
    return {};
  auto env = std::make_shared<ws_env>();
  env->handles = handles;
  auto lanes = std::make_shared<ws_lanes>(handles.hub, handles.cfg.ws.threads);
  shared->ws_stop = [lanes](bool force) { lanes->stop(force); };
  env->jwt = make_verifier(handles.cfg.auth);
  env->log = runtime::logger("ws");
  if (handles.metrics) {
    env->sessions = &handles.metrics->get_gauge("mercato_ws_sessions", "Open WebSocket sessions");
    env->slow_closed = &handles.metrics->get_counter(
      "mercato_ws_slow_closed_total", "WebSocket sessions closed with 1008 for not keeping up.");
    env->frames_sent = &handles.metrics->get_counter("mercato_ws_frames_sent_total",
                                                     "WebSocket frames written to clients.");
  }
  std::weak_ptr<session_shared> weak_shared = shared;
  return [env = std::shared_ptr<const ws_env>{env}, lanes,
          weak_shared](asio::ip::tcp::socket& socket, http::request<http::string_body>& msg,
                       const std::string& request_id, response& refusal) {
    auto shared = weak_shared.lock();
    if (!shared)
      return false;
    std::string from_query;
    auto token = token_of(msg, from_query);
    std::optional<principal> who;
    int64_t expires_at_s = 0;
    if (!token.empty()) {
      auto res = env->jwt->verify_header(token, jwt_verifier::now());
      if (!res.ok()) {
        refusal = unauthorized_response(res.error);
        return false;
      }
      who = std::move(res.who);
      expires_at_s = res.expires_at_s;
    }
    if (!beast::websocket::is_upgrade(msg)) {
      refusal = problem_response(400, "invalid_request", "malformed WebSocket upgrade request");
      return false;
    }
    // The connection moves to a lane: its descriptor leaves this io_context's reactor for the
    // lane's, and the handshake starts on the lane's thread.
    auto& lane = lanes->next();
    beast::error_code ec;
    auto protocol = socket.local_endpoint(ec).protocol();
    asio::ip::tcp::socket moved{lane.context()};
    if (!ec) {
      auto fd = socket.release(ec);
      if (!ec)
        moved.assign(protocol, fd, ec);
    }
    if (ec) {
      refusal = problem_response(503, "unavailable", "cannot take the WebSocket connection");
      return false;
    }
    auto session = std::make_shared<ws_session>(std::move(moved), lane, env, shared, std::move(who),
                                                expires_at_s, request_id);
    shared->add(session);
    asio::post(lane.context(),
               [session, msg = std::move(msg)]() mutable { session->start(std::move(msg)); });
    return true;
  };
}

} // namespace mercato::api::ws
