#pragma once

// Internal to adapters/pg: one lazily (re)opened libpqxx connection per detached actor, and the
// one place that turns libpqxx exceptions into `mercato_errc`. Nothing outside adapters/pg
// includes this header (it pulls in libpqxx).

#include "actors/protocol/errors.hpp"
#include "runtime/util/text.hpp"

#include <caf/expected.hpp>

#include <pqxx/pqxx>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <string>

namespace mercato::pg {

/// `url` with any password removed (key=value `password=...` or URI `user:secret@`), for logs.
std::string redact_dsn(const std::string& url);

/// `url` plus `connect_timeout` (seconds) unless it already sets one, so that an unreachable
/// host fails a connection attempt in seconds rather than the TCP timeout of minutes.
std::string with_connect_timeout(const std::string& url, int seconds);

/// `url` plus TCP keepalives and a user timeout (unless it sets them), so that a database host
/// that died or hangs is noticed within seconds; `session` adds them to every connection.
std::string with_liveness_checks(const std::string& url);

/// For connections that run only key lookups and index-backed searches, with prepared
/// statements. PostgreSQL fixes a prepared statement's generic plan after a few executions; if
/// that happens while a table is still (nearly) empty, the plan scans it sequentially and keeps
/// doing so as the table grows (seen: every product lookup reading all 10,000 products, every
/// recovery scanning the snapshots). Ruling out sequential scans keeps such plans on the index.
void prefer_index_scans(pqxx::connection& conn);

/// True if PostgreSQL can store `s` as text: valid UTF-8 without NUL characters.
using util::is_storable_text;

/// Thrown by session users when the connection proved broken before anything was sent that
/// could have had an effect (e.g. while opening a transaction): `run` may then retry safely.
struct broken_before_write : std::exception {
  const char* what() const noexcept override {
    return "connection broken before the first statement";
  }
};

/// The longest a database round trip of any session may take before its connection is cut
/// (`db.stall_timeout_ms`; 0 = no limit). Set once at start, before sessions run.
void set_stall_timeout(std::chrono::milliseconds limit);
std::chrono::milliseconds stall_timeout();

/// While alive, cuts `conn`'s socket (shutdown, so that libpq's blocked call returns and the
/// work fails as a broken connection) once `limit` has passed: a database that stopped answering
/// (frozen, or a disk that hangs) cannot enforce its own statement_timeout. One thread watches
/// every guard of the process. `limit` 0: no guard.
class stall_guard {
public:
  stall_guard(pqxx::connection& conn, std::chrono::milliseconds limit, const std::string& role);
  ~stall_guard();

  stall_guard(const stall_guard&) = delete;
  stall_guard& operator=(const stall_guard&) = delete;

private:
  uint64_t id_ = 0;
};

/// How `session::run` treats a broken connection.
enum class retry_policy {
  /// Reconnect and run once more (idempotent reads).
  once_if_broken,
  /// Retry only after `broken_before_write` (writes whose outcome would be in doubt).
  before_write_only,
};

/// Owns one connection of a detached actor. While the database is down, `run` fails at once with
/// `storage_unavailable` until a back-off (100 ms doubling to 500 ms) has passed, so callers are
/// never blocked for long by repeated connection attempts.
class session {
public:
  using setup_fn = std::function<void(pqxx::connection&)>;

  /// `role` names the connection in logs and in pg_stat_activity (application_name);
  /// `setup` runs on every new connection (e.g. to prepare statements).
  session(std::string url, std::string role, setup_fn setup = {});

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Runs `f(pqxx::connection&)`, which returns a T or a caf::expected<T>. Every exception is
  /// translated: connection failures and server-side problems to `storage_unavailable`
  /// (dropping the connection when it is broken), data the database refuses (SQLSTATE classes
  /// 22, 23, 54; text libpq cannot escape) to `invalid_request`, anything else (a bug) to
  /// `caf::sec::runtime_error`.
  template <class T, class F>
  caf::expected<T> run(F&& f, retry_policy policy = retry_policy::once_if_broken) {
    for (int attempt = 1;; ++attempt) {
      if (auto err = ensure_open())
        return err;
      try {
        caf::expected<T> result = [&] {
          stall_guard guard{*conn_, stall_timeout(), role_};
          return caf::expected<T>{f(*conn_)};
        }();
        on_success();
        return result;
      } catch (...) {
        bool broken = false;
        bool before_write = false;
        auto err = translate(std::current_exception(), broken, before_write);
        if (broken) {
          bool may_retry = attempt == 1 && (policy == retry_policy::once_if_broken || before_write);
          on_broken(err, may_retry);
          if (may_retry)
            continue;
        }
        return err;
      }
    }
  }

  /// True while the connection is known down and the back-off has not passed.
  bool is_backing_off() const;

  const std::string& role() const {
    return role_;
  }

private:
  caf::error ensure_open();
  void on_success();
  void on_broken(const caf::error& err, bool will_retry);
  caf::error translate(std::exception_ptr ep, bool& broken, bool& before_write);

  std::string url_;
  std::string role_;
  setup_fn setup_;
  std::unique_ptr<pqxx::connection> conn_;
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
  bool down_logged_ = false;
};

} // namespace mercato::pg
