#pragma once

// What the end-to-end suites share: a database with a server on it, waiting for conditions with
// a deadline, Prometheus text parsing, problem+json checks, and running command-line tools.

#include "tests/support/http_client.hpp"
#include "tests/support/jwt_mint.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_db.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <iomanip>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace mercato::test {

using json = nlohmann::json;

inline std::string random_secret() {
  std::random_device rd;
  std::ostringstream out;
  out << "e2e-secret-" << std::hex << std::setfill('0'); // 11 + 32 bytes: over the minimum of 32
  for (int i = 0; i < 4; ++i)
    out << std::setw(8) << rd();
  return out.str();
}

/// Re-checks `pred` every `interval` until it holds or `timeout` passes (waiting for a
/// condition with a deadline; never a sleep used as synchronisation).
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds{25}) {
  using clock_type = std::chrono::steady_clock;
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    if (pred())
      return true;
    if (clock_type::now() >= deadline)
      return false;
    std::this_thread::sleep_for(interval);
  }
}

/// Sum of the samples of metric `name` whose labels include all of `want`, or nullopt when
/// no sample matches. Understands the Prometheus text format 0.0.4.
inline std::optional<double> metric_value(const std::string& text, const std::string& name,
                                          const std::map<std::string, std::string>& want = {}) {
  std::optional<double> sum;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    auto name_end = line.find_first_of("{ \t");
    if (name_end == std::string::npos || line.compare(0, name_end, name) != 0
        || name_end != name.size())
      continue;
    std::map<std::string, std::string> labels;
    size_t i = name_end;
    if (line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        auto eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"')
          break;
        std::string key = line.substr(i, eq - i);
        std::string value;
        i = eq + 2;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            value += line[i + 1] == 'n' ? '\n' : line[i + 1];
            i += 2;
          } else {
            value += line[i++];
          }
        }
        ++i; // closing quote
        labels[key] = value;
        if (i < line.size() && line[i] == ',')
          ++i;
      }
      ++i; // closing brace
    }
    bool match = true;
    for (const auto& [key, value] : want) {
      auto it = labels.find(key);
      match = match && it != labels.end() && it->second == value;
    }
    if (!match)
      continue;
    std::istringstream value_in{line.substr(std::min(i, line.size()))};
    std::string value_text;
    value_in >> value_text;
    try {
      sum = sum.value_or(0.0) + std::stod(value_text);
    } catch (const std::exception&) {
      // +Inf/NaN samples and garbage do not count
    }
  }
  return sum;
}

inline const std::set<std::string>& documented_codes() {
  static const std::set<std::string> codes{
    "invalid_request",  "unauthorized",      "forbidden",
    "not_found",        "conflict",          "insufficient_stock",
    "payment_declined", "cart_expired",      "idempotency_mismatch",
    "rate_limited",     "payload_too_large", "unavailable",
    "internal"};
  return codes;
}

/// Checks that `res` is an RFC 9457 problem with HTTP status `status` and `code` (any
/// documented code when `code` is empty).
inline void expect_problem(const http_response& res, int status, const std::string& code) {
  SCOPED_TRACE(res.describe());
  EXPECT_EQ(res.status, status);
  EXPECT_EQ(res.header("content-type").rfind("application/problem+json", 0), 0u)
    << "content-type: " << res.header("content-type");
  EXPECT_FALSE(res.header("x-request-id").empty());
  json body;
  try {
    body = res.json();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "problem body is not JSON: " << e.what();
    return;
  }
  ASSERT_TRUE(body.is_object());
  EXPECT_TRUE(body.contains("type") && body["type"].is_string());
  EXPECT_TRUE(body.contains("title") && body["title"].is_string());
  EXPECT_TRUE(body.contains("detail") && body["detail"].is_string());
  EXPECT_EQ(body.value("status", -1), status);
  ASSERT_TRUE(body.contains("code") && body["code"].is_string());
  if (code.empty())
    EXPECT_TRUE(documented_codes().count(body["code"].get<std::string>()) > 0);
  else
    EXPECT_EQ(body["code"], code);
}

