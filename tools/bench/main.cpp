// mercato-bench: HTTP load generator for Mercato's benchmarks (docs/BENCHMARKS.md).
//
//   mercato-bench flash --url http://127.0.0.1:8080 --token T --skus 1 --connections 64
//                       --duration 20 [--seed] [--on-hand N] [--warmup 3]
//   mercato-bench read  (same options): GET /v1/stock/{sku}, the server's ceiling without
//                       durability, through the same HTTP, request-actor and entity path.
//   mercato-bench checkout --token ADMIN --jwt-secret S --skus 10000 --customers 1000
//                       --carts 60000 --connections 64 --duration 20 [--seed] [--mix hot]
//                       POST /v1/checkouts of carts filled before the clock starts.
//   mercato-bench push  --token ADMIN --subscribers 1000 --events 2000 [--order ID |
//                       --jwt-secret S] [--rate R] [--posters 2] [--window 2] [--json]
//                       events pushed over GET /v1/ws: from a partner fact posted over REST to
//                       its receipt by every subscriber of the order (push.cpp).
//   mercato-bench idle  --orders FILE --subscribers N --jwt-secret S [--create --token ADMIN |
//                       --load --token ADMIN]
//                       N idle WebSocket subscribers, each a customer following their own order,
//                       held until stdin closes (push.cpp; idle_ws.sh reads the server's RSS).
//   mercato-bench soak  --jwt-secret S [--seed --token ADMIN] --skus 1000 --rate R --duration 1800
//   --every 30 --pid P
//                       purchases (a cart, three lines, a checkout) at a steady rate, one JSON
//                       line per interval with the server's RSS (soak.cpp, soak.sh).
//   mercato-bench fake-provider --port-file F
//                       a fake SMS or push provider answering 200 at once (fake_provider.cpp),
//                       for the notification benchmark (notify.sh).
//
// With --shed-ok, 503 answers (the server refusing load it cannot take) are counted apart, with
// their own latencies, instead of failing the run (overload.sh).
//
// Each connection keeps one request in flight (keep-alive). Without --rate each sends its next
// request on the last answer (closed loop); with --rate R the run's requests fall due at R per
// second and each free connection takes the next one due (open loop): give at least R times the
// expected latency in connections. flash and checkout count only 201
// answers, which Mercato sends once the hold (the order) is durable. Prints one JSON line of
// results: the rate and latencies, and over the measured window only (warm-up excluded) the
// journal's appends and group commits from the server's /metrics and the machine's CPU time
// from /proc/stat, each also per counted answer (`appends_per_op`, `cpu_us_per_op`). Client,
// server and database share the machine, so the CPU figure is everything a run costs it
// (and whatever else runs there).
//
// checkout: a set-up phase (not timed) creates `--carts` carts, each owned by one of
// `--customers` customers (tokens minted with `--jwt-secret`) and holding 3 distinct SKUs of
// `--skus`. The timed phase draws carts from that pool, one per checkout, each with its own
// Idempotency-Key and the sandbox's card token `tok_ok`. The pool must outlast warm-up and
// measurement: size it as (expected rate) x (warm-up + duration) with a margin. A pool that runs
// out ends the measurement early; the rate is then over the time until it ran out, and the
// result says `"exhausted":true`. `--mix hot` puts the same hot SKU (the prefix's SKU 0) in every
// cart, beside lines drawn from the other SKUs.

#include "tests/support/jwt_mint.hpp"
#include "tools/bench/fake_provider.hpp"
#include "tools/bench/push.hpp"
#include "tools/bench/setup.hpp"
#include "tools/bench/soak.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace mercato::bench;
using clock_type = std::chrono::steady_clock;

