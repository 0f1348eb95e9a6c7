// mercato-bench push: N WebSocket subscribers of one order's topic, E partner facts posted over
// REST, and the time from each post to each subscriber's receipt of its event frame.
//
// Set-up (not timed): the order (unless --order: products, stock, a cart and a checkout), then N
// connections on --threads threads, each its own io_context, opened --connect-concurrency at a
// time so that the server's accept backlog is never overrun. Each subscribes to `order:{id}`;
// the measurement starts once every one of them has its snapshot.
//
// Load: --posters keep-alive HTTP connections post facts with external_id
// `bench-<run>-<k>`, k = 0..E-1, each recording its send time. Closed loop: a poster posts its
// next fact once its previous one was answered and fewer than --window facts are outstanding
// (posted and not yet received by every live subscriber); with --rate R the facts are also
// spaced 1/R apart. The window makes both servers of a comparison carry the same amount of
// work at a time, whether a server answers before or after it has sent the event.
//
// Receipt: every message is searched for `"external_id":"bench-<run>-` (no JSON parse); the
// number after it is k. Latency = receipt time - send time of k, per delivery. Deliveries/s =
// deliveries / (last receipt - first send).
//
// mercato-bench idle (run_idle, the same subscribers without events): N connections, each with
// its own customer's token following that customer's order (`--create` places the orders and
// writes them to --orders, `--load` reads each once so that the server holds it), held until
// stdin closes or SIGINT/SIGTERM arrives; a line on stdout says when all are subscribed. The
// server's memory per idle subscriber is read around it (tools/bench/idle_ws.sh).

#include "tools/bench/push.hpp"

#include "runtime/util/time.hpp"
#include "tests/support/jwt_mint.hpp"
#include "tools/bench/setup.hpp"
#include "tools/ws/ws_client.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace mercato::bench {

namespace {

using clock_type = std::chrono::steady_clock;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
    .count();
}

std::string rfc3339_now() {
  return mercato::util::format_rfc3339_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
}

/// Raises the soft limit of open files to the hard limit; returns the soft limit now.
uint64_t raise_nofile() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  return static_cast<uint64_t>(lim.rlim_cur);
}

/// User and system CPU seconds of this process so far.
double process_cpu_s() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

/// The value of "field":"..." in a JSON text, or "" (set-up answers only).
std::string string_field(const std::string& body, const std::string& field) {
  auto key = "\"" + field + "\":\"";
  auto at = body.find(key);
  if (at == std::string::npos)
    return {};
  at += key.size();
  return body.substr(at, body.find('"', at) - at);
}