/// A database, a server on it, a client, and tokens for each role.
class server_env {
public:
  /// Creates the database. Throws std::runtime_error.
  explicit server_env(const std::string& superuser_dsn)
      : db_(std::make_unique<test_database>(superuser_dsn)), secret_(random_secret()) {}

  ~server_env() {
    client_.reset();
    server_.reset(); // before the database is dropped
    db_.reset();
  }

  /// Starts the server with `opts` (database and secret filled in). Throws.
  void start(server_options opts = {}) {
    opts.database_url = db_->dsn();
    opts.jwt_secret = secret_;
    server_ = std::make_unique<server_process>(std::move(opts));
    client_ = std::make_unique<http_client>(server_->host(), server_->port());
  }

  /// Restarts on the same database (after kill9() or with a running server). Throws.
  void restart() {
    client_.reset();
    server_->restart();
    client_ = std::make_unique<http_client>(server_->host(), server_->port());
  }

  server_process& server() {
    return *server_;
  }
  http_client& http() {
    return *client_;
  }
  bool has_server() const {
    return server_ != nullptr;
  }
  const std::string& secret() const {
    return secret_;
  }
  /// A DSN of the test database (superuser credentials).
  const std::string& dsn() const {
    return db_->dsn();
  }
  std::string token(const std::string& role,
                    std::chrono::seconds ttl = std::chrono::hours{1}) const {
    return mint_token(secret_, "e2e-" + role, role, ttl);
  }

private:
  std::unique_ptr<test_database> db_;
  std::string secret_;
  std::unique_ptr<server_process> server_;
  std::unique_ptr<http_client> client_;
};

/// What a finished command printed and how it ended.
struct command_result {
  int exit_code = -1; ///< -1 when it did not exit normally (killed by a signal)
  std::string out;
  std::string err;

  /// "exit N; stdout: ...; stderr: ..." for assertion messages.
  std::string describe() const;
};

/// Runs `argv` (argv[0] is the program's path) without a shell, with the current environment
/// minus every name in `unset` plus `env`, and waits for it. Throws std::runtime_error if it
/// cannot be started.
command_result run_command(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& env = {},
                           const std::vector<std::string>& unset = {});

/// Stops, starts, freezes or thaws (`action`) the private PostgreSQL every test shares, through
/// `tools/dev pg-ctl` (MERCATO_TEST_PG_CTL and MERCATO_TEST_PG_DATA_DIR, set by `tools/dev test`;
/// check pg_ctl_available() first).
command_result pg_ctl(const std::string& action);
bool pg_ctl_available();

/// A command that runs until it is stopped (`mercatoctl watch`), started like run_command()
/// with its output going to files that can be read while it runs. The destructor kills it
/// (SIGKILL) and reaps it if it still runs.
class background_command {
public:
  /// Starts `argv`. Throws std::runtime_error if it cannot be started.
  explicit background_command(const std::vector<std::string>& argv,
                              const std::map<std::string, std::string>& env = {},
                              const std::vector<std::string>& unset = {});
  ~background_command();

  background_command(const background_command&) = delete;
  background_command& operator=(const background_command&) = delete;

  /// What it has printed so far.
  std::string out() const;
  std::string err() const;

  /// Sends signal `sig` (SIGINT, say); no-op once it has exited.
  void signal(int sig);

  /// Waits up to `timeout` for it to exit: its result, or nullopt while it still runs.
  std::optional<command_result> wait(std::chrono::milliseconds timeout);

private:
  std::string dir_;
  pid_t pid_ = -1;
  std::optional<command_result> result_;
};

/// The mercatoctl binary: $MERCATO_CTL_BIN, else the one this suite was built with.
std::string mercatoctl_binary();

} // namespace mercato::test
