// mercato-bench: HTTP load generator for Mercato's benchmarks (docs/BENCHMARKS.md).
//
//   mercato-bench flash --url http://127.0.0.1:8080 --token T --skus 1 --connections 64
//                       --duration 20 [--seed] [--on-hand N] [--warmup 3]
//   mercato-bench read  (same options): GET /v1/stock/{sku}, the server's ceiling without
//                       durability, through the same HTTP, request-actor and entity path.
//
// Each connection keeps one request in flight (keep-alive). flash counts only 201 answers,
// which Mercato sends once the hold is durable. Prints one JSON line of results.

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct target {
  std::string host = "127.0.0.1";
  std::string port = "8080";
};

target parse_url(const std::string& url) {
  target t;
  auto rest = url.substr(url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
  auto slash = rest.find('/');
  if (slash != std::string::npos)
    rest = rest.substr(0, slash);
  auto colon = rest.rfind(':');
  if (colon != std::string::npos) {
    t.host = rest.substr(0, colon);
    t.port = rest.substr(colon + 1);
  } else {
    t.host = rest;
  }
  return t;
}

struct results {
  std::vector<uint32_t> latencies_us; // of counted (2xx) answers
  uint64_t ok = 0;
  uint64_t rejected = 0; // 409
  uint64_t failed = 0;   // anything else, incl. transport errors
};

/// Builds the next request of one connection.
using request_factory = std::function<http::request<http::string_body>(uint64_t n)>;

class connection : public std::enable_shared_from_this<connection> {
public:
  connection(asio::io_context& ioc, const tcp::resolver::results_type& ep, request_factory make,
             clock_type::time_point measure_from, clock_type::time_point stop_at, results& out)
      : stream_(ioc), endpoints_(ep), make_(std::move(make)), measure_from_(measure_from),
        stop_at_(stop_at), out_(out) {}

  void start() {
    stream_.async_connect(endpoints_,
                          [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                            if (ec) {
                              ++self->out_.failed;
                              return;
                            }
                            self->stream_.socket().set_option(tcp::no_delay(true));
                            self->send();
                          });
  }

private:
  void send() {
    if (clock_type::now() >= stop_at_)
      return;
    req_ = make_(n_++);
    sent_at_ = clock_type::now();
    http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        ++self->out_.failed;
        return;
      }
      self->res_ = {};
      http::async_read(self->stream_, self->buf_, self->res_,
                       [self](beast::error_code ec, size_t) { self->on_read(ec); });
    });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      ++out_.failed;
      return;
    }
    auto now = clock_type::now();
    if (sent_at_ >= measure_from_) {
      auto status = res_.result_int();
      if (status >= 200 && status < 300) {
        ++out_.ok;
        out_.latencies_us.push_back(static_cast<uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - sent_at_).count()));
      } else if (status == 409) {
        ++out_.rejected;
      } else {
        ++out_.failed;
      }
    }
    send();
  }

  beast::tcp_stream stream_;
  tcp::resolver::results_type endpoints_;
  request_factory make_;
  clock_type::time_point measure_from_;
  clock_type::time_point stop_at_;
  results& out_;
  uint64_t n_ = 0;
  clock_type::time_point sent_at_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

http::request<http::string_body> make_request(http::verb verb, const std::string& target,
                                              const std::string& host, const std::string& token,
                                              std::string body) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::authorization, "Bearer " + token);
  req.set(http::field::content_type, "application/json");
  req.keep_alive(true);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

/// Runs `connections` closed-loop clients for warmup + duration seconds on `threads` threads.
results run_load(const target& t, int connections, int threads, double warmup_s, double duration_s,
                 const std::function<request_factory(int conn)>& factory) {
  asio::io_context ioc;
  auto endpoints = tcp::resolver{ioc}.resolve(t.host, t.port);
  auto start = clock_type::now();
  auto measure_from
    = start
      + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(warmup_s));
  auto stop_at
    = measure_from
      + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(duration_s));
  std::vector<results> per_conn(static_cast<size_t>(connections));
  for (int i = 0; i < connections; ++i)
    std::make_shared<connection>(ioc, endpoints, factory(i), measure_from, stop_at,
                                 per_conn[static_cast<size_t>(i)])
      ->start();
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i)
    pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& th : pool)
    th.join();
  results all;
  for (auto& r : per_conn) {
    all.ok += r.ok;
    all.rejected += r.rejected;
    all.failed += r.failed;
    all.latencies_us.insert(all.latencies_us.end(), r.latencies_us.begin(), r.latencies_us.end());
  }
  return all;
}

double percentile_ms(std::vector<uint32_t>& v, double p) {
  if (v.empty())
    return 0;
  auto k = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k] / 1000.0;
}

