#pragma once

// What mercato-bench's modes share: the target, blocking set-up requests over keep-alive
// connections, products and stock, filled carts, the server's metrics, percentiles.

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace mercato::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

/// `s` seconds as a steady_clock duration.
inline std::chrono::steady_clock::duration seconds_of(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
    std::chrono::duration<double>(s));
}

/// A latency in whole microseconds, as the benchmarks keep them.
inline uint32_t micros(std::chrono::steady_clock::duration d) {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

/// When the k-th request of an open-loop run offered at `rate` per second falls due.
inline std::chrono::steady_clock::time_point due_at(std::chrono::steady_clock::time_point start,
                                                    uint64_t k, double rate) {
  return start + seconds_of(static_cast<double>(k) / rate);
}

/// The server a benchmark talks to.
struct target {
  std::string host = "127.0.0.1";
  std::string port = "8080";
};

/// Host and port of http://HOST:PORT[/...] (loosely: no scheme, no port are accepted).
target parse_url(const std::string& url);

/// A keep-alive JSON request with a bearer token.
http::request<http::string_body> make_request(http::verb verb, const std::string& target,
                                              const std::string& host, const std::string& token,
                                              std::string body);

/// The p-quantile (0..1) of latencies in µs, in ms; reorders `v`. 0 when empty.
double percentile_ms(std::vector<uint32_t>& v, double p);

/// Resolves the target's host and port (blocking).
tcp::resolver::results_type resolve(const target& t);

/// One blocking keep-alive connection for set-up requests.
class setup_client {
public:
  setup_client(const target& t, const tcp::resolver::results_type& endpoints) : host_(t.host) {
    stream_.connect(endpoints);
    stream_.socket().set_option(tcp::no_delay(true));
  }

  http::response<http::string_body> send(http::verb verb, const std::string& path,
                                         const std::string& token, std::string body) {
    return send(make_request(verb, path, host_, token, std::move(body)));
  }

  /// Sends a request built by the caller (extra headers, say).
  http::response<http::string_body> send(http::request<http::string_body> req) {
    http::write(stream_, req);
    http::response<http::string_body> res;
    http::read(stream_, buf_, res);
    return res;
  }

private:
  std::string host_;
  asio::io_context io_;
  beast::tcp_stream stream_{io_};
  beast::flat_buffer buf_;
};

/// Runs `work(conn)` on `connections` threads, each with its own set-up connection.
void in_parallel(int connections, const std::function<void(int conn)>& work);

/// Products and stock for every SKU, over 16 connections.
bool seed(const target& t, const std::string& token, int skus, const std::string& prefix,
          int64_t on_hand);

/// A filled cart and the customer who owns it.
struct cart_ref {
  std::string cart_id;
  int customer = 0;
};

/// Which SKUs a cart holds: `spread` draws all its lines from the whole range; `hot` puts SKU 0
/// (the hot one) in every cart and draws the other lines from SKUs 1 to skus - 1.
enum class cart_mix { spread, hot };

/// `lines` distinct SKUs of `skus` chosen by `mix` (at most `skus`).
std::vector<int> choose_skus(std::mt19937_64& rng, int lines, int skus, cart_mix mix);

/// Creates a cart owned by `token`'s customer holding one unit of each SKU `prefix` + n of
/// `skus`; its id, or nothing with `error` saying which request failed and how.
std::optional<std::string> create_filled_cart(setup_client& c, const std::string& token,
                                              const std::vector<int>& skus,
                                              const std::string& prefix, std::string& error);

/// Creates `carts` carts over `connections` connections, cart i owned by customer
/// i % tokens.size(), each with `lines` distinct SKUs of `skus` chosen by `mix`, one unit each.
/// Carts that could not be created or filled are left out (and reported).
std::vector<cart_ref> fill_carts(const target& t, const std::vector<std::string>& tokens, int carts,
                                 int lines, int skus, cart_mix mix, const std::string& prefix,
                                 int connections);

/// The sums of the server's Prometheus series named exactly `names` (all label sets), from
/// GET /metrics; empty if it cannot be read.
std::vector<double> metric_sums(const target& t, const std::vector<std::string>& names);

/// Machine-wide CPU time so far, in clock ticks, from the first line of /proc/stat: busy (user,
/// nice, system, irq, softirq) and idle (idle, iowait), as tools/bench/lib.sh's cpu_busy_idle
/// reads it. Both zero if it cannot be read.
struct machine_cpu {
  uint64_t busy = 0;
  uint64_t idle = 0;
};
machine_cpu read_machine_cpu();

/// Clock ticks per second of /proc/stat.
double clock_ticks_per_s();

/// The body of POST /v1/checkouts for a cart: the sandbox's `tok_ok` and one address.
std::string checkout_body(const std::string& cart_id);

} // namespace mercato::bench
