#include "tools/bench/setup.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

namespace mercato::bench {

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

double percentile_ms(std::vector<uint32_t>& v, double p) {
  if (v.empty())
    return 0;
  auto k = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k] / 1000.0;
}

tcp::resolver::results_type resolve(const target& t) {
  asio::io_context io;
  return tcp::resolver{io}.resolve(t.host, t.port);
}

/// Runs `work(conn)` on `connections` threads, each with its own set-up connection.
void in_parallel(int connections, const std::function<void(int conn)>& work) {
  std::vector<std::thread> workers;
  for (int conn = 0; conn < connections; ++conn)
    workers.emplace_back([&work, conn] { work(conn); });
  for (auto& w : workers)
    w.join();
}

/// Products and stock for every SKU, over 16 connections.
bool seed(const target& t, const std::string& token, int skus, const std::string& prefix,
          int64_t on_hand) {
  constexpr int connections = 16;
  auto endpoints = resolve(t);
  std::atomic<int> errors{0};
  auto report = [&](const std::string& what, const http::response<http::string_body>& res) {
    if (res.result_int() < 300)
      return;
    if (errors++ < 3)
      std::cerr << "seed: " << what << " -> " << res.result_int() << ' ' << res.body() << '\n';
  };
  in_parallel(connections, [&](int conn) {
    setup_client c{t, endpoints};
    // Connection `conn` seeds SKUs conn, conn + 16, ...: first the product, then its stock.
    for (int idx = conn; idx < skus; idx += connections) {
      auto sku = prefix + std::to_string(idx);
      report("PUT /v1/products/" + sku,
             c.send(http::verb::put, "/v1/products/" + sku, token,
                    R"({"name":"Bench item )" + sku + R"(","price_minor":1000,"currency":"USD"})"));
      report("PUT /v1/stock/" + sku, c.send(http::verb::put, "/v1/stock/" + sku, token,
                                            R"({"on_hand":)" + std::to_string(on_hand) + "}"));
    }
  });
  return errors == 0;
}

std::vector<int> choose_skus(std::mt19937_64& rng, int lines, int skus, cart_mix mix) {
  std::vector<int> chosen;
  if (mix == cart_mix::hot)
    chosen.push_back(0);
  // In the hot mix the other lines come from 1..skus-1; with one SKU the loop never runs.
  auto first = mix == cart_mix::hot ? 1 : 0;
  while (static_cast<int>(chosen.size()) < std::min(lines, skus)) {
    auto s = first + static_cast<int>(rng() % static_cast<uint64_t>(skus - first));
    if (std::find(chosen.begin(), chosen.end(), s) == chosen.end())
      chosen.push_back(s);
  }
  return chosen;
}

std::optional<std::string> create_filled_cart(setup_client& c, const std::string& token,
                                              const std::vector<int>& skus,
                                              const std::string& prefix, std::string& error) {
  auto created = c.send(http::verb::post, "/v1/carts", token, "{}");
  auto failed = [&](const std::string& what, const http::response<http::string_body>& res) {
    error = what + " -> " + std::to_string(res.result_int()) + ' ' + res.body();
    return std::nullopt;
  };
  if (created.result_int() != 201)
    return failed("POST /v1/carts", created);
  const auto& body = created.body();
  auto at = body.find(R"("cart_id":")");
  if (at == std::string::npos)
    return failed("POST /v1/carts (no cart_id)", created);
  at += 11;
  auto id = body.substr(at, body.find('"', at) - at);
  for (auto s : skus) {
    auto path = "/v1/carts/" + id + "/lines/" + prefix + std::to_string(s);
    auto res = c.send(http::verb::put, path, token, R"({"quantity":1})");
    if (res.result_int() != 200)
      return failed("PUT " + path, res);
  }
  return id;
}

std::vector<cart_ref> fill_carts(const target& t, const std::vector<std::string>& tokens, int carts,
                                 int lines, int skus, cart_mix mix, const std::string& prefix,
                                 int connections) {
  auto endpoints = resolve(t);
  std::vector<std::optional<cart_ref>> made(static_cast<size_t>(carts));
  std::atomic<int> errors{0};
  in_parallel(connections, [&](int conn) {
    setup_client c{t, endpoints};
    std::mt19937_64 rng{static_cast<uint64_t>(conn) * 104729 + 7};
    for (int i = conn; i < carts; i += connections) {
      auto customer = i % static_cast<int>(tokens.size());
      std::string error;
      auto id = create_filled_cart(c, tokens[static_cast<size_t>(customer)],
                                   choose_skus(rng, lines, skus, mix), prefix, error);
      if (id)
        made[static_cast<size_t>(i)] = cart_ref{std::move(*id), customer};
      else if (errors++ < 3)
        std::cerr << "carts: " << error << '\n';
    }
  });
  std::vector<cart_ref> out;
  out.reserve(made.size());
  for (auto& m : made)
    if (m)
      out.push_back(std::move(*m));
  if (errors > 0)
    std::cerr << "carts: " << errors << " of " << carts << " could not be filled\n";
  return out;
}

/// The sums of the server's Prometheus series named exactly `names` (all label sets), from
/// GET /metrics; empty if it cannot be read.
std::vector<double> metric_sums(const target& t, const std::vector<std::string>& names) {
  std::vector<double> sums(names.size(), 0.0);
  try {
    setup_client c{t, resolve(t)};
    auto res = c.send(http::verb::get, "/metrics", "", "");
    if (res.result_int() != 200)
      return {};
    std::istringstream in{res.body()};
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#')
        continue;
      auto name_end = line.find_first_of("{ ");
      auto value_at = line.rfind(' ');
      if (name_end == std::string::npos || value_at == std::string::npos)
        continue;
      auto name = line.substr(0, name_end);
      for (size_t i = 0; i < names.size(); ++i)
        if (name == names[i])
          sums[i] += std::strtod(line.c_str() + value_at + 1, nullptr);
    }
  } catch (const std::exception& e) {
    std::cerr << "metrics: " << e.what() << '\n';
    return {};
  }
  return sums;
}

machine_cpu read_machine_cpu() {
  std::ifstream in{"/proc/stat"};
  std::string cpu;
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
  if (!(in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq) || cpu != "cpu")
    return {};
  return {user + nice + system + irq + softirq, idle + iowait};
}

double clock_ticks_per_s() {
  return static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string checkout_body(const std::string& cart_id) {
  return R"({"cart_id":")" + cart_id
         + R"(","payment":{"method":"card","token":"tok_ok"},)"
           R"("shipping_address":{"name":"Bench Customer","line1":"1 Load Street",)"
           R"("city":"London","postal_code":"N1 9GU","country":"GB"},)"
           R"("email":"bench@example.com"})";
}

} // namespace mercato::bench
