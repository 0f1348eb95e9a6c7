#include "tests/support/webhook_receiver.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <mutex>
#include <thread>

namespace mercato::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct webhook_receiver::impl {
  asio::io_context ioc;
  asio::ip::tcp::acceptor acceptor{ioc};
  std::thread runner;
  mutable std::mutex mtx;
  std::vector<request> log;
  int failures = 0;
  bool fail_all = false;
  std::set<std::string> failing_ids;

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

  // The publisher sends one request per connection and waits for its answer.
  void serve(asio::ip::tcp::socket socket) {
    beast::error_code ec;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec)
      return;
    auto status = record(req);
    http::response<http::string_body> res{status, req.version()};
    res.set(http::field::content_type, "text/plain");
    res.body() = status == http::status::ok ? "ok" : "injected failure";
    res.prepare_payload();
    http::write(socket, res, ec);
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  }

  http::status record(const http::request<http::string_body>& req) {
    std::lock_guard<std::mutex> guard{mtx};
    request r{std::string{req.target()}, std::string{req["X-Mercato-Event-Id"]},
              std::string{req["X-Signature"]}, req.body(), 200};
    if (failures > 0 || fail_all || failing_ids.count(r.event_id) > 0) {
      if (failures > 0)
        --failures;
      r.answered = 500;
    }
    log.push_back(r);
    return static_cast<http::status>(r.answered);
  }
};

webhook_receiver::webhook_receiver() : impl_(std::make_unique<impl>()) {
  impl_->start();
}

webhook_receiver::~webhook_receiver() {
  impl_->ioc.stop();
  if (impl_->runner.joinable())
    impl_->runner.join();
}

std::string webhook_receiver::url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->acceptor.local_endpoint().port()) + "/hook";
}

void webhook_receiver::fail_next(int n) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->failures = n;
}

void webhook_receiver::fail_always(bool on) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->fail_all = on;
}

void webhook_receiver::fail_event(const std::string& id) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->failing_ids.insert(id);
}

void webhook_receiver::clear_failures() {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->failures = 0;
  impl_->fail_all = false;
  impl_->failing_ids.clear();
}

std::vector<webhook_receiver::request> webhook_receiver::requests() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->log;
}

std::vector<webhook_receiver::request> webhook_receiver::deduped() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  std::vector<request> out;
  std::set<std::string> seen;
  for (const auto& r : impl_->log)
    if (r.answered == 200 && seen.insert(r.event_id).second)
      out.push_back(r);
  return out;
}

size_t webhook_receiver::delivered_count() const {
  return deduped().size();
}

} // namespace mercato::test
