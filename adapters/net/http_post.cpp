#include "adapters/net/http_post.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace mercato::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// Receivers are expected to answer with a status; what they say beyond that is only logged.
constexpr size_t max_answer_bytes = 64 * 1024;

} // namespace

http_url parse_http_url(const std::string& url) {
  http_url out;
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    out.error = "not an http:// URL";
    return out;
  }
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (!authority.empty() && authority.front() == '[') { // [v6]:port
    auto close = authority.find(']');
    if (close == std::string::npos) {
      out.error = "unterminated IPv6 address";
      return out;
    }
    out.host = authority.substr(1, close - 1);
    out.port = close + 2 <= authority.size() && authority[close + 1] == ':'
                 ? authority.substr(close + 2)
                 : "80";
  } else if (auto colon = authority.rfind(':'); colon != std::string::npos) {
    out.host = authority.substr(0, colon);
    out.port = authority.substr(colon + 1);
  } else {
    out.host = authority;
    out.port = "80";
  }
  if (out.host.empty() || out.port.empty())
    out.error = "no host or port";
  return out;
}

// Asynchronous operations on a private io_context: only they honour the stream's deadline.
post_result post_json(const http_url& url, const std::string& body,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      std::chrono::milliseconds timeout) {
  post_result out;
  if (!url.error.empty()) {
    out.error = url.error;
    return out;
  }
  try {
    asio::io_context ioc;
    asio::ip::tcp::resolver resolver{ioc};
    beast::tcp_stream stream{ioc};
    beast::error_code ec;
    auto results = resolver.resolve(url.host, url.port, ec);
    if (ec) {
      out.error = "resolve " + url.host + ": " + ec.message();
      return out;
    }
    auto step = [&](const char* what) {
      ioc.run();
      ioc.restart();
      if (ec)
        out.error = std::string{what} + ": " + ec.message();
      return !ec;
    };
    // One deadline for the whole exchange: a receiver that trickles bytes cannot hold the
    // publisher longer than `timeout`.
    stream.expires_after(timeout);
    stream.async_connect(results,
                         [&](beast::error_code e, const asio::ip::tcp::endpoint&) { ec = e; });
    if (!step("connect"))
      return out;
    http::request<http::string_body> req{http::verb::post, url.target, 11};
    req.set(http::field::host, url.host);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "mercato-webhooks");
    for (const auto& [name, value] : headers)
      req.set(name, value);
    req.body() = body;
    req.prepare_payload();
    http::async_write(stream, req, [&](beast::error_code e, size_t) { ec = e; });
    if (!step("send"))
      return out;
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_answer_bytes);
    http::async_read(stream, buffer, parser, [&](beast::error_code e, size_t) { ec = e; });
    ioc.run();
    // An answer too large to keep still has its status.
    if (ec == http::error::body_limit && parser.is_header_done()) {
      out.status = static_cast<int>(parser.get().result_int());
      return out;
    }
    if (ec) {
      out.error = "receive: " + ec.message();
      return out;
    }
    out.status = static_cast<int>(parser.get().result_int());
    out.body = std::move(parser.get().body());
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  } catch (const std::exception& e) {
    out.status = 0;
    out.error = e.what();
  }
  return out;
}

} // namespace mercato::net
