#include "tools/bench/soak.hpp"

#include "tests/support/jwt_mint.hpp"
#include "tools/bench/setup.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

namespace mercato::bench {

namespace {

using clock_type = std::chrono::steady_clock;

/// What the purchases finished in one reporting interval (or the whole run) did.
struct tally {
  uint64_t ok = 0;
  uint64_t failed = 0;
  std::vector<uint32_t> checkout_us; ///< POST /v1/checkouts alone
  /// From the purchase's scheduled start to its 201: a purchase that starts late because the
  /// connections fell behind the offered rate counts its wait (no coordinated omission).
  std::vector<uint32_t> purchase_us;

  void add(const tally& other) {
    ok += other.ok;
    failed += other.failed;
    checkout_us.insert(checkout_us.end(), other.checkout_us.begin(), other.checkout_us.end());
    purchase_us.insert(purchase_us.end(), other.purchase_us.begin(), other.purchase_us.end());
  }
};

/// VmRSS of process `pid` in KiB, from /proc/PID/status; 0 if unknown.
long rss_kib(int pid) {
  if (pid <= 0)
    return 0;
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::strtol(line.c_str() + 6, nullptr, 10);
  return 0;
}

std::string report_line(const soak_options& o, const char* kind, double at_s, double span_s,
                        tally& t, const machine_cpu& cpu0, const machine_cpu& cpu1) {
  auto busy = static_cast<double>(cpu1.busy - cpu0.busy);
  auto idle = static_cast<double>(cpu1.idle - cpu0.idle);
  auto ops = static_cast<double>(t.ok);
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"label\":\"%s\",\"kind\":\"%s\",\"t_s\":%.0f,\"offered_per_s\":%.0f,"
                "\"purchases\":%llu,\"failed\":%llu,\"per_s\":%.1f,\"checkout_p50_ms\":%.2f,"
                "\"checkout_p99_ms\":%.2f,\"purchase_p99_ms\":%.2f,\"rss_kib\":%ld,"
                "\"machine_busy\":%.2f,\"cpu_us_per_op\":%.0f}",
                o.label.c_str(), kind, at_s, o.rate, static_cast<unsigned long long>(t.ok),
                static_cast<unsigned long long>(t.failed), span_s > 0 ? ops / span_s : 0.0,
                percentile_ms(t.checkout_us, 0.50), percentile_ms(t.checkout_us, 0.99),
                percentile_ms(t.purchase_us, 0.99), rss_kib(o.pid),
                busy + idle > 0 ? busy / (busy + idle) : 0.0,
                ops > 0 ? 1e6 * busy / clock_ticks_per_s() / ops : 0.0);
  return buf;
}

} // namespace

int run_soak(const soak_options& o) {
  auto t = parse_url(o.url);
  if (o.seed_first && !seed(t, o.token, o.skus, o.prefix, 1'000'000'000)) {
    std::cerr << "soak: seeding failed\n";
    return 1;
  }
  auto endpoints = resolve(t);
  std::vector<std::string> tokens;
  for (int i = 0; i < o.customers; ++i)
    tokens.push_back(mercato::test::mint_token(o.jwt_secret, "soak-customer-" + std::to_string(i),
                                               "customer", std::chrono::hours{12}));
  auto run_id = std::to_string(std::random_device{}());

  std::mutex mutex;
  tally interval; // guarded by mutex; the reporter swaps it out
  std::string first_failure;
  std::atomic<uint64_t> next{0};
  auto start = clock_type::now();
  auto stop_at = start + seconds_of(o.duration);

  auto shop = [&](int conn) {
    std::optional<setup_client> c;
    std::mt19937_64 rng{static_cast<uint64_t>(conn) * 6151 + 3};
    for (;;) {
      auto k = next.fetch_add(1);
      auto scheduled = o.rate > 0 ? due_at(start, k, o.rate) : clock_type::now();
      if (scheduled >= stop_at)
        return;
      std::this_thread::sleep_until(scheduled);
      const auto& token = tokens[k % tokens.size()];
      std::string error;
      uint32_t checkout_took = 0;
      try {
        if (!c)
          c.emplace(t, endpoints);
        auto cart = create_filled_cart(
          *c, token, choose_skus(rng, o.lines, o.skus, cart_mix::spread), o.prefix, error);
        if (cart) {
          auto req
            = make_request(http::verb::post, "/v1/checkouts", t.host, token, checkout_body(*cart));
          req.set("Idempotency-Key", "soak-" + run_id + "-" + std::to_string(k));
          auto sent = clock_type::now();
          auto res = c->send(std::move(req));
          checkout_took = micros(clock_type::now() - sent);
          if (res.result_int() != 201)
            error = "POST /v1/checkouts -> " + std::to_string(res.result_int()) + ' ' + res.body();
        }
      } catch (const std::exception& e) {
        error = std::string{"connection: "} + e.what();
        c.reset(); // a fresh connection for the next purchase
      }
      auto took = micros(clock_type::now() - scheduled);
      std::lock_guard lock{mutex};
      if (error.empty()) {
        ++interval.ok;
        interval.checkout_us.push_back(checkout_took);
        interval.purchase_us.push_back(took);
      } else {
        ++interval.failed;
        if (first_failure.empty())
          first_failure = error.substr(0, 300);
      }
    }
  };
  std::vector<std::thread> workers;
  for (int conn = 0; conn < o.connections; ++conn)
    workers.emplace_back(shop, conn);

  tally whole;
  auto cpu_start = read_machine_cpu();
  auto cpu_prev = cpu_start;
  auto prev = start;
  for (int i = 1;; ++i) {
    auto due = std::min(stop_at, start + seconds_of(o.every * i));
    std::this_thread::sleep_until(due);
    tally done;
    {
      std::lock_guard lock{mutex};
      std::swap(done, interval);
    }
    auto cpu_now = read_machine_cpu();
    whole.add(done);
    std::cout << report_line(o, "interval", std::chrono::duration<double>(due - start).count(),
                             std::chrono::duration<double>(due - prev).count(), done, cpu_prev,
                             cpu_now)
              << std::endl;
    cpu_prev = cpu_now;
    prev = due;
    if (due >= stop_at)
      break;
  }
  for (auto& w : workers)
    w.join();
  // Purchases that were under way at the end finish after it and are left out of the rates.
  std::cout << report_line(o, "run", o.duration, o.duration, whole, cpu_start, cpu_prev)
            << std::endl;
  if (!first_failure.empty())
    std::cerr << "soak: first failure: " << first_failure << '\n';
  return whole.failed > 0 ? 2 : 0;
}

} // namespace mercato::bench
