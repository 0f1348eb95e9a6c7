#include "tests/support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <latch>
#include <stdexcept>
#include <thread>

namespace mercato::test {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_closed_by_peer(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof
         || ec == net::error::connection_reset || ec == net::error::broken_pipe
         || ec == net::error::connection_aborted;
}

constexpr uint64_t max_response_body = 64ull << 20;

} // namespace

// -- http_response ------------------------------------------------------------------------------

nlohmann::json http_response::json() const {
  return nlohmann::json::parse(body);
}

std::string http_response::header(const std::string& name) const {
  auto i = headers.find(lower(name));
  return i == headers.end() ? std::string{} : i->second;
}

bool http_response::has_header(const std::string& name) const {
  return headers.count(lower(name)) > 0;
}

std::string http_response::describe() const {
  std::string out = "HTTP " + std::to_string(status);
  if (auto ct = header("content-type"); !ct.empty())
    out += " " + ct;
  out += ": ";
  out += body.size() > 500 ? body.substr(0, 500) + "..." : body;
  return out;
}

// -- http_request -------------------------------------------------------------------------------

http_request& http_request::bearer(const std::string& token) {
  if (!token.empty())
    headers.emplace_back("Authorization", "Bearer " + token);
  return *this;
}

http_request& http_request::with_header(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

http_request json_request(std::string method, std::string target, const nlohmann::json& body,
                          const std::string& token) {
  http_request req;
  req.method = std::move(method);
  req.target = std::move(target);
  req.body = body.dump();
  req.bearer(token);
  return req;
}

// -- http_client --------------------------------------------------------------------------------

http_client::http_client(std::string host, uint16_t port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout), socket_(ioc_) {}

http_client::~http_client() {
  close();
}

void http_client::close() {
  error_code ignored;
  if (socket_.is_open()) {
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
  buffer_.clear();
}

void http_client::connect() {
  close();
  std::vector<tcp::endpoint> endpoints;
  error_code ec;
  if (auto addr = net::ip::make_address(host_, ec); !ec) {
    endpoints.emplace_back(addr, port_);
  } else {
    tcp::resolver resolver{ioc_};
    for (const auto& entry : resolver.resolve(host_, std::to_string(port_)))
      endpoints.push_back(entry.endpoint());
  }
  bool done = false;
  net::async_connect(socket_, endpoints, [&](const error_code& e, const tcp::endpoint&) {
    ec = e;
    done = true;
  });
  ioc_.restart();
  ioc_.run_for(timeout_);
  if (!done) {
    close();
    ioc_.restart();
    ioc_.run();
    throw std::runtime_error("connect to " + host_ + ":" + std::to_string(port_) + ": timeout");
  }
  if (ec) {
    close();
    throw std::runtime_error("connect to " + host_ + ":" + std::to_string(port_) + ": "
                             + ec.message());
  }
  socket_.set_option(tcp::no_delay{true}, ec);
  ++connections_opened_;
}

http_client::outcome http_client::exchange(const http_request& req, http_response& out,
                                           std::string& error) {
  http::request<http::string_body> msg;
  msg.version(11);
  msg.method_string(req.method);
  msg.target(req.target);
  msg.set(http::field::host, host_ + ":" + std::to_string(port_));
  msg.set(http::field::user_agent, "mercato-e2e");
  bool has_content_type = false;
  for (const auto& [name, value] : req.headers) {
    msg.insert(name, value);
    has_content_type = has_content_type || lower(name) == "content-type";
  }
  msg.body() = req.body;
  if (!req.body.empty() && !has_content_type)
    msg.set(http::field::content_type, "application/json");
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH")
    msg.content_length(req.body.size());

  http::response_parser<http::string_body> parser;
  parser.body_limit(max_response_body);

  // Read while writing: a server may answer (e.g. 413) and close before it has read the body.
  bool write_done = false;
  bool read_done = false;
  error_code write_ec;
  error_code read_ec;
  http::async_write(socket_, msg, [&](const error_code& e, size_t) {
    write_ec = e;
    write_done = true;
  });
  http::async_read(socket_, buffer_, parser, [&](const error_code& e, size_t) {
    read_ec = e;
    read_done = true;
    if (!e && !write_done) {
      error_code ignored;
      socket_.cancel(ignored); // the answer is in; stop sending a body nobody reads
    }
  });
  ioc_.restart();
  ioc_.run_for(timeout_);
  if (!read_done || !write_done) {
    bool timed_out = !read_done;
    close();
    ioc_.restart();
    ioc_.run();
    if (timed_out) {
      error = "no response within " + std::to_string(timeout_.count()) + " ms";
      return outcome::failed;
    }
  }
  if (read_ec) {
    error = read_ec.message();
    if (write_ec)
      error += " (while sending: " + write_ec.message() + ")";
    return is_closed_by_peer(read_ec) && !parser.got_some() ? outcome::stale : outcome::failed;
  }
  auto res = parser.release();
  out.status = static_cast<int>(res.result_int());
  out.headers.clear();
  for (const auto& field : res) {
    auto name = lower(std::string{field.name_string()});
    auto [it, fresh] = out.headers.emplace(name, std::string{field.value()});
    if (!fresh)
      it->second += ", " + std::string{field.value()};
  }
  out.body = std::move(res.body());
  if (write_ec || !write_done || !res.keep_alive())
    close();
  return outcome::ok;
}

http_response http_client::request(const http_request& req) {
  std::string first_error;
  for (int attempt = 0;; ++attempt) {
    std::string error;
    bool reused = socket_.is_open();
    try {
      if (!reused)
        connect();
      http_response out;
      auto result = exchange(req, out, error);
      if (result == outcome::ok)
        return out;
      close();
      // An idle keep-alive connection the server had closed: the request never got there.
      if (result == outcome::stale && reused && attempt == 0) {
        first_error = error + " on a reused connection";
        continue;
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!first_error.empty())
      error = first_error + ", then " + error;
    throw std::runtime_error(req.method + " " + req.target + " on " + host_ + ":"
                             + std::to_string(port_) + ": " + error);
  }
}

http_response http_client::try_request(const http_request& req) noexcept {
  try {
    return request(req);
  } catch (const std::exception& e) {
    http_response out;
    out.body = e.what();
    return out;
  }
}

http_response http_client::get(const std::string& target, const std::string& token) {
  http_request req;
  req.target = target;
  req.bearer(token);
  return request(req);
}

http_response http_client::del(const std::string& target, const std::string& token) {
  http_request req;
  req.method = "DELETE";
  req.target = target;
  req.bearer(token);
  return request(req);
}

http_response http_client::post(const std::string& target, const nlohmann::json& body,
                                const std::string& token) {
  return request(json_request("POST", target, body, token));
}

http_response http_client::put(const std::string& target, const nlohmann::json& body,
                               const std::string& token) {
  return request(json_request("PUT", target, body, token));
}

// -- run_concurrently ---------------------------------------------------------------------------

std::vector<http_response> run_concurrently(const std::string& host, uint16_t port,
                                            const std::vector<http_request>& reqs,
                                            const concurrency_options& opts) {
  std::vector<http_response> out(reqs.size());
  if (reqs.empty())
    return out;
  auto n_threads = std::max<size_t>(1, std::min(opts.connections, reqs.size()));
  std::atomic<size_t> next{0};
  std::latch ready{static_cast<std::ptrdiff_t>(n_threads)};
  std::vector<std::thread> threads;
  threads.reserve(n_threads);
  for (size_t t = 0; t < n_threads; ++t) {
    threads.emplace_back([&] {
      http_client client{host, port, opts.timeout};
      try {
        client.connect();
      } catch (const std::exception&) {
        // request() tries again and reports the error per request
      }
      ready.arrive_and_wait();
      for (size_t i = next++; i < reqs.size(); i = next++) {
        out[i] = client.try_request(reqs[i]);
        if (opts.completed != nullptr)
          opts.completed->fetch_add(1);
      }
    });
  }
  for (auto& th : threads)
    th.join();
  return out;
}

} // namespace mercato::test
