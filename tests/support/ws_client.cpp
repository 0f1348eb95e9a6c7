#include "tests/support/ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/websocket.hpp>

#include <stdexcept>

namespace mercato::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

struct ws_client::impl {
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buf;

  // Runs the io_context until `done` or the deadline; on timeout, closes the socket so that the
  // pending operation completes, and throws.
  template <class Done>
  void run(const Done& done, std::chrono::milliseconds timeout, const char* what) {
    ioc.restart();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done() && std::chrono::steady_clock::now() < deadline)
      ioc.run_one_for(deadline - std::chrono::steady_clock::now());
    if (!done()) {
      beast::error_code ec;
      beast::get_lowest_layer(ws).socket().close(ec);
      ioc.restart();
      ioc.run_for(std::chrono::seconds{1});
      throw std::runtime_error(std::string{"ws client: "} + what + " timed out");
    }
  }
};

ws_client::ws_client(uint16_t port, options opts) : impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  auto& sock = beast::get_lowest_layer(d.ws).socket();
  sock.open(asio::ip::tcp::v4());
  if (opts.receive_buffer_bytes > 0)
    sock.set_option(asio::socket_base::receive_buffer_size(opts.receive_buffer_bytes));
  sock.connect({asio::ip::make_address("127.0.0.1"), port});
  d.ws.set_option(
    websocket::stream_base::decorator([token = opts.token](websocket::request_type& req) {
      if (!token.empty())
        req.set(beast::http::field::authorization, "Bearer " + token);
    }));
  websocket::response_type res;
  beast::error_code ec;
  std::string target = "/v1/ws";
  if (!opts.query.empty())
    target += "?" + opts.query;
  d.ws.handshake(res, "127.0.0.1:" + std::to_string(port), target, ec);
  if (ec)
    throw std::runtime_error("handshake refused: " + std::to_string(res.result_int()));
}

ws_client::~ws_client() = default;

void ws_client::send(const std::string& text) {
  impl_->ws.text(true);
  impl_->ws.write(asio::buffer(text));
}

void ws_client::send_binary(const std::string& bytes) {
  impl_->ws.binary(true);
  impl_->ws.write(asio::buffer(bytes));
  impl_->ws.text(true);
}

std::optional<std::string> ws_client::next_text(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  if (close_code_)
    return std::nullopt;
  bool done = false;
  beast::error_code result;
  d.ws.async_read(d.buf, [&](beast::error_code ec, std::size_t) {
    result = ec;
    done = true;
  });
  d.run([&] { return done; }, timeout, "read");
  if (result) {
    close_code_ = result == websocket::error::closed ? static_cast<int>(d.ws.reason().code) : 0;
    return std::nullopt;
  }
  auto data = d.buf.data();
  std::string text{static_cast<const char*>(data.data()), data.size()};
  d.buf.consume(d.buf.size());
  return text;
}

nlohmann::json ws_client::next(std::chrono::milliseconds timeout) {
  auto text = next_text(timeout);
  if (!text)
    throw std::runtime_error("ws client: closed with code " + std::to_string(*close_code_));
  return nlohmann::json::parse(*text);
}

int ws_client::wait_closed(std::chrono::milliseconds timeout, size_t* frames_skipped) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t skipped = 0;
  while (next_text(std::chrono::duration_cast<std::chrono::milliseconds>(
    std::max(deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration{1}))))
    ++skipped;
  if (frames_skipped)
    *frames_skipped = skipped;
  return *close_code_;
}

nlohmann::json ws_client::subscribe(const std::string& topic, std::optional<uint64_t> last_seq) {
  nlohmann::json op{{"op", "subscribe"}, {"topic", topic}};
  if (last_seq)
    op["last_seq"] = *last_seq;
  send(op.dump());
  return next();
}

void ws_client::close() {
  beast::error_code ec;
  impl_->ws.close(websocket::close_code::normal, ec);
}

} // namespace mercato::test