/// Sequential set-up requests over one connection (products and stock for every SKU).
bool seed(const target& t, const std::string& token, int skus, const std::string& prefix,
          int64_t on_hand) {
  auto make = [&](int conn) -> request_factory {
    return [&, conn](uint64_t n) {
      // Connection `conn` seeds SKUs conn, conn + C, ...: first the product, then its stock.
      auto idx = static_cast<int>(n / 2) * 16 + conn;
      auto sku = prefix + std::to_string(idx % skus);
      if (n % 2 == 0)
        return make_request(http::verb::put, "/v1/products/" + sku, t.host, token,
                            R"({"name":"Bench item )" + sku
                              + R"(","price_minor":1000,"currency":"USD"})");
      return make_request(http::verb::put, "/v1/stock/" + sku, t.host, token,
                          R"({"on_hand":)" + std::to_string(on_hand) + "}");
    };
  };
  // 16 connections, each 2 * ceil(skus / 16) requests; stop when all are done.
  asio::io_context ioc;
  auto endpoints = tcp::resolver{ioc}.resolve(t.host, t.port);
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int conn = 0; conn < 16; ++conn)
    workers.emplace_back([&, conn] {
      asio::io_context io;
      beast::tcp_stream s{io};
      s.connect(endpoints);
      beast::flat_buffer buf;
      auto factory = make(conn);
      for (uint64_t n = 0; static_cast<int>(n / 2) * 16 + conn < skus; ++n) {
        auto req = factory(n);
        http::write(s, req);
        http::response<http::string_body> res;
        http::read(s, buf, res);
        if (res.result_int() >= 300) {
          if (errors++ < 3)
            std::cerr << "seed: " << req.target() << " -> " << res.result_int() << ' ' << res.body()
                      << '\n';
        }
      }
    });
  for (auto& w : workers)
    w.join();
  return errors == 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"mercato-bench: load generator for Mercato's benchmarks"};
  app.require_subcommand(1);
  std::string url = "http://127.0.0.1:8080";
  std::string token;
  std::string prefix = "bench-";
  int skus = 1;
  int connections = 64;
  int threads = 1;
  double duration = 20;
  double warmup = 3;
  bool do_seed = false;
  int64_t on_hand = 1'000'000'000;
  std::string label = "mercato";
  auto* flash = app.add_subcommand("flash", "durable reservations on one or many SKUs");
  auto* read = app.add_subcommand("read", "stock reads on one or many SKUs (no durability)");
  for (auto* sub : {flash, read}) {
    sub->add_option("--url", url, "server base URL")->capture_default_str();
    sub->add_option("--token", token, "bearer token (service or admin)")->required();
    sub->add_option("--connections", connections, "concurrent keep-alive connections")
      ->capture_default_str();
    sub->add_option("--threads", threads, "client threads")->capture_default_str();
    sub->add_option("--duration", duration, "measured seconds")->capture_default_str();
    sub->add_option("--warmup", warmup, "unmeasured seconds first")->capture_default_str();
    sub->add_option("--label", label, "name printed with the results")->capture_default_str();
    sub->add_option("--skus", skus, "SKUs to spread requests over (1 = one hot SKU)")
      ->capture_default_str();
    sub->add_option("--prefix", prefix, "SKU name prefix")->capture_default_str();
    sub->add_flag("--seed", do_seed, "create products and stock first (admin token)");
    sub->add_option("--on-hand", on_hand, "units per SKU when seeding")->capture_default_str();
  }
  CLI11_PARSE(app, argc, argv);

  auto t = parse_url(url);
  if (do_seed && !seed(t, token, skus, prefix, on_hand)) {
    std::cerr << "seeding failed\n";
    return 1;
  }
  // Reservation ids unique per run, connection and request, so every request is a new hold.
  auto run_id = std::to_string(std::random_device{}());
  auto r = run_load(t, connections, threads, warmup, duration, [&](int conn) -> request_factory {
    auto rng = std::make_shared<std::mt19937_64>(static_cast<uint64_t>(conn) * 7919 + 17);
    return [&, conn, rng](uint64_t n) {
      auto sku = prefix + std::to_string(skus == 1 ? 0 : (*rng)() % static_cast<uint64_t>(skus));
      if (read->parsed())
        return make_request(http::verb::get, "/v1/stock/" + sku, t.host, token, "");
      auto id = "b" + run_id + "-" + std::to_string(conn) + "-" + std::to_string(n);
      return make_request(http::verb::post, "/v1/stock/" + sku + "/reservations", t.host, token,
                          R"({"reservation_id":")" + id + R"(","quantity":1,"ttl_s":3600})");
    };
  });
  auto rate = static_cast<double>(r.ok) / duration;
  std::printf("{\"label\":\"%s\",\"skus\":%d,\"connections\":%d,\"duration_s\":%.1f,"
              "\"ok\":%llu,\"rejected\":%llu,\"failed\":%llu,\"per_s\":%.0f,\"p50_ms\":%.2f,"
              "\"p99_ms\":%.2f}\n",
              label.c_str(), skus, connections, duration, static_cast<unsigned long long>(r.ok),
              static_cast<unsigned long long>(r.rejected),
              static_cast<unsigned long long>(r.failed), rate, percentile_ms(r.latencies_us, 0.50),
              percentile_ms(r.latencies_us, 0.99));
  return r.failed == 0 ? 0 : 2;
}
