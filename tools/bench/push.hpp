#pragma once

// mercato-bench push: latency and throughput of events pushed over GET /v1/ws, from a partner
// fact accepted over REST to its receipt by every subscriber of the order's topic; and
// mercato-bench idle: the same subscribers, one order each, held idle (idle_ws.sh).

#include <string>

namespace mercato::bench {

/// Options of `mercato-bench push` (see the option help in main.cpp).
struct push_options {
  std::string url = "http://127.0.0.1:8080";
  /// Where the subscribers connect; empty: `url`. Another node of a cluster than the one posts
  /// go to measures cross-node push (push_cluster.sh).
  std::string ws_url;
  std::string token;      ///< service or admin: posts the facts and subscribes
  std::string jwt_secret; ///< mints the customer token of the checkout that makes the order
  std::string order_id;   ///< empty: create one (products, stock, a cart, a checkout)
  int subscribers = 1000;
  int events = 1000;
  double rate = 0; ///< events/s offered; 0 = as fast as acceptance and the window allow
  int posters = 2; ///< concurrent keep-alive HTTP connections posting facts
  int window = 2;  ///< most events posted and not yet received by every subscriber; 0 = none
  int threads = 1; ///< threads reading the subscribers' connections
  int connect_concurrency = 64;
  double drain_timeout_s = 30; ///< after the last post, how long deliveries may stall
  std::string source = "logistics";
  std::string type = "in_transit";
  std::string label = "mercato";
  bool json = false;
};

/// Runs one push measurement and prints its result. Returns the process exit code: 0, 1 when
/// set-up failed, 2 when deliveries were missing or a post failed.
int run_push(const push_options& o);

/// Options of `mercato-bench idle` (see the option help in main.cpp).
struct idle_options {
  std::string url = "http://127.0.0.1:8080";
  std::string token;      ///< admin: places and reads the orders
  std::string jwt_secret; ///< mints each customer's token
  std::string orders_file;
  int subscribers = 1000;
  bool create = false; ///< place `subscribers` orders, write them to orders_file, and exit
  bool load = false;   ///< read each order once (GET /v1/orders/{id}), and exit
  int threads = 1;     ///< threads reading the subscribers' connections
  int connect_concurrency = 64;
  int setup_connections = 16;
  std::string label = "mercato";
};

/// Places orders, reads them, or holds one idle subscriber per order until stdin closes or a
/// SIGINT/SIGTERM arrives. Returns 0, 1 when set-up failed, 2 when subscribers were lost.
int run_idle(const idle_options& o);

} // namespace mercato::bench
