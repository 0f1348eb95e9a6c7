#pragma once

// mercato-bench soak: customers shopping at a steady rate for a long time (soak.sh), with the
// server's resident memory sampled as it goes.

#include <string>

namespace mercato::bench {

/// Options of `mercato-bench soak` (see the option help in main.cpp).
struct soak_options {
  std::string url = "http://127.0.0.1:8080";
  std::string jwt_secret;  ///< mints the customers' tokens
  std::string token;       ///< admin: seeds the SKUs with --seed
  bool seed_first = false; ///< create the SKUs' products and stock (1e9 units) first
  std::string prefix = "bench-";
  int skus = 1000;      ///< the SKUs the carts draw from
  int customers = 1000; ///< purchase i is customer i % customers's
  int lines = 3;        ///< distinct SKUs per cart, one unit each
  int connections = 16; ///< keep-alive connections, one thread each
  double rate = 0;      ///< purchases/s offered; 0 = as fast as the connections go
  double duration = 60; ///< seconds
  double every = 30;    ///< seconds between report lines
  int pid = 0;          ///< the server's process, whose VmRSS each report line reads; 0 = none
  std::string label = "mercato";
};

/// Runs purchases (a cart, its lines, a checkout) at the offered rate for the duration and
/// prints one JSON line per interval and a last one for the whole run. Returns 0, or 2 when a
/// purchase failed.
int run_soak(const soak_options& o);

} // namespace mercato::bench
