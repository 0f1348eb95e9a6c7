#include "tools/ws/ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <deque>
#include <stdexcept>
#include <utility>

namespace mercato::tools {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using socket_type = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;

http_target parse_http_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0)
    throw std::invalid_argument("the URL must start with http:// (got '" + url + "')");
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  http_target out;
  out.prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!out.prefix.empty() && out.prefix.back() == '/')
    out.prefix.pop_back();
  std::string port = "80";
  if (!authority.empty() && authority.front() == '[') { // [v6]:port
    auto close = authority.find(']');
    if (close == std::string::npos)
      throw std::invalid_argument("the URL has an unclosed '[': " + url);
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      port = authority.substr(close + 2);
  } else {
    auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos)
      port = authority.substr(colon + 1);
  }
  if (out.host.empty() || port.empty()
      || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw std::invalid_argument("the URL is not http://HOST[:PORT][/PATH]: " + url);
  out.port = port;
  return out;
}

std::string subscribe_frame(const std::string& topic, std::optional<uint64_t> last_seq) {
  nlohmann::json frame = {{"op", "subscribe"}, {"topic", topic}};
  if (last_seq)
    frame["last_seq"] = *last_seq;
  return frame.dump();
}

std::string unsubscribe_frame(const std::string& topic) {
  return nlohmann::json{{"op", "unsubscribe"}, {"topic", topic}}.dump();
}

std::string ping_frame() {
  return R"({"op":"ping"})";
}

std::string ws_end::describe() const {
  switch (what) {
  case kind::connect_failed:
    return "cannot connect: " + detail;
  case kind::handshake_refused:
    return "the upgrade was refused with HTTP " + std::to_string(http_status)
           + (body.empty() ? "" : ": " + body.substr(0, 300));
  case kind::handshake_failed:
    return "the upgrade failed: " + detail;
  case kind::closed:
    return "closed by the server with " + std::to_string(close_code)
           + (detail.empty() ? "" : " (" + detail + ")");
  case kind::error:
    return "connection lost: " + detail;
  case kind::stopped:
    return "closed";
  }
  return detail;
}

namespace {

class connection final : public ws_connection, public std::enable_shared_from_this<connection> {
public:
  connection(asio::io_context& ioc, http_target target, ws_options options, ws_handlers handlers)
      : ws_(ioc.get_executor()), connect_timer_(ioc), target_(std::move(target)),
        options_(std::move(options)), handlers_(std::move(handlers)) {}

  void start(const tcp::resolver::results_type& endpoints) override {
    connect_timer_.expires_after(options_.connect_timeout);
    connect_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && !self->connected_) {
        self->timed_out_ = true;
        self->abort_socket();
      }
    });
    asio::async_connect(ws_.next_layer(), endpoints,
                        [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                          self->on_connect(ec);
                        });
  }

  void send(std::string text) override {
    queued_bytes_ += text.size();
    out_.push_back(std::move(text));
    if (open_ && !writing_)
      do_write();
  }

  void close() override {
    if (ended_ || stopping_)
      return;
    stopping_ = true;
    if (!open_) {
      abort_socket();
      return;
    }
    // The pending read ends once the server answers the close frame (or the timeout passes).
    ws_.async_close(websocket::close_code::normal,
                    [self = shared_from_this()](beast::error_code) {});
  }

  void abort() override {
    if (ended_)
      return;
    stopping_ = true;
    abort_socket();
  }

  std::size_t queued_bytes() const override {
    return queued_bytes_;
  }

private:
  void abort_socket() {
    beast::error_code ignored;
    ws_.next_layer().close(ignored);
  }

  void on_connect(beast::error_code ec) {
    connected_ = !ec;
    connect_timer_.cancel();
    if (ec)
      return end({ws_end::kind::connect_failed, 0, {}, 0, timed_out_ ? "timed out" : ec.message()});
    ws_.next_layer().set_option(tcp::no_delay(true), ec);
    // From here on the WebSocket stream's own timeouts apply.
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = options_.connect_timeout;
    timeouts.idle_timeout
      = options_.idle_timeout.count() > 0
          ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(options_.idle_timeout)
          : websocket::stream_base::none();
    timeouts.keep_alive_pings = options_.idle_timeout.count() > 0;
    ws_.set_option(timeouts);
    ws_.set_option(
      websocket::stream_base::decorator([token = options_.token](websocket::request_type& req) {
        req.set(http::field::user_agent, "mercato-ws-client");
        if (!token.empty())
          req.set(http::field::authorization, "Bearer " + token);
      }));
    ws_.read_message_max(options_.max_message_bytes);
    ws_.auto_fragment(false);
    ws_.async_handshake(
      response_, target_.host + ":" + target_.port, target_.prefix + "/v1/ws",
      [self = shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
  }

  void on_handshake(beast::error_code ec) {
    if (ec == websocket::error::upgrade_declined)
      return end({ws_end::kind::handshake_refused, static_cast<int>(response_.result_int()),
                  response_.body(), 0, ec.message()});
    if (ec)
      return end({ws_end::kind::handshake_failed, 0, {}, 0, ec.message()});
    response_ = {};
    open_ = true;
    ws_.text(true);
    if (handlers_.on_open)
      handlers_.on_open();
    if (ended_)
      return;
    do_read();
    if (!out_.empty() && !writing_)
      do_write();
  }

  void do_read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (ec == websocket::error::closed)
        return end({ws_end::kind::closed,
                    0,
                    {},
                    static_cast<int>(ws_.reason().code),
                    std::string{ws_.reason().reason.c_str()}});
      return end({ws_end::kind::error, 0, {}, 0, ec.message()});
    }
    auto data = buffer_.cdata();
    if (handlers_.on_message)
      handlers_.on_message({static_cast<const char*>(data.data()), data.size()});
    buffer_.consume(buffer_.size());
    if (!ended_)
      do_read();
  }

  void do_write() {
    writing_ = true;
    ws_.async_write(
      asio::buffer(out_.front()),
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    queued_bytes_ -= out_.front().size();
    out_.pop_front();
    // A failed write also fails the pending read, which reports the end.
    if (ec || ended_)
      return;
    if (!out_.empty())
      do_write();
  }

  void end(ws_end e) {
    if (ended_)
      return;
    ended_ = true;
    open_ = false;
    if (stopping_) // whatever failed, it failed because we asked it to stop
      e = {ws_end::kind::stopped, 0, {}, 0, {}};
    beast::error_code ignored;
    ws_.next_layer().close(ignored);
    connect_timer_.cancel();
    if (handlers_.on_end)
      handlers_.on_end(e);
    // Handlers may hold whoever owns this connection; let go of them.
    handlers_ = {};
  }

  // A socket bound to the io_context's own executor type: no type-erased executor to copy on
  // every operation, which the benchmark's many connections would pay for per message.
  websocket::stream<socket_type> ws_;
  asio::steady_timer connect_timer_;
  http_target target_;
  ws_options options_;
  ws_handlers handlers_;
  websocket::response_type response_;
  beast::flat_buffer buffer_;
  std::deque<std::string> out_;
  std::size_t queued_bytes_ = 0;
  bool connected_ = false;
  bool timed_out_ = false;
  bool open_ = false;
  bool writing_ = false;
  bool stopping_ = false;
  bool ended_ = false;
};

} // namespace

std::shared_ptr<ws_connection> make_ws_connection(asio::io_context& ioc, const http_target& target,
                                                  ws_options options, ws_handlers handlers) {
  return std::make_shared<connection>(ioc, target, std::move(options), std::move(handlers));
}

} // namespace mercato::tools
