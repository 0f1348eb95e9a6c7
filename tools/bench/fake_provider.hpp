#pragma once

// A fake SMS or push provider for the notification benchmark (tools/bench/notify.sh): answers
// every request 200 `{}` at once, over keep-alive connections, on one asynchronous thread, so
// that the provider costs the machine as little as possible and never holds the sender back.
// (The tests' fake, tests/support/fake_provider.hpp, serves one request at a time and records
// each: right for asserting, not for measuring.)

#include <string>

namespace mercato::bench {

/// Listens on 127.0.0.1 (a free port, written to `port_file`) and serves until killed.
int run_fake_provider(const std::string& port_file);

} // namespace mercato::bench
