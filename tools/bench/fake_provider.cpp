#include "tools/bench/fake_provider.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fstream>
#include <iostream>
#include <memory>

namespace mercato::bench {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// One connection: reads a request, answers 200, reads the next, until the client closes.
class connection : public std::enable_shared_from_this<connection> {
public:
  explicit connection(tcp::socket socket) : socket_(std::move(socket)) {}

  void read() {
    request_ = {};
    http::async_read(socket_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (!ec)
                         self->answer();
                     });
  }

private:
  void answer() {
    response_ = {http::status::ok, request_.version()};
    response_.set(http::field::content_type, "application/json");
    response_.keep_alive(request_.keep_alive());
    response_.body() = "{}";
    response_.prepare_payload();
    http::async_write(socket_, response_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (!ec && self->response_.keep_alive())
                          self->read();
                      });
  }

  tcp::socket socket_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

void accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](beast::error_code ec, tcp::socket socket) {
    if (!ec)
      std::make_shared<connection>(std::move(socket))->read();
    accept(acceptor);
  });
}

} // namespace

int run_fake_provider(const std::string& port_file) {
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
  {
    std::ofstream out{port_file + ".tmp"};
    out << acceptor.local_endpoint().port() << '\n';
  }
  // Written whole, then renamed: a reader never sees half a port.
  if (std::rename((port_file + ".tmp").c_str(), port_file.c_str()) != 0) {
    std::cerr << "cannot write " << port_file << '\n';
    return 1;
  }
  accept(acceptor);
  ioc.run();
  return 0;
}

} // namespace mercato::bench
