#include "tests/support/loopback_http_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>

#include <thread>

namespace mercato::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct loopback_http_server::impl {
  std::function<answer(const request&)> handler;
  asio::io_context ioc;
  asio::ip::tcp::acceptor acceptor{ioc};
  std::thread runner;

  void start() {
    asio::ip::tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), 0};
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen();
    do_accept();
    runner = std::thread{[this] { ioc.run(); }};
  }

  void do_accept() {
    acceptor.async_accept([this](beast::error_code ec, asio::ip::tcp::socket socket) {
      if (ec)
        return;
      serve(std::move(socket));
      do_accept();
    });
  }

  // Clients send one request per connection and wait for its answer: serving it synchronously
  // on this thread is enough.
  void serve(asio::ip::tcp::socket socket) {
    beast::error_code ec;
    beast::flat_buffer buffer;
    request req;
    http::read(socket, buffer, req, ec);
    if (ec)
      return;
    auto a = handler(req);
    http::response<http::string_body> res{a.status, req.version()};
    res.set(http::field::content_type, a.content_type);
    for (const auto& [name, value] : a.headers)
      res.set(name, value);
    res.body() = std::move(a.body);
    res.prepare_payload();
    http::write(socket, res, ec);
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  }
};

loopback_http_server::loopback_http_server(std::function<answer(const request&)> handler)
    : impl_(std::make_unique<impl>()) {
  impl_->handler = std::move(handler);
  impl_->start();
}

loopback_http_server::~loopback_http_server() {
  impl_->ioc.stop();
  if (impl_->runner.joinable())
    impl_->runner.join();
}

uint16_t loopback_http_server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

} // namespace mercato::test