namespace {

struct results {
  std::vector<uint32_t> latencies_us; // of counted answers
  uint64_t ok = 0;
  uint64_t rejected = 0; // 409
  uint64_t shed = 0;     // 503 with --shed-ok: refused by the server's load shedding
  std::vector<uint32_t> shed_latencies_us;
  uint64_t failed = 0;       // anything else, incl. transport errors
  std::string first_failure; // status and body of the first failed answer, for diagnosis
  double window_s = 0;       // measured seconds (shorter than asked if the work ran out)
  bool exhausted = false;    // a connection had nothing left to send before the end
  // With --rate: requests written inside the window, and the most any was written after it was
  // due. When the connections cannot keep up with the rate (each has one request in flight), the
  // rate actually offered is sent / window_s and the lag grows: both say so.
  uint64_t sent = 0;
  uint32_t max_send_lag_us = 0;
};

/// Builds the next request of one connection; nothing when it has no more work.
using request_factory = std::function<std::optional<http::request<http::string_body>>(uint64_t n)>;

/// When the first connection ran out of work (time_point::max() while none has).
struct exhaustion {
  std::mutex mutex;
  std::condition_variable changed;
  clock_type::time_point at = clock_type::time_point::max();

  void mark(clock_type::time_point t) {
    {
      std::lock_guard lock{mutex};
      at = std::min(at, t);
    }
    changed.notify_all();
  }

  /// Waits until `deadline` or until work ran out, whichever is first; false if work ran out.
  bool wait_until(clock_type::time_point deadline) {
    std::unique_lock lock{mutex};
    return !changed.wait_until(lock, deadline,
                               [this] { return at != clock_type::time_point::max(); });
  }
};

/// With --rate: the time each request of the run is due, shared by every connection (open
/// loop). Request k is due at start + k / rate whether or not earlier answers came back; its
/// latency counts from then, so a server that falls behind is charged for the wait
/// (no coordinated omission).
struct pacer {
  clock_type::time_point start;
  double rate = 0; ///< requests/s; 0 = closed loop
  std::atomic<uint64_t> issued{0};

  clock_type::time_point next_due() {
    return due_at(start, issued.fetch_add(1), rate);
  }
};

/// Called on a thread of their own when the measured window opens and when it closes (at the end
/// of the duration, or when work ran out), so that what they sample covers the window only.
struct window_hooks {
  std::function<void()> opened;
  std::function<void()> closed;
};

class connection : public std::enable_shared_from_this<connection> {
public:
  /// `ok_status` 0 counts every 2xx answer, another value only that status; `shed_ok` counts
  /// 503 answers as shed load rather than failures.
  connection(asio::io_context& ioc, const tcp::resolver::results_type& ep, request_factory make,
             clock_type::time_point measure_from, clock_type::time_point stop_at, int ok_status,
             bool shed_ok, pacer& pace, exhaustion& ran_out, results& out)
      : stream_(ioc), due_timer_(ioc), endpoints_(ep), make_(std::move(make)),
        measure_from_(measure_from), stop_at_(stop_at), ok_status_(ok_status), shed_ok_(shed_ok),
        pace_(pace), ran_out_(ran_out), out_(out) {}

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
    auto now = clock_type::now();
    if (now >= stop_at_)
      return;
    auto next = make_(n_++);
    if (!next) {
      ran_out_.mark(now);
      return;
    }
    req_ = std::move(*next);
    if (pace_.rate > 0) {
      sent_at_ = pace_.next_due();
      if (sent_at_ >= stop_at_)
        return;
      if (sent_at_ > now) {
        due_timer_.expires_at(sent_at_);
        due_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
          if (!ec)
            self->write();
        });
        return;
      }
    } else {
      sent_at_ = now;
    }
    write();
  }

  void write() {
    if (pace_.rate > 0) {
      auto now = clock_type::now();
      if (now >= measure_from_) {
        ++out_.sent;
        out_.max_send_lag_us = std::max(out_.max_send_lag_us, micros(now - sent_at_));
      }
    }
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
    // Closed loop: the requests sent inside the window. Open loop: the answers that arrive inside
    // it, each timed from when it was due, so that a backlog behind the rate is counted, not
    // left out of the window.
    if (pace_.rate > 0 ? now >= measure_from_ : sent_at_ >= measure_from_) {
      auto status = static_cast<int>(res_.result_int());
      auto took = micros(now - sent_at_);
      if (ok_status_ == 0 ? status >= 200 && status < 300 : status == ok_status_) {
        ++out_.ok;
        out_.latencies_us.push_back(took);
      } else if (status == 503 && shed_ok_) {
        ++out_.shed;
        out_.shed_latencies_us.push_back(took);
      } else if (status == 409) {
        ++out_.rejected;
      } else {
        if (out_.failed++ == 0)
          out_.first_failure = std::to_string(status) + " " + res_.body().substr(0, 300);
      }
    }
    send();
  }

  beast::tcp_stream stream_;
  asio::steady_timer due_timer_;
  tcp::resolver::results_type endpoints_;
  request_factory make_;
  clock_type::time_point measure_from_;
  clock_type::time_point stop_at_;
  int ok_status_;
  bool shed_ok_;
  pacer& pace_;
  exhaustion& ran_out_;
  results& out_;
  uint64_t n_ = 0;
  clock_type::time_point sent_at_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

