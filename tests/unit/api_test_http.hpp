#pragma once

// Test helper for the api_* tests: a blocking HTTP/1.1 client over loopback with raw sockets
// (no Beast in the test TUs), able to send pipelined and malformed requests.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mercato::api::test {

struct http_reply {
  int status = 0;
  std::map<std::string, std::string> headers; // lower-case names
  std::string body;

  std::string header(const std::string& name) const {
    auto i = headers.find(name);
    return i == headers.end() ? "" : i->second;
  }
};

class http_client {
public:
  explicit http_client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0)
      throw std::runtime_error("socket");
    timeval tv{5, 0}; // never hang a test
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
      throw std::runtime_error("connect");
  }
  ~http_client() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  void send_raw(std::string_view data) {
    while (!data.empty()) {
      auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0)
        throw std::runtime_error("send");
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  static std::string format(std::string_view method, std::string_view target,
                            std::string_view body = {}, std::string_view extra_headers = {}) {
    std::string req;
    req += method;
    req += ' ';
    req += target;
    req += " HTTP/1.1\r\nHost: localhost\r\n";
    req += extra_headers;
    if (!body.empty() || method == "POST" || method == "PUT")
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size())
             + "\r\n";
    req += "\r\n";
    req += body;
    return req;
  }

  http_reply request(std::string_view method, std::string_view target, std::string_view body = {},
                     std::string_view extra_headers = {}) {
    send_raw(format(method, target, body, extra_headers));
    return read_reply(method == "HEAD");
  }

  /// Reads one response; throws if the connection closes first.
  http_reply read_reply(bool head = false) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill())
        throw std::runtime_error("connection closed before a response");
    http_reply r;
    auto head_text = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    auto line_end = head_text.find("\r\n");
    auto status_line = head_text.substr(0, line_end);
    r.status = std::stoi(status_line.substr(9, 3));
    size_t pos = line_end == std::string::npos ? head_text.size() : line_end + 2;
    while (pos < head_text.size()) {
      auto next = head_text.find("\r\n", pos);
      if (next == std::string::npos)
        next = head_text.size();
      auto line = head_text.substr(pos, next - pos);
      auto colon = line.find(':');
      auto name = line.substr(0, colon);
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.erase(0, 1);
      r.headers[name] = value;
      pos = next + 2;
    }
    size_t len = 0;
    if (auto cl = r.header("content-length"); !cl.empty() && !head)
      len = std::stoul(cl);
    while (buf_.size() < len)
      if (!fill())
        throw std::runtime_error("connection closed inside a body");
    r.body = buf_.substr(0, len);
    buf_.erase(0, len);
    return r;
  }

  /// True if the server closed the connection (reads EOF within the receive timeout).
  bool closed_by_peer() {
    if (!buf_.empty())
      return false;
    char c;
    auto n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

private:
  bool fill() {
    char tmp[16384];
    auto n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0)
      return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buf_;
};

} // namespace mercato::api::test
