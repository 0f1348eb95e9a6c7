#pragma once

// Runs the real `mercato` binary as a child process for end-to-end tests.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mercato::test {

/// The server binary: $MERCATO_BIN, else <repo>/build/bin/mercato.
std::string mercato_binary();

/// Command-line options of one server; unset optionals leave the server's defaults.
struct server_options {
  std::string database_url;                  ///< --database-url (required)
  std::string jwt_secret;                    ///< --jwt-secret (required)
  std::optional<int64_t> passivate_after_ms; ///< --passivate-after-ms
  std::optional<int64_t> hold_ttl_ms;        ///< --hold-ttl-ms
  std::optional<int64_t> journal_batch_max;  ///< --journal-batch-max
  bool fault_injection = false;              ///< --fault-injection
  std::string log_level = "warn";            ///< --log-level
  std::string log_format = "text";           ///< --log-format
  std::vector<std::string> extra_args;       ///< appended as they are
  std::string binary;                        ///< empty: mercato_binary()
  /// How long start() waits for the port file (migrations run before it appears).
  std::chrono::milliseconds start_timeout{30000};
  /// How long terminate() waits after SIGTERM before it sends SIGKILL.
  std::chrono::milliseconds stop_timeout{10000};
};

/// One `mercato` child process on 127.0.0.1 with an ephemeral port. stdout and stderr go to a
/// log file in a private temporary directory; its tail is printed when the current test has
/// failed (or always with MERCATO_E2E_VERBOSE=1). The destructor always stops the process;
/// it records a test failure if the server had died on its own or did not stop cleanly on
/// SIGTERM.
///
/// Not thread-safe: start, stop and restart it from one thread (the test's). The child gets
/// SIGKILL if that thread ends, so a crashed test run leaves no server behind.
class server_process {
public:
  /// Starts the server and waits for its port. Throws std::runtime_error (with the log tail)
  /// when the binary is missing, exits early, or does not write its port in time.
  explicit server_process(server_options opts);
  ~server_process();

  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  /// The bound port of the running server (changes on restart()).
  uint16_t port() const {
    return port_;
  }

  /// Always the loopback address.
  std::string host() const {
    return "127.0.0.1";
  }

  /// "http://127.0.0.1:<port>".
  std::string base_url() const;

  /// Process id of the running server, or -1.
  pid_t pid() const {
    return pid_;
  }

  /// Whether the child is still running (reaps it if it has exited).
  bool is_running();

  /// SIGKILL and reap, as a crash would. No-op when not running.
  void kill9();

  /// Sends `sig` (SIGSTOP, SIGCONT, ...); no-op when not running.
  void signal(int sig);

  /// Waits up to `timeout` for an exit the test expects (a fenced node's): its wait status, or
  /// nullopt if it still runs. Not a failure, unlike dying unexpectedly.
  std::optional<int> wait_for_exit(std::chrono::milliseconds timeout);

  /// SIGTERM, then waits up to `stop_timeout` for it to exit, then SIGKILL. Returns the wait
  /// status (see waitpid), or nullopt when it was not running.
  std::optional<int> terminate();

  /// Stops the server if running (terminate()), then starts it again with the same options,
  /// on the same database, and waits for the new port.
  void restart();

  /// Path of the combined stdout/stderr log of every run of this server.
  const std::string& log_path() const {
    return log_path_;
  }

  /// The last `max_bytes` bytes of the log.
  std::string log_tail(size_t max_bytes = 16384) const;

  /// Prints the log tail to stderr if the current test has failed, once per server.
  void dump_log_if_failed();

  /// The options this server was started with (mutable for restart() with other flags).
  server_options& options() {
    return opts_;
  }

private:
  void start();
  void wait_for_port();
  void append_log_marker(const std::string& text);
  /// Reaps the child without blocking; true if it has exited (status in `status`).
  bool try_reap(int& status);

  server_options opts_;
  std::string dir_;
  std::string log_path_;
  std::string port_file_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  bool log_dumped_ = false;
};

/// A human description of a waitpid status ("exited with 1", "killed by signal 11 (SIGSEGV)").
std::string describe_wait_status(int status);

} // namespace mercato::test