/// Runs `connections` closed-loop clients for warmup + duration seconds on `threads` threads.
results run_load(const target& t, int connections, int threads, double warmup_s, double duration_s,
                 double rate, int ok_status, bool shed_ok, const window_hooks& hooks,
                 const std::function<request_factory(int conn)>& factory) {
  asio::io_context ioc;
  auto endpoints = tcp::resolver{ioc}.resolve(t.host, t.port);
  auto start = clock_type::now();
  auto measure_from = start + seconds_of(warmup_s);
  auto stop_at = measure_from + seconds_of(duration_s);
  std::vector<results> per_conn(static_cast<size_t>(connections));
  exhaustion ran_out;
  pacer pace;
  pace.start = start;
  pace.rate = rate;
  for (int i = 0; i < connections; ++i)
    std::make_shared<connection>(ioc, endpoints, factory(i), measure_from, stop_at, ok_status,
                                 shed_ok, pace, ran_out, per_conn[static_cast<size_t>(i)])
      ->start();
  // Sampling blocks (a GET /metrics), so it runs beside the clients, not on their threads.
  std::thread sampler{[&] {
    if (!ran_out.wait_until(measure_from))
      return; // nothing to measure
    hooks.opened();
    ran_out.wait_until(stop_at);
    hooks.closed();
  }};
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i)
    pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& th : pool)
    th.join();
  sampler.join();
  results all;
  for (auto& r : per_conn) {
    all.ok += r.ok;
    all.rejected += r.rejected;
    all.shed += r.shed;
    all.shed_latencies_us.insert(all.shed_latencies_us.end(), r.shed_latencies_us.begin(),
                                 r.shed_latencies_us.end());
    all.failed += r.failed;
    all.sent += r.sent;
    all.max_send_lag_us = std::max(all.max_send_lag_us, r.max_send_lag_us);
    if (all.first_failure.empty())
      all.first_failure = r.first_failure;
    all.latencies_us.insert(all.latencies_us.end(), r.latencies_us.begin(), r.latencies_us.end());
  }
  all.exhausted = ran_out.at < stop_at;
  auto end = std::min(stop_at, ran_out.at);
  all.window_s = end > measure_from ? std::chrono::duration<double>(end - measure_from).count() : 0;
  return all;
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
  bool shed_ok = false;
  double offered_rate = 0;
  int64_t on_hand = 1'000'000'000;
  std::string label = "mercato";
  std::string jwt_secret;
  int customers = 1000;
  int carts = 10000;
  int lines = 3;
  int setup_connections = 32;
  std::string mix = "spread";
  auto* flash = app.add_subcommand("flash", "durable reservations on one or many SKUs");
  auto* read = app.add_subcommand("read", "stock reads on one or many SKUs (no durability)");
  auto* checkout = app.add_subcommand("checkout", "checkouts of carts filled beforehand");
  for (auto* sub : {flash, read, checkout}) {
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
    sub
      ->add_option("--rate", offered_rate,
                   "requests/s offered at fixed times (open loop; latency counts from when "
                   "each was due); 0 = each connection sends on its last answer")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
    sub->add_flag("--shed-ok", shed_ok,
                  "count 503 answers as shed load (with their latencies), not as failures");
    sub->add_option("--on-hand", on_hand, "units per SKU when seeding")->capture_default_str();
  }
  checkout->add_option("--jwt-secret", jwt_secret, "the server's HS256 secret (customer tokens)")
    ->envname("MERCATO_JWT_SECRET")
    ->required();
  checkout->add_option("--customers", customers, "customers owning the carts")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  checkout->add_option("--carts", carts, "carts filled before the clock starts, one per checkout")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  checkout->add_option("--lines", lines, "distinct SKUs per cart, one unit each")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  checkout->add_option("--setup-connections", setup_connections, "connections filling carts")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  checkout
    ->add_option("--mix", mix,
                 "spread: lines drawn from all SKUs; hot: SKU 0 in every cart, other lines drawn "
                 "from the rest")
    ->capture_default_str()
    ->check(CLI::IsMember({"spread", "hot"}));
  push_options push_opts;
  auto* push = app.add_subcommand("push", "events pushed over GET /v1/ws to many subscribers");
  push->add_option("--url", push_opts.url, "server base URL")->capture_default_str();
  push->add_option("--ws-url", push_opts.ws_url,
                   "where the subscribers connect (another cluster node); default: --url");
  push->add_option("--token", push_opts.token, "bearer token (service or admin)")->required();
  push
    ->add_option("--jwt-secret", push_opts.jwt_secret,
                 "the server's HS256 secret (a customer token for the order's checkout)")
    ->envname("MERCATO_JWT_SECRET");
  push->add_option("--order", push_opts.order_id,
                   "subscribe to this order (default: create one through a checkout)");
  push->add_option("--subscribers", push_opts.subscribers, "WebSocket connections")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  push->add_option("--events", push_opts.events, "partner facts posted")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  push->add_option("--rate", push_opts.rate, "facts/s offered; 0 = as fast as answers and window")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  push->add_option("--posters", push_opts.posters, "keep-alive connections posting facts")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  push
    ->add_option("--window", push_opts.window,
                 "most facts posted and not yet received by every subscriber; 0 = no limit")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  push->add_option("--threads", push_opts.threads, "threads reading the subscribers")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  push
    ->add_option("--connect-concurrency", push_opts.connect_concurrency,
                 "subscribers connecting at a time")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  push
    ->add_option("--drain-timeout", push_opts.drain_timeout_s,
                 "seconds without a delivery after which missing ones are given up")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  push->add_option("--source", push_opts.source, "source of the facts")->capture_default_str();
  push->add_option("--type", push_opts.type, "type of the facts")->capture_default_str();
  push->add_option("--label", push_opts.label, "name printed with the results")
    ->capture_default_str();
  push->add_flag("--json", push_opts.json, "print the result as one JSON line (human on stderr)");
  idle_options idle_opts;
  auto* idle = app.add_subcommand("idle", "idle WebSocket subscribers, one order each, held");
  idle->add_option("--url", idle_opts.url, "server base URL")->capture_default_str();
  idle->add_option("--token", idle_opts.token, "admin token (--create, --load)");
  idle
    ->add_option("--jwt-secret", idle_opts.jwt_secret,
                 "the server's HS256 secret (the customers' tokens)")
    ->envname("MERCATO_JWT_SECRET")
    ->required();
  idle->add_option("--orders", idle_opts.orders_file, "file of `customer order` lines")->required();
  idle->add_option("--subscribers", idle_opts.subscribers, "connections (orders with --create)")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  auto* idle_create = idle->add_flag(
    "--create", idle_opts.create, "place the orders (a checkout each), write --orders, and exit");
  idle
    ->add_flag("--load", idle_opts.load,
               "read each order once (GET /v1/orders/{id}), so that the server holds it, and exit")
    ->excludes(idle_create);
  idle->add_option("--threads", idle_opts.threads, "threads reading the subscribers")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  idle
    ->add_option("--connect-concurrency", idle_opts.connect_concurrency,
                 "subscribers connecting at a time")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  idle
    ->add_option("--setup-connections", idle_opts.setup_connections,
                 "connections placing or reading the orders")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  idle->add_option("--label", idle_opts.label, "name printed with the results")
    ->capture_default_str();
  soak_options soak_opts;
  auto* soak = app.add_subcommand("soak", "purchases at a steady rate, the server's RSS sampled");
  soak->add_option("--url", soak_opts.url, "server base URL")->capture_default_str();
  soak->add_option("--jwt-secret", soak_opts.jwt_secret, "the server's HS256 secret")->required();
  soak->add_option("--token", soak_opts.token, "admin token (--seed)");
  soak->add_flag("--seed", soak_opts.seed_first, "create products and stock first (admin token)");
  soak->add_option("--prefix", soak_opts.prefix, "SKU name prefix")->capture_default_str();
  soak->add_option("--skus", soak_opts.skus, "SKUs the carts draw from")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  soak->add_option("--customers", soak_opts.customers, "customers making the purchases")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  soak->add_option("--lines", soak_opts.lines, "distinct SKUs per cart")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  soak->add_option("--connections", soak_opts.connections, "keep-alive connections")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  soak->add_option("--rate", soak_opts.rate, "purchases/s offered; 0 = as fast as they go")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  soak->add_option("--duration", soak_opts.duration, "seconds")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  soak->add_option("--every", soak_opts.every, "seconds between report lines")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  soak->add_option("--pid", soak_opts.pid, "the server's process id (its RSS is reported)");
  soak->add_option("--label", soak_opts.label, "name printed with the results")
    ->capture_default_str();
  auto* provider = app.add_subcommand("fake-provider", "a fake SMS or push provider (notify.sh)");
  std::string port_file;
  provider->add_option("--port-file", port_file, "where to write the port it listens on")
    ->required();
  CLI11_PARSE(app, argc, argv);
  if (push->parsed())
    return run_push(push_opts);
  if (idle->parsed())
    return run_idle(idle_opts);
  if (provider->parsed())
    return run_fake_provider(port_file);
  if (soak->parsed())
    return run_soak(soak_opts);

  auto t = parse_url(url);
  if (do_seed && !seed(t, token, skus, prefix, on_hand)) {
    std::cerr << "seeding failed\n";
    return 1;
  }
  // Ids unique per run, connection and request, so every request is a new hold (checkout).
  auto run_id = std::to_string(std::random_device{}());
  results r;
  std::string extra;
  // The journal's group commits and the machine's CPU over the measured window: sampled when it
  // opens and when it closes, so that warm-up's appends are not divided by the window's answers.
  const std::vector<std::string> series{
    "mercato_journal_batch_size_count", "mercato_journal_batch_size_sum",
    "mercato_journal_commit_seconds_sum", "mercato_journal_appends_total"};
  std::vector<double> metrics_before;
  std::vector<double> metrics_after;
  machine_cpu cpu_before;
  machine_cpu cpu_after;
  window_hooks hooks{[&] {
                       cpu_before = read_machine_cpu();
                       metrics_before = metric_sums(t, series);
                     },
                     [&] {
                       metrics_after = metric_sums(t, series);
                       cpu_after = read_machine_cpu();
                     }};
  if (checkout->parsed()) {
    std::vector<std::string> tokens;
    tokens.reserve(static_cast<size_t>(customers));
    for (int i = 0; i < customers; ++i)
      tokens.push_back(mercato::test::mint_token(jwt_secret, "bench-customer-" + std::to_string(i),
                                                 "customer", std::chrono::hours{12}));
    auto setup_start = clock_type::now();
    auto pool
      = fill_carts(t, tokens, carts, lines, skus, mix == "hot" ? cart_mix::hot : cart_mix::spread,
                   prefix, setup_connections);
    auto setup_s = std::chrono::duration<double>(clock_type::now() - setup_start).count();
    std::cerr << "checkout: " << pool.size() << " carts filled in " << setup_s << " s\n";
    if (pool.empty())
      return 1;
    auto next = std::make_shared<std::atomic<size_t>>(0);
    auto checkouts = [&](int) -> request_factory {
      return [&, next](uint64_t) -> std::optional<http::request<http::string_body>> {
        auto i = next->fetch_add(1);
        if (i >= pool.size())
          return std::nullopt;
        const auto& cart = pool[i];
        auto req
          = make_request(http::verb::post, "/v1/checkouts", t.host,
                         tokens[static_cast<size_t>(cart.customer)], checkout_body(cart.cart_id));
        req.set("Idempotency-Key", "bench-" + run_id + "-" + std::to_string(i));
        return req;
      };
    };
    r = run_load(t, connections, threads, warmup, duration, offered_rate, 201, shed_ok, hooks,
                 checkouts);
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  ",\"mix\":\"%s\",\"carts\":%zu,\"carts_used\":%zu,\"exhausted\":%s,"
                  "\"setup_s\":%.1f",
                  mix.c_str(), pool.size(), std::min(pool.size(), next->load()),
                  r.exhausted ? "true" : "false", setup_s);
    extra = buf;
  } else {
    r = run_load(
      t, connections, threads, warmup, duration, offered_rate, read->parsed() ? 200 : 201, shed_ok,
      hooks, [&](int conn) -> request_factory {
        auto rng = std::make_shared<std::mt19937_64>(static_cast<uint64_t>(conn) * 7919 + 17);
        return [&, conn, rng](uint64_t n) {
          auto sku
            = prefix + std::to_string(skus == 1 ? 0 : (*rng)() % static_cast<uint64_t>(skus));
          if (read->parsed())
            return make_request(http::verb::get, "/v1/stock/" + sku, t.host, token, "");
          auto id = "b" + run_id + "-" + std::to_string(conn) + "-" + std::to_string(n);
          return make_request(http::verb::post, "/v1/stock/" + sku + "/reservations", t.host, token,
                              R"({"reservation_id":")" + id + R"(","quantity":1,"ttl_s":3600})");
        };
      });
  }
  auto ops = static_cast<double>(r.ok);
  if (!metrics_before.empty() && !metrics_after.empty()) {
    char buf[256];
    auto commits = metrics_after[0] - metrics_before[0];
    auto appends = metrics_after[3] - metrics_before[3];
    std::snprintf(buf, sizeof buf, ",\"journal_appends\":%.0f,\"appends_per_op\":%.2f", appends,
                  ops > 0 ? appends / ops : 0.0);
    extra += buf;
    if (commits > 0) {
      std::snprintf(buf, sizeof buf,
                    ",\"journal_commits\":%.0f,\"journal_batch_avg\":%.1f,"
                    "\"journal_commit_ms_avg\":%.2f",
                    commits, (metrics_after[1] - metrics_before[1]) / commits,
                    1000 * (metrics_after[2] - metrics_before[2]) / commits);
      extra += buf;
    }
  }
  if (cpu_after.busy + cpu_after.idle > cpu_before.busy + cpu_before.idle) {
    char buf[128];
    auto busy = static_cast<double>(cpu_after.busy - cpu_before.busy);
    auto idle = static_cast<double>(cpu_after.idle - cpu_before.idle);
    std::snprintf(buf, sizeof buf, ",\"machine_busy\":%.2f,\"cpu_us_per_op\":%.1f",
                  busy / (busy + idle), ops > 0 ? 1e6 * busy / clock_ticks_per_s() / ops : 0.0);
    extra += buf;
  }
  if (shed_ok) {
    char buf[160];
    auto answered = r.ok + r.rejected + r.shed + r.failed;
    std::snprintf(
      buf, sizeof buf,
      ",\"shed\":%llu,\"shed_p50_ms\":%.2f,\"shed_p99_ms\":%.2f,\"answered_per_s\":%.0f",
      static_cast<unsigned long long>(r.shed), percentile_ms(r.shed_latencies_us, 0.50),
      percentile_ms(r.shed_latencies_us, 0.99),
      r.window_s > 0 ? static_cast<double>(answered) / r.window_s : 0.0);
    extra += buf;
  }
  if (r.failed > 0)
    std::cerr << "first failure: " << r.first_failure << '\n';
  if (offered_rate > 0) {
    char buf[128];
    std::snprintf(buf, sizeof buf,
                  ",\"offered_per_s\":%.0f,\"sent_per_s\":%.0f,\"max_send_lag_ms\":%.1f",
                  offered_rate, r.window_s > 0 ? static_cast<double>(r.sent) / r.window_s : 0.0,
                  r.max_send_lag_us / 1000.0);
    extra += buf;
  }
  auto rate = r.window_s > 0 ? static_cast<double>(r.ok) / r.window_s : 0.0;
  std::printf("{\"label\":\"%s\",\"skus\":%d,\"connections\":%d,\"duration_s\":%.1f,"
              "\"ok\":%llu,\"rejected\":%llu,\"failed\":%llu,\"per_s\":%.0f,\"p50_ms\":%.2f,"
              "\"p99_ms\":%.2f%s}\n",
              label.c_str(), skus, connections, r.window_s, static_cast<unsigned long long>(r.ok),
              static_cast<unsigned long long>(r.rejected),
              static_cast<unsigned long long>(r.failed), rate, percentile_ms(r.latencies_us, 0.50),
              percentile_ms(r.latencies_us, 0.99), extra.c_str());
  if (r.failed > 0)
    return 2;
  return r.exhausted ? 3 : 0;
}
