#include "adapters/pg/connection.hpp"

#include "runtime/logging.hpp"

#include <caf/sec.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <regex>
#include <thread>

namespace mercato::pg {

namespace {

constexpr std::chrono::milliseconds backoff_min{100};
// Short, so that service resumes within a second of the database's return; a refused
// connection attempt costs next to nothing.
constexpr std::chrono::milliseconds backoff_max{500};

bool is_uri(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

// The first line of a libpq message; the rest (hints, context) is noise in a 503 detail.
std::string first_line(const std::string& text) {
  auto line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
    line.pop_back();
  return line;
}

} // namespace

// -- stall watchdog -------------------------------------------------------------------------

namespace {

std::atomic<int64_t> stall_limit_ms{0};

// One thread for the process: it looks at the armed guards four times a second (a limit is
// seconds long, so that precision is plenty) and shuts the sockets of those past their deadline.
class stall_watchdog {
public:
  static stall_watchdog& instance() {
    // Never destroyed: guards may still be armed while static destructors run.
    static auto* w = [] {
      auto* p = new stall_watchdog;
      std::thread{[p] { p->loop(); }}.detach();
      return p;
    }();
    return *w;
  }

  uint64_t arm(int fd, std::chrono::steady_clock::time_point deadline, const std::string& role) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto id = ++next_;
    armed_.emplace(id, item{fd, deadline, role});
    return id;
  }

  void disarm(uint64_t id) {
    std::lock_guard<std::mutex> guard{mtx_};
    armed_.erase(id);
  }

private:
  struct item {
    int fd;
    std::chrono::steady_clock::time_point deadline;
    std::string role;
  };

  [[noreturn]] void loop() {
    std::unique_lock<std::mutex> lock{mtx_};
    for (;;) {
      auto now = std::chrono::steady_clock::now();
      for (auto it = armed_.begin(); it != armed_.end();) {
        if (it->second.deadline > now) {
          ++it;
          continue;
        }
        // The owner is still inside its call (it disarms under this lock before it goes on), so
        // the descriptor is still its connection's.
        ::shutdown(it->second.fd, SHUT_RDWR);
        runtime::logger("pg")->warn("{}: the database did not answer within {} ms; connection cut",
                                    it->second.role, stall_limit_ms.load());
        it = armed_.erase(it);
      }
      wake_.wait_for(lock, std::chrono::milliseconds{250});
    }
  }

