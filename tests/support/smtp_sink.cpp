#include "tests/support/smtp_sink.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <istream>
#include <mutex>
#include <thread>

namespace mercato::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct smtp_sink::impl {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::thread runner;
  mutable std::mutex mtx;
  std::vector<message> accepted;
  int refuse_next = 0;
  bool refuse_always = false;
  int refused = 0;

  void start() {
    tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), 0};
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen();
    do_accept();
    runner = std::thread{[this] { ioc.run(); }};
  }

  void do_accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec)
        return;
      serve(std::move(socket));
      do_accept();
    });
  }

  static bool say(tcp::socket& s, const std::string& line) {
    boost::system::error_code ec;
    asio::write(s, asio::buffer(line + "\r\n"), ec);
    return !ec;
  }

  static bool read_line(tcp::socket& s, asio::streambuf& buf, std::string& line) {
    boost::system::error_code ec;
    asio::read_until(s, buf, "\r\n", ec);
    if (ec)
      return false;
    std::istream in{&buf};
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    return true;
  }

  static std::string upper(std::string s) {
    for (auto& c : s)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  }

  static std::string header_value(const std::string& data, const std::string& name) {
    auto pos = upper(data).find("\r\n" + upper(name) + ":");
    if (pos == std::string::npos)
      return {};
    auto start = pos + 3 + name.size();
    auto end = data.find("\r\n", start);
    auto v = data.substr(start, end - start);
    while (!v.empty() && v.front() == ' ')
      v.erase(v.begin());
    return v;
  }

  // Clients of the tests send one message per connection and wait: serving each connection
  // synchronously on this thread is enough.
  void serve(tcp::socket s) {
    asio::streambuf buf;
    std::string line;
    message m;
    if (!say(s, "220 sink.test ESMTP"))
      return;
    while (read_line(s, buf, line)) {
      auto cmd = upper(line.substr(0, 4));
      if (cmd == "EHLO" || cmd == "HELO") {
        say(s, "250 sink.test");
      } else if (cmd == "MAIL") {
        m = message{};
        m.mail_from = line.substr(line.find(':') + 1);
        say(s, "250 OK");
      } else if (cmd == "RCPT") {
        m.rcpt_to.push_back(line.substr(line.find(':') + 1));
        say(s, "250 OK");
      } else if (cmd == "DATA") {
        say(s, "354 go ahead");
        std::string data = "\r\n"; // so that the first header is found like the others
        while (read_line(s, buf, line) && line != ".")
          data += (line.rfind("..", 0) == 0 ? line.substr(1) : line) + "\r\n";
        m.data = data.substr(2);
        m.message_id = header_value(data, "Message-ID");
        std::lock_guard<std::mutex> guard{mtx};
        if (refuse_always) {
          ++refused;
          say(s, "550 mailbox unavailable");
        } else if (refuse_next > 0) {
          --refuse_next;
          ++refused;
          say(s, "451 try again later");
        } else {
          accepted.push_back(m);
          say(s, "250 queued");
        }
      } else if (cmd == "QUIT") {
        say(s, "221 bye");
        break;
      } else if (cmd == "RSET" || cmd == "NOOP") {
        say(s, "250 OK");
      } else {
        say(s, "502 not implemented");
      }
    }
    boost::system::error_code ec;
    s.shutdown(tcp::socket::shutdown_both, ec);
  }
};

smtp_sink::smtp_sink() : impl_(std::make_unique<impl>()) {
  impl_->start();
}

smtp_sink::~smtp_sink() {
  impl_->ioc.stop();
  if (impl_->runner.joinable())
    impl_->runner.join();
}

uint16_t smtp_sink::port() const {
  return impl_->acceptor.local_endpoint().port();
}

std::string smtp_sink::url() const {
  return "smtp://127.0.0.1:" + std::to_string(port());
}

void smtp_sink::refuse_next(int n) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->refuse_next = n;
}

void smtp_sink::refuse_always(bool on) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->refuse_always = on;
}

std::vector<smtp_sink::message> smtp_sink::messages() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->accepted;
}

std::map<std::string, int> smtp_sink::count_by_message_id() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  std::map<std::string, int> out;
  for (const auto& m : impl_->accepted)
    ++out[m.message_id];
  return out;
}

int smtp_sink::refused() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->refused;
}

} // namespace mercato::test