/// Waits until order `id` is confirmed or `deadline` passes: the checkout answers once the order
/// is placed and confirms it right after.
bool await_confirmed(setup_client& c, const std::string& token, const std::string& id,
                     clock_type::time_point deadline) {
  while (true) {
    auto got = c.send(http::verb::get, "/v1/orders/" + id, token, "");
    if (got.result_int() == 200 && string_field(got.body(), "status") == "confirmed")
      return true;
    if (clock_type::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

/// Products and stock (three SKUs of `prefix`), then for each customer a cart of the three and
/// its checkout, over `connections` connections: the order ids, one per customer, confirmed
/// unless reported (empty where the checkout failed; the first failures are reported).
std::vector<std::string> place_orders(const target& t, const std::string& admin_token,
                                      const std::vector<std::string>& customer_tokens,
                                      const std::string& prefix, int connections) {
  std::vector<std::string> ids(customer_tokens.size());
  if (!seed(t, admin_token, 3, prefix, 1'000'000'000))
    return ids;
  auto carts = fill_carts(t, customer_tokens, static_cast<int>(customer_tokens.size()), 3, 3,
                          cart_mix::spread, prefix, connections);
  auto endpoints = resolve(t);
  std::atomic<int> errors{0};
  in_parallel(connections, [&](int conn) {
    setup_client c{t, endpoints};
    for (auto k = static_cast<size_t>(conn); k < carts.size();
         k += static_cast<size_t>(connections)) {
      const auto& cart = carts[k];
      const auto& customer = customer_tokens[static_cast<size_t>(cart.customer)];
      auto req = make_request(http::verb::post, "/v1/checkouts", t.host, customer,
                              checkout_body(cart.cart_id));
      req.set("Idempotency-Key", "bench-" + cart.cart_id);
      auto res = c.send(std::move(req));
      auto id = string_field(res.body(), "order_id");
      if (res.result_int() != 201 || id.empty()) {
        if (errors++ < 3)
          std::cerr << "orders: POST /v1/checkouts -> " << res.result_int() << ' ' << res.body()
                    << '\n';
        continue;
      }
      // Subscribing before the confirmation would add it to what a subscriber receives.
      if (!await_confirmed(c, admin_token, id, clock_type::now() + std::chrono::seconds{10}))
        std::cerr << "orders: " << id << " is not confirmed after 10 s; using it anyway\n";
      ids[static_cast<size_t>(cart.customer)] = std::move(id);
    }
  });
  return ids;
}

/// A confirmed order of one customer: the id, or nothing.
std::optional<std::string> create_order(const target& t, const push_options& o) {
  auto customer = mercato::test::mint_token(o.jwt_secret, "bench-push-customer", "customer",
                                            std::chrono::hours{12});
  auto ids = place_orders(t, o.token, {customer}, "push-sku-", 1);
  if (ids.front().empty())
    return std::nullopt;
  return ids.front();
}

// -- subscribers ---------------------------------------------------------------------------------

/// What the threads share. Per-event counters are atomics; everything else is either written
/// before the threads start or read after they end.
struct shared_state {
  explicit shared_state(int events)
      : sent_ns(static_cast<size_t>(events)), delivered(static_cast<size_t>(events)) {}

  std::vector<std::atomic<int64_t>> sent_ns;    ///< per event: when its post was sent
  std::vector<std::atomic<uint32_t>> delivered; ///< per event: subscribers that received it
  std::atomic<int> live{0};                     ///< subscribed and still connected
  std::atomic<int> settled{0};                  ///< subscribed or failed during set-up
  std::atomic<int> failed{0};                   ///< could not subscribe
  std::atomic<int> closed_1008{0};              ///< closed by the server as too slow
  std::atomic<int> dropped{0};                  ///< lost otherwise before the end
  std::atomic<bool> stopping{false};            ///< we are closing them now
  std::atomic<uint64_t> deliveries{0};          ///< sum of delivered
  std::mutex mutex;
  std::vector<std::string> problems; ///< the first few failures, for the report

  void problem(const std::string& what) {
    std::lock_guard lock{mutex};
    if (problems.size() < 5)
      problems.push_back(what);
  }
};

/// Who a subscriber is and what it follows.
struct subscription_spec {
  std::string token;
  std::string topic;
};

struct subscriber {
  enum class phase : uint8_t { connecting, subscribed, failed, ended };
  std::shared_ptr<tools::ws_connection> conn;
  std::vector<uint64_t> seen; ///< a bit per event
  uint32_t received = 0;
  uint32_t duplicates = 0;
  phase state = phase::connecting;
  bool lost = false; ///< ended before we closed it
};

/// One reading thread: its io_context, its share of the subscribers and its measurements.
struct receiver {
  asio::io_context ioc{1};
  std::vector<size_t> mine; ///< indices of its subscribers
  size_t next_open = 0;
  int in_flight = 0;
  std::vector<uint32_t> latencies_us;
  std::vector<int64_t> last_receipt_ns; ///< per event
  uint64_t foreign = 0;                 ///< bench frames of another run
  std::thread thread;
};

class push_run {
public:
  /// Subscriber i connects with `subscription(i).token` and follows `subscription(i).topic`.
  push_run(const push_options& o, const tools::http_target& t, tcp::resolver::results_type eps,
           std::string order_id, std::string run_id,
           std::function<subscription_spec(size_t)> subscription)
      : o_(o), target_(t), endpoints_(std::move(eps)), subscription_(std::move(subscription)),
        order_id_(std::move(order_id)), run_id_(std::move(run_id)),
        marker_("\"external_id\":\"bench-" + run_id_ + "-"), shared_(o.events),
        subs_(static_cast<size_t>(o.subscribers)),
        receivers_(static_cast<size_t>(std::max(1, o.threads))) {
    for (size_t i = 0; i < subs_.size(); ++i)
      receivers_[i % receivers_.size()].mine.push_back(i);
    for (auto& r : receivers_) {
      r.last_receipt_ns.assign(static_cast<size_t>(o.events), 0);
      r.latencies_us.reserve(r.mine.size() * static_cast<size_t>(o.events));
    }
  }

  shared_state& shared() {
    return shared_;
  }
  const std::string& order_id() const {
    return order_id_;
  }

  /// Starts the threads, which open their subscribers.
  void start() {
    per_thread_concurrency_
      = std::max(1, (o_.connect_concurrency + static_cast<int>(receivers_.size()) - 1)
                      / static_cast<int>(receivers_.size()));
    for (auto& r : receivers_) {
      guards_.emplace_back(asio::make_work_guard(r.ioc));
      asio::post(r.ioc, [this, &r] { open_next(r); });
      r.thread = std::thread([&r] { r.ioc.run(); });
    }
  }

  /// Closes every connection (WebSocket close, then TCP after `grace`) and joins the threads.
  void stop(std::chrono::milliseconds grace) {
    shared_.stopping = true;
    for (auto& r : receivers_)
      asio::post(r.ioc, [this, &r] {
        for (auto i : r.mine)
          if (subs_[i].conn)
            subs_[i].conn->close();
      });
    guards_.clear();
    auto deadline = clock_type::now() + grace;
    while (clock_type::now() < deadline
           && std::any_of(receivers_.begin(), receivers_.end(),
                          [](const receiver& r) { return !r.ioc.stopped(); }))
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    for (auto& r : receivers_)
      asio::post(r.ioc, [this, &r] {
        for (auto i : r.mine)
          if (subs_[i].conn)
            subs_[i].conn->abort();
      });
    for (auto& r : receivers_)
      r.thread.join();
    for (auto& s : subs_)
      s.conn.reset();
  }

  /// The results, once stopped.
  void report(int64_t first_send_ns, int64_t last_answer_ns, uint64_t post_failed,
              const std::string& first_post_failure, double connect_s, double client_cpu_s) {
    const auto events = static_cast<size_t>(o_.events);
    uint64_t deliveries = 0, duplicates = 0, missing = 0, missing_closed = 0, foreign = 0;
    int subscribed = 0;
    for (const auto& s : subs_) {
      if (s.state == subscriber::phase::connecting || s.state == subscriber::phase::failed)
        continue;
      ++subscribed;
      deliveries += s.received;
      duplicates += s.duplicates;
      (s.lost ? missing_closed : missing) += events - s.received;
    }
    std::vector<uint32_t> latencies;
    std::vector<int64_t> last(events, 0);
    for (auto& r : receivers_) {
      latencies.insert(latencies.end(), r.latencies_us.begin(), r.latencies_us.end());
      for (size_t k = 0; k < events; ++k)
        last[k] = std::max(last[k], r.last_receipt_ns[k]);
      foreign += r.foreign;
    }
    int64_t last_receipt = *std::max_element(last.begin(), last.end());
    // Per event: from its post until the last subscriber had it.
    std::vector<uint32_t> to_all_us;
    for (size_t k = 0; k < events; ++k) {
      auto sent = shared_.sent_ns[k].load();
      if (sent > 0 && last[k] >= sent)
        to_all_us.push_back(static_cast<uint32_t>((last[k] - sent) / 1000));
    }
    double window_s = last_receipt > first_send_ns ? (last_receipt - first_send_ns) / 1e9 : 0;
    double posting_s = last_answer_ns > first_send_ns ? (last_answer_ns - first_send_ns) / 1e9 : 0;
    double per_s = window_s > 0 ? static_cast<double>(deliveries) / window_s : 0;
    uint32_t max_us = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
    auto p50 = percentile_ms(latencies, 0.50);
    auto p99 = percentile_ms(latencies, 0.99);
    auto all_p50 = percentile_ms(to_all_us, 0.50);
    auto all_p99 = percentile_ms(to_all_us, 0.99);
    char json[1280];
    std::snprintf(
      json, sizeof json,
      "{\"label\":\"%s\",\"subscribers\":%d,\"events\":%d,\"posters\":%d,\"window\":%d,"
      "\"rate\":%.0f,\"threads\":%zu,\"deliveries\":%" PRIu64 ",\"expected\":%" PRIu64
      ",\"missing\":%" PRIu64 ",\"missing_closed\":%" PRIu64 ",\"duplicates\":%" PRIu64
      ",\"closes_1008\":%d,\"closes_other\":%d,\"post_failed\":%" PRIu64
      ",\"duration_s\":%.3f,\"per_s\":%.0f,\"posts_per_s\":%.0f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
      "\"max_ms\":%.2f,\"all_p50_ms\":%.2f,\"all_p99_ms\":%.2f,\"connect_s\":%.1f,"
      "\"foreign\":%" PRIu64 ",\"client_cpu_s\":%.2f,\"order_id\":\"%s\"}",
      o_.label.c_str(), subscribed, o_.events, o_.posters, o_.window, o_.rate, receivers_.size(),
      deliveries, static_cast<uint64_t>(subscribed) * events, missing, missing_closed, duplicates,
      shared_.closed_1008.load(), shared_.dropped.load(), post_failed, window_s, per_s,
      posting_s > 0 ? static_cast<double>(events) / posting_s : 0.0, p50, p99, max_us / 1000.0,
      all_p50, all_p99, connect_s, foreign, client_cpu_s, order_id_.c_str());
    char human[640];
    std::snprintf(human, sizeof human,
                  "push %s: %d subscribers x %d events: %" PRIu64
                  " deliveries in %.2f s = %.0f/s; latency p50 %.2f ms, p99 %.2f ms, max %.2f ms "
                  "(to every subscriber: p50 %.2f ms, p99 %.2f ms); missing %" PRIu64
                  ", closed 1008 %d (their missing %" PRIu64 "), other closes %d, "
                  "failed posts %" PRIu64,
                  o_.label.c_str(), subscribed, o_.events, deliveries, window_s, per_s, p50, p99,
                  max_us / 1000.0, all_p50, all_p99, missing, shared_.closed_1008.load(),
                  missing_closed, shared_.dropped.load(), post_failed);
    if (o_.json) {
      std::cerr << human << '\n';
      std::printf("%s\n", json);
    } else {
      std::printf("%s\n", human);
    }
    if (!first_post_failure.empty())
      std::cerr << "push: first failed post: " << first_post_failure << '\n';
    for (const auto& p : shared_.problems)
      std::cerr << "push: " << p << '\n';
    ok_ = missing == 0 && post_failed == 0 && duplicates == 0;
  }

  bool ok() const {
    return ok_;
  }

  /// Called on the posters' thread when an event may have reached everyone.
  std::function<void()> on_progress;

private:
  void open_next(receiver& r) {
    while (r.in_flight < per_thread_concurrency_ && r.next_open < r.mine.size()) {
      ++r.in_flight;
      open(r, r.mine[r.next_open++]);
    }
  }

  void open(receiver& r, size_t i) {
    auto& s = subs_[i];
    s.seen.assign((static_cast<size_t>(o_.events) + 63) / 64, 0);
    auto spec = subscription_(i);
    tools::ws_options opts;
    opts.token = std::move(spec.token);
    opts.connect_timeout = std::chrono::seconds{30};
    opts.max_message_bytes = 1 << 20;
    tools::ws_handlers h;
    h.on_open = [this, i, topic = std::move(spec.topic)] {
      subs_[i].conn->send(tools::subscribe_frame(topic));
    };
    h.on_message = [this, &r, i](std::string_view m) { on_message(r, i, m); };
    h.on_end = [this, &r, i](const tools::ws_end& e) { on_end(r, i, e); };
    s.conn = tools::make_ws_connection(r.ioc, target_, std::move(opts), std::move(h));
    s.conn->start(endpoints_);
  }

  void settle(receiver& r) {
    ++shared_.settled;
    --r.in_flight;
    open_next(r);
  }

  void fail(receiver& r, size_t i, const std::string& why) {
    auto& s = subs_[i];
    s.state = subscriber::phase::failed;
    ++shared_.failed;
    shared_.problem("subscriber " + std::to_string(i) + ": " + why);
    settle(r);
    s.conn->abort();
  }

  void on_message(receiver& r, size_t i, std::string_view m) {
    auto t = now_ns();
    auto& s = subs_[i];
    // memmem rather than string_view::find: the frames are full of '"', each a false start.
    auto* found
      = static_cast<const char*>(::memmem(m.data(), m.size(), marker_.data(), marker_.size()));
    auto at = found == nullptr ? std::string_view::npos : static_cast<size_t>(found - m.data());
    if (at == std::string_view::npos) {
      if (s.state != subscriber::phase::connecting)
        return; // events of the order that are not ours
      if (m.find("\"snapshot\"") != std::string_view::npos) {
        s.state = subscriber::phase::subscribed;
        ++shared_.live;
        settle(r);
      } else if (m.find("\"error\"") != std::string_view::npos) {
        fail(r, i, "error frame " + std::string{m.substr(0, 300)});
      }
      return;
    }
    if (s.state != subscriber::phase::subscribed)
      return;
    uint64_t k = 0;
    auto p = at + marker_.size();
    while (p < m.size() && m[p] >= '0' && m[p] <= '9')
      k = k * 10 + static_cast<uint64_t>(m[p++] - '0');
    if (k >= static_cast<uint64_t>(o_.events)) {
      ++r.foreign;
      return;
    }
    auto& word = s.seen[k / 64];
    auto bit = uint64_t{1} << (k % 64);
    if ((word & bit) != 0) {
      ++s.duplicates;
      return;
    }
    word |= bit;
    ++s.received;
    auto sent = shared_.sent_ns[k].load(std::memory_order_acquire);
    r.latencies_us.push_back(sent > 0 && t > sent ? static_cast<uint32_t>((t - sent) / 1000) : 0);
    r.last_receipt_ns[k] = std::max(r.last_receipt_ns[k], t);
    ++shared_.deliveries;
    auto n = shared_.delivered[k].fetch_add(1, std::memory_order_acq_rel) + 1;
    if (static_cast<int>(n) >= shared_.live.load(std::memory_order_relaxed) && on_progress)
      on_progress();
  }

  void on_end(receiver& r, size_t i, const tools::ws_end& e) {
    auto& s = subs_[i];
    if (s.state == subscriber::phase::connecting)
      return fail(r, i, e.describe());
    if (s.state != subscriber::phase::subscribed)
      return;
    s.state = subscriber::phase::ended;
    --shared_.live;
    if (shared_.stopping)
      return;
    s.lost = true;
    if (e.what == tools::ws_end::kind::closed && e.close_code == 1008)
      ++shared_.closed_1008;
    else
      ++shared_.dropped;
    shared_.problem("subscriber " + std::to_string(i) + ": " + e.describe());
    if (on_progress)
      on_progress();
  }

  const push_options& o_;
  tools::http_target target_;
  tcp::resolver::results_type endpoints_;
  std::function<subscription_spec(size_t)> subscription_;
  std::string order_id_;
  std::string run_id_;
  std::string marker_;
  shared_state shared_;
  std::vector<subscriber> subs_;
  std::vector<receiver> receivers_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  int per_thread_concurrency_ = 1;
  bool ok_ = false;
};

// -- posters -------------------------------------------------------------------------------------

/// Hands out the events to post, in order, holding posters back while the window is full.
/// Lives on the posters' thread.
class post_control {
public:
  post_control(asio::io_context& ioc, const push_options& o, shared_state& shared)
      : o_(o), shared_(shared), recheck_(ioc) {}

  /// The next event to post, or nullopt: none left, or the window is full and `resume` runs
  /// once it has room.
  std::optional<int> take(const std::function<void()>& resume) {
    if (next_ >= o_.events)
      return std::nullopt;
    if (o_.window > 0) {
      advance();
      if (next_ - complete_ >= o_.window) {
        parked_.push_back(resume);
        arm_recheck();
        return std::nullopt;
      }
    }
    return next_++;
  }

  /// Events handed out so far.
  int posted() const {
    return next_;
  }

  /// Wakes parked posters if the window has room.
  void wake() {
    if (parked_.empty())
      return;
    advance();
    auto room = o_.window - (next_ - complete_);
    while (room-- > 0 && !parked_.empty()) {
      auto resume = std::move(parked_.front());
      parked_.pop_front();
      resume();
    }
  }

  clock_type::time_point start = clock_type::now();
  uint64_t failed = 0;
  std::string first_failure;
  int64_t last_answer_ns = 0;

private:
  // Events [0, complete_) have reached every live subscriber.
  void advance() {
    auto live = static_cast<uint32_t>(std::max(0, shared_.live.load()));
    while (complete_ < next_
           && shared_.delivered[static_cast<size_t>(complete_)].load(std::memory_order_acquire)
                >= live)
      ++complete_;
  }

  // A subscriber that goes away can complete events without a delivery; look again now and then.
  void arm_recheck() {
    if (recheck_armed_)
      return;
    recheck_armed_ = true;
    recheck_.expires_after(std::chrono::milliseconds{5});
    recheck_.async_wait([this](beast::error_code) {
      recheck_armed_ = false;
      wake();
      if (!parked_.empty())
        arm_recheck();
    });
  }

  const push_options& o_;
  shared_state& shared_;
  asio::steady_timer recheck_;
  bool recheck_armed_ = false;
  int next_ = 0;
  int complete_ = 0;
  std::deque<std::function<void()>> parked_;
};

/// One keep-alive connection posting facts, one at a time.
class poster : public std::enable_shared_from_this<poster> {
public:
  poster(asio::io_context& ioc, const tcp::resolver::results_type& eps, const push_options& o,
         const std::string& host, const std::string& order_id, const std::string& run_id,
         shared_state& shared, post_control& control)
      : stream_(ioc), timer_(ioc), endpoints_(eps), o_(o), host_(host),
        path_("/v1/orders/" + order_id + "/events"), run_id_(run_id), shared_(shared),
        control_(control) {}

  void start() {
    stream_.async_connect(endpoints_,
                          [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                            if (ec) {
                              self->fail("connect: " + ec.message());
                              return;
                            }
                            self->stream_.socket().set_option(tcp::no_delay(true));
                            self->next();
                          });
  }

private:
  void next() {
    auto k = control_.take([self = shared_from_this()] { self->next(); });
    if (!k)
      return;
    if (o_.rate > 0) {
      auto due = due_at(control_.start, *k, o_.rate);
      if (due > clock_type::now()) {
        timer_.expires_at(due);
        timer_.async_wait(
          [self = shared_from_this(), k = *k](beast::error_code) { self->post(k); });
        return;
      }
    }
    post(*k);
  }

  void post(int k) {
    req_ = make_request(http::verb::post, path_, host_, o_.token,
                        R"({"source":")" + o_.source + R"(","type":")" + o_.type
                          + R"(","external_id":"bench-)" + run_id_ + "-" + std::to_string(k)
                          + R"(","occurred_at":")" + rfc3339_now() + R"("})");
    shared_.sent_ns[static_cast<size_t>(k)].store(now_ns(), std::memory_order_release);
    http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec)
        return self->fail("send: " + ec.message());
      self->res_ = {};
      http::async_read(self->stream_, self->buf_, self->res_,
                       [self](beast::error_code ec, size_t) { self->on_answer(ec); });
    });
  }

  void on_answer(beast::error_code ec) {
    if (ec)
      return fail("read: " + ec.message());
    control_.last_answer_ns = now_ns();
    if (res_.result_int() != 202 && control_.failed++ == 0)
      control_.first_failure = std::to_string(res_.result_int()) + " " + res_.body().substr(0, 300);
    next();
  }

  // A broken poster stops; the others carry on with the remaining events.
  void fail(const std::string& why) {
    if (control_.failed++ == 0)
      control_.first_failure = why;
  }

  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  tcp::resolver::results_type endpoints_;
  const push_options& o_;
  std::string host_;
  std::string path_;
  std::string run_id_;
  shared_state& shared_;
  post_control& control_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

/// The server of an http:// URL, or nothing (reported).
std::optional<tools::http_target> parse_target(const std::string& url, const char* mode) {
  try {
    return tools::parse_http_url(url);
  } catch (const std::exception& e) {
    std::cerr << mode << ": " << e.what() << '\n';
    return std::nullopt;
  }
}

/// Whether the open-files limit, raised to the hard limit, leaves room for `subscribers`
/// connections; says why not.
bool nofile_allows(int subscribers, const char* mode) {
  auto nofile = raise_nofile();
  if (nofile >= static_cast<uint64_t>(subscribers) + 64)
    return true;
  std::cerr << mode << ": " << subscribers << " subscribers need more open files than the limit ("
            << nofile << "); raise it (ulimit -n)\n";
  return false;
}

/// Starts the run and waits until every subscriber has its snapshot: the seconds that took, or
/// nothing (reported, the run stopped) when one failed or some had no answer in time.
std::optional<double> subscribe_all(push_run& run, const push_options& o, const char* mode) {
  auto& shared = run.shared();
  auto connect_start = clock_type::now();
  run.start();
  // Each subscriber either gets its snapshot or fails within its 30 s connect timeout, but a
  // server may also never answer a subscription; give up on those after a while.
  auto connect_deadline
    = connect_start + std::chrono::seconds{60} + std::chrono::milliseconds{10} * o.subscribers;
  while (shared.settled.load() < o.subscribers && clock_type::now() < connect_deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  auto connect_s = std::chrono::duration<double>(clock_type::now() - connect_start).count();
  if (shared.settled.load() < o.subscribers || shared.failed.load() > 0) {
    std::cerr << mode << ": " << shared.live.load() << " of " << o.subscribers << " subscribed, "
              << shared.failed.load() << " failed, " << o.subscribers - shared.settled.load()
              << " without an answer after " << connect_s << " s\n";
    run.stop(std::chrono::seconds{5});
    for (const auto& p : shared.problems)
      std::cerr << mode << ": " << p << '\n';
    return std::nullopt;
  }
  return connect_s;
}

} // namespace

int run_push(const push_options& o) {
  auto parsed = parse_target(o.url, "push");
  if (!parsed)
    return 1;
  const auto& wt = *parsed;
  target t{wt.host, wt.port};
  if (!nofile_allows(o.subscribers, "push"))
    return 1;
  tcp::resolver::results_type endpoints;
  tools::http_target ws_target = wt;
  tcp::resolver::results_type ws_endpoints;
  try {
    endpoints = resolve(t);
    if (!o.ws_url.empty())
      ws_target = tools::parse_http_url(o.ws_url);
    ws_endpoints = resolve(target{ws_target.host, ws_target.port});
  } catch (const std::exception& e) {
    std::cerr << "push: cannot resolve " << o.url << " or " << o.ws_url << ": " << e.what() << '\n';
    return 1;
  }

  std::string order_id = o.order_id;
  if (order_id.empty()) {
    if (o.jwt_secret.empty()) {
      std::cerr << "push: without --order, --jwt-secret is needed to create one\n";
      return 1;
    }
    try {
      auto made = create_order(t, o);
      if (!made) {
        std::cerr << "push: could not create an order\n";
        return 1;
      }
      order_id = *made;
    } catch (const std::exception& e) {
      std::cerr << "push: creating the order: " << e.what() << '\n';
      return 1;
    }
  }
  char run_buf[16];
  std::snprintf(run_buf, sizeof run_buf, "%08x", static_cast<unsigned>(std::random_device{}()));
  std::string run_id = run_buf;

  push_run run{o, ws_target, ws_endpoints, order_id, run_id, [&o, &order_id](size_t) {
                 return subscription_spec{o.token, "order:" + order_id};
               }};
  auto& shared = run.shared();
  // The posters' thread (this one, later) learns of completed events through its io_context.
  asio::io_context post_ioc{1};
  post_control control{post_ioc, o, shared};
  run.on_progress = [&post_ioc, &control] { asio::post(post_ioc, [&control] { control.wake(); }); };

  std::cerr << "push " << o.label << ": " << o.subscribers << " subscribers of order:" << order_id
            << " on " << std::max(1, o.threads) << " thread(s)\n";
  auto connected = subscribe_all(run, o, "push");
  if (!connected)
    return 1;
  auto connect_s = *connected;
  std::cerr << "push " << o.label << ": all subscribed in " << connect_s << " s; posting "
            << o.events << " facts\n";

  // The client's own CPU while it measures: with client and server on one machine, what the
  // client takes is not available to the server.
  auto cpu_before = process_cpu_s();
  control.start = clock_type::now();
  for (int p = 0; p < std::max(1, o.posters); ++p)
    std::make_shared<poster>(post_ioc, endpoints, o, t.host, order_id, run_id, shared, control)
      ->start();
  post_ioc.run();

  // Every fact is answered (or its poster failed); wait for the deliveries of the posted ones
  // until all arrived or they stall.
  auto expected = [&] {
    return static_cast<uint64_t>(std::max(0, shared.live.load()))
           * static_cast<uint64_t>(control.posted());
  };
  auto last_seen = shared.deliveries.load();
  auto last_progress = clock_type::now();
  auto stall = seconds_of(o.drain_timeout_s);
  while (shared.deliveries.load() < expected() && clock_type::now() - last_progress < stall) {
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
    if (auto d = shared.deliveries.load(); d != last_seen) {
      last_seen = d;
      last_progress = clock_type::now();
    }
  }
  auto client_cpu_s = process_cpu_s() - cpu_before;
  run.stop(std::chrono::seconds{5});

  int64_t first_send = 0;
  for (const auto& s : shared.sent_ns)
    if (auto v = s.load(); v > 0 && (first_send == 0 || v < first_send))
      first_send = v;
  run.report(first_send, control.last_answer_ns, control.failed, control.first_failure, connect_s,
             client_cpu_s);
  return run.ok() ? 0 : 2;
}

// -- idle ----------------------------------------------------------------------------------------

namespace {

// Set by SIGINT and SIGTERM once the subscribers are held; polled by run_idle.
volatile std::sig_atomic_t stop_signalled = 0;

void on_stop_signal(int) {
  stop_signalled = 1;
}

/// The first `n` lines "customer order" of an orders file; fewer when it has fewer.
std::vector<std::pair<std::string, std::string>> read_orders(const std::string& path, int n) {
  std::vector<std::pair<std::string, std::string>> out;
  std::ifstream in{path};
  std::string customer;
  std::string order;
  while (static_cast<int>(out.size()) < n && in >> customer >> order)
    out.emplace_back(customer, order);
  return out;
}

} // namespace

int run_idle(const idle_options& o) {
  auto parsed = parse_target(o.url, "idle");
  if (!parsed)
    return 1;
  const auto& wt = *parsed;
  target t{wt.host, wt.port};
  auto customer_token = [&o](const std::string& customer) {
    return mercato::test::mint_token(o.jwt_secret, customer, "customer", std::chrono::hours{12});
  };
  if (o.create) {
    std::vector<std::string> customers;
    std::vector<std::string> tokens;
    for (int i = 0; i < o.subscribers; ++i) {
      customers.push_back("bench-idle-customer-" + std::to_string(i));
      tokens.push_back(customer_token(customers.back()));
    }
    auto start = clock_type::now();
    std::vector<std::string> ids;
    try {
      ids = place_orders(t, o.token, tokens, "idle-sku-", o.setup_connections);
    } catch (const std::exception& e) {
      std::cerr << "idle: placing the orders: " << e.what() << '\n';
      return 1;
    }
    std::ofstream out{o.orders_file};
    int placed = 0;
    for (size_t i = 0; i < ids.size(); ++i)
      if (!ids[i].empty()) {
        out << customers[i] << ' ' << ids[i] << '\n';
        ++placed;
      }
    std::cerr << "idle: " << placed << " of " << o.subscribers << " orders placed in "
              << std::chrono::duration<double>(clock_type::now() - start).count() << " s\n";
    return out && placed == o.subscribers ? 0 : 1;
  }

  auto orders = read_orders(o.orders_file, o.subscribers);
  if (static_cast<int>(orders.size()) < o.subscribers) {
    std::cerr << "idle: " << o.orders_file << " names " << orders.size() << " orders, not "
              << o.subscribers << " (make them with --create)\n";
    return 1;
  }
  if (o.load) {
    std::atomic<int> failed{0};
    try {
      auto endpoints = resolve(t);
      in_parallel(o.setup_connections, [&](int conn) {
        setup_client c{t, endpoints};
        for (auto i = static_cast<size_t>(conn); i < orders.size();
             i += static_cast<size_t>(o.setup_connections)) {
          auto res = c.send(http::verb::get, "/v1/orders/" + orders[i].second, o.token, "");
          if (res.result_int() != 200 && failed++ < 3)
            std::cerr << "idle: GET /v1/orders/" << orders[i].second << " -> " << res.result_int()
                      << ' ' << res.body().substr(0, 300) << '\n';
        }
      });
    } catch (const std::exception& e) {
      std::cerr << "idle: loading the orders: " << e.what() << '\n';
      return 1;
    }
    return failed == 0 ? 0 : 1;
  }

  if (!nofile_allows(o.subscribers, "idle"))
    return 1;
  tcp::resolver::results_type endpoints;
  try {
    endpoints = resolve(t);
  } catch (const std::exception& e) {
    std::cerr << "idle: cannot resolve " << o.url << ": " << e.what() << '\n';
    return 1;
  }
  push_options po;
  po.url = o.url;
  po.subscribers = o.subscribers;
  po.events = 0;
  po.threads = o.threads;
  po.connect_concurrency = o.connect_concurrency;
  po.label = o.label;
  // Each customer follows their own order, with their own token, as a tracking page does.
  push_run run{
    po, wt, endpoints, "", "idle", [&orders, &customer_token](size_t i) {
      return subscription_spec{customer_token(orders[i].first), "order:" + orders[i].second};
    }};
  auto connected = subscribe_all(run, po, "idle");
  if (!connected)
    return 1;
  struct sigaction on_stop {};
  on_stop.sa_handler = on_stop_signal;
  ::sigaction(SIGINT, &on_stop, nullptr);
  ::sigaction(SIGTERM, &on_stop, nullptr);
  // The caller closes our stdin (or signals) when it has measured.
  std::thread{[] {
    char buf[256];
    while (::read(STDIN_FILENO, buf, sizeof buf) > 0) {
    }
    stop_signalled = 1;
  }}.detach();
  std::printf("idle %s: %d subscribed in %.1f s\n", o.label.c_str(), o.subscribers, *connected);
  std::fflush(stdout);
  while (stop_signalled == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  auto live = run.shared().live.load();
  run.stop(std::chrono::seconds{5});
  if (live < o.subscribers) {
    std::cerr << "idle: " << live << " of " << o.subscribers
              << " were still subscribed when told to stop\n";
    for (const auto& p : run.shared().problems)
      std::cerr << "idle: " << p << '\n';
    return 2;
  }
  std::cerr << "idle " << o.label << ": " << live << " held to the end, closed\n";
  return 0;
}

} // namespace mercato::bench