  std::mutex mtx_;
  std::condition_variable wake_;
  std::map<uint64_t, item> armed_;
  uint64_t next_ = 0;
};

} // namespace

void set_stall_timeout(std::chrono::milliseconds limit) {
  stall_limit_ms = limit.count();
}

std::chrono::milliseconds stall_timeout() {
  return std::chrono::milliseconds{stall_limit_ms.load()};
}

stall_guard::stall_guard(pqxx::connection& conn, std::chrono::milliseconds limit,
                         const std::string& role) {
  if (limit.count() <= 0 || !conn.is_open())
    return;
  id_ = stall_watchdog::instance().arm(conn.sock(), std::chrono::steady_clock::now() + limit, role);
}

stall_guard::~stall_guard() {
  if (id_ != 0)
    stall_watchdog::instance().disarm(id_);
}

void prefer_index_scans(pqxx::connection& conn) {
  conn.set_variable("enable_seqscan", "off");
}

std::string redact_dsn(const std::string& url) {
  if (is_uri(url)) {
    // scheme://user:secret@host -> scheme://user:***@host; also ?password=...
    static const std::regex userinfo{R"(^(postgres(ql)?://[^:/@?#]*):[^@/?#]*@)"};
    static const std::regex param{R"(([?&]password=)[^&#]*)", std::regex::icase};
    auto out = std::regex_replace(url, userinfo, "$1:***@");
    return std::regex_replace(out, param, "$1***");
  }
  // key=value: password=secret, password = 'sec ret', password='it\'s'
  static const std::regex kv{R"((password\s*=\s*)('([^'\\]|\\.)*'|\S*))", std::regex::icase};
  return std::regex_replace(url, kv, "$1***");
}

namespace {

std::string with_param(const std::string& url, const std::string& key, const std::string& value) {
  if (url.find(key) != std::string::npos)
    return url;
  if (is_uri(url)) {
    auto hash = url.find('#');
    auto base = url.substr(0, hash);
    auto sep = base.find('?') == std::string::npos ? '?' : '&';
    return base + sep + key + "=" + value + (hash == std::string::npos ? "" : url.substr(hash));
  }
  return url.empty() ? key + "=" + value : url + " " + key + "=" + value;
}

} // namespace

std::string with_connect_timeout(const std::string& url, int seconds) {
  return with_param(url, "connect_timeout", std::to_string(seconds));
}

std::string with_liveness_checks(const std::string& url) {
  // TCP only (libpq ignores them on a unix socket): a peer that vanished or stopped
  // acknowledging is found within about ten seconds instead of the kernel's minutes.
  auto out = with_param(url, "keepalives", "1");
  out = with_param(out, "keepalives_idle", "5");
  out = with_param(out, "keepalives_interval", "2");
  out = with_param(out, "keepalives_count", "2");
  return with_param(out, "tcp_user_timeout", "10000");
}

session::session(std::string url, std::string role, setup_fn setup)
    : url_(with_liveness_checks(with_connect_timeout(url, 5))), role_(std::move(role)),
      setup_(std::move(setup)) {
  // nop
}

bool session::is_backing_off() const {
  return !conn_ && backoff_.count() > 0 && std::chrono::steady_clock::now() < retry_at_;
}

caf::error session::ensure_open() {
  if (conn_)
    return caf::none;
  if (is_backing_off())
    return caf::make_error(mercato_errc::storage_unavailable,
                           "database unavailable (" + role_ + " retries shortly)");
  try {
    auto conn = std::make_unique<pqxx::connection>(url_);
    stall_guard guard{*conn, stall_timeout(), role_};
    // Bounded statements: a stuck lock or a hung server costs a request, never the actor.
    pqxx::nontransaction setup_txn{*conn};
    setup_txn.exec("SET application_name = " + setup_txn.quote("mercato-" + role_)
                   + "; SET statement_timeout = '15s'");
    setup_txn.commit();
    if (setup_)
      setup_(*conn);
    conn_ = std::move(conn);
    if (down_logged_ || backoff_.count() > 0)
      runtime::logger("pg")->info("{} reconnects to {}", role_, redact_dsn(url_));
    else
      runtime::logger("pg")->debug("{} connects to {}", role_, redact_dsn(url_));
    return caf::none;
  } catch (...) {
    bool broken = false;
    bool before_write = false;
    auto err = translate(std::current_exception(), broken, before_write);
    on_broken(err, false);
    return err;
  }
}

void session::on_success() {
  backoff_ = std::chrono::milliseconds{0};
  down_logged_ = false;
}

void session::on_broken(const caf::error& err, bool will_retry) {
  conn_.reset();
  if (will_retry) {
    runtime::logger("pg")->info("{} lost its connection ({}), reconnecting", role_, detail_of(err));
    return;
  }
  backoff_ = backoff_.count() == 0 ? backoff_min : std::min(backoff_ * 2, backoff_max);
  retry_at_ = std::chrono::steady_clock::now() + backoff_;
  // One warning per outage, not one per failed attempt.
  if (!down_logged_) {
    runtime::logger("pg")->warn("{} cannot use {}: {}", role_, redact_dsn(url_), detail_of(err));
    down_logged_ = true;
  }
}

caf::error session::translate(std::exception_ptr ep, bool& broken, bool& before_write) {
  auto unavailable = [](const std::string& what) {
    return caf::make_error(mercato_errc::storage_unavailable, first_line(what));
  };
  try {
    std::rethrow_exception(ep);
  } catch (const broken_before_write& e) {
    broken = true;
    before_write = true;
    return unavailable(e.what());
  } catch (const pqxx::broken_connection& e) {
    broken = true;
    return unavailable(e.what());
  } catch (const pqxx::in_doubt_error& e) {
    broken = true;
    return unavailable(e.what());
  } catch (const pqxx::sql_error& e) {
    const auto& state = e.sqlstate();
    auto cls = state.substr(0, 2);
    if (cls == "22" || cls == "23" || cls == "54")
      return caf::make_error(mercato_errc::invalid_request, first_line(e.what()));
    // 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot connect now.
    if (cls == "08" || state == "57P01" || state == "57P02" || state == "57P03" || state.empty())
      broken = true;
    else if (conn_ && !conn_->is_open())
      broken = true;
    return unavailable(e.what());
  } catch (const pqxx::argument_error& e) { // e.g. text libpq cannot escape
    return caf::make_error(mercato_errc::invalid_request, first_line(e.what()));
  } catch (const pqxx::failure& e) {
    broken = true;
    return unavailable(e.what());
  } catch (const std::exception& e) {
    // A bug on our side (conversion, usage): the connection state is unknown, so drop it.
    conn_.reset();
    runtime::logger("pg")->error("{} fails: {}", role_, e.what());
    return caf::make_error(caf::sec::runtime_error, first_line(e.what()));
  }
}

} // namespace mercato::pg
