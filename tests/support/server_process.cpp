#include "tests/support/server_process.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace mercato::test {

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

// How often conditions with a deadline are re-checked (port file, exit without a pidfd).
constexpr auto poll_interval = std::chrono::milliseconds{10};

bool verbose() {
  const char* v = std::getenv("MERCATO_E2E_VERBOSE");
  return v != nullptr && *v != '\0' && std::string_view{v} != "0";
}

std::string make_temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl
    = std::string{base != nullptr && *base != '\0' ? base : "/tmp"} + "/mercato-e2e-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("mkdtemp(" + tmpl + "): " + std::strerror(errno));
  return tmpl;
}

std::optional<uint16_t> read_port_file(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return std::nullopt;
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  auto first = text.find_first_not_of(" \t\r\n");
  auto last = text.find_last_not_of(" \t\r\n");
  if (first == std::string::npos)
    return std::nullopt;
  text = text.substr(first, last - first + 1);
  for (char c : text)
    if (c < '0' || c > '9')
      return std::nullopt;
  if (text.size() > 5)
    return std::nullopt;
  auto value = std::stoul(text);
  if (value == 0 || value > 65535)
    return std::nullopt;
  return static_cast<uint16_t>(value);
}

// Waits until `pid` exits or `deadline` passes; true if it has exited (status in `status`).
// A pidfd makes the wait exact; without one (old kernels) the child is polled.
bool wait_exit(pid_t pid, clock_type::time_point deadline, int& status) {
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
      if (pidfd >= 0)
        ::close(pidfd);
      return true;
    }
    auto now = clock_type::now();
    if (now >= deadline) {
      if (pidfd >= 0)
        ::close(pidfd);
      return false;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    if (pidfd >= 0) {
      pollfd pfd{pidfd, POLLIN, 0};
      ::poll(&pfd, 1, static_cast<int>(left.count()) + 1);
    } else {
      std::this_thread::sleep_for(std::min<clock_type::duration>(poll_interval, left));
    }
  }
}

} // namespace

std::string describe_wait_status(int status) {
  if (WIFEXITED(status))
    return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = ::sigabbrev_np(WTERMSIG(status));
    return "killed by signal " + std::to_string(WTERMSIG(status))
           + (name != nullptr ? std::string{" (SIG"} + name + ")" : std::string{});
  }
  return "wait status " + std::to_string(status);
}

std::string mercato_binary() {
  if (const char* bin = std::getenv("MERCATO_BIN"); bin != nullptr && *bin != '\0')
    return bin;
#ifdef MERCATO_E2E_DEFAULT_BIN
  return MERCATO_E2E_DEFAULT_BIN;
#else
  // This file is <repo>/tests/support/server_process.cpp.
  return (fs::path{__FILE__}.parent_path().parent_path().parent_path() / "build" / "bin"
          / "mercato")
    .string();
#endif
}

server_process::server_process(server_options opts) : opts_(std::move(opts)) {
  if (opts_.binary.empty())
    opts_.binary = mercato_binary();
  dir_ = make_temp_dir();
  log_path_ = dir_ + "/mercato.log";
  port_file_ = dir_ + "/port";
  try {
    start();
  } catch (...) {
    // The destructor does not run for a throwing constructor.
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    throw;
  }
}

server_process::~server_process() {
  if (pid_ > 0) {
    int status = 0;
    if (try_reap(status)) {
      ADD_FAILURE() << "mercato (pid " << pid_
                    << ") died on its own: " << describe_wait_status(status);
    } else if (auto st = terminate(); st && !(WIFEXITED(*st) && WEXITSTATUS(*st) == 0)) {
      ADD_FAILURE() << "mercato did not shut down cleanly on SIGTERM: "
                    << describe_wait_status(*st);
    }
  }
  dump_log_if_failed();
  if (verbose() && !log_dumped_)
    std::cerr << "----- mercato log (" << log_path_ << ") -----\n" << log_tail() << '\n';
  std::error_code ec;
  if (log_dumped_)
    fs::remove(port_file_, ec); // keep the log for a look after a failure
  else
    fs::remove_all(dir_, ec);
}

std::string server_process::base_url() const {
  return "http://" + host() + ":" + std::to_string(port_);
}

void server_process::append_log_marker(const std::string& text) {
  std::ofstream out{log_path_, std::ios::app};
  out << "\n===== " << text << " =====\n";
}

void server_process::start() {
  if (::access(opts_.binary.c_str(), X_OK) != 0)
    throw std::runtime_error("mercato binary not found or not executable: " + opts_.binary
                             + " (set MERCATO_BIN or build target `mercato`)");
  if (opts_.database_url.empty() || opts_.jwt_secret.empty())
    throw std::invalid_argument("server_options needs database_url and jwt_secret");

  std::error_code ec;
  fs::remove(port_file_, ec);

  std::vector<std::string> args{
    opts_.binary,    "--http-addr",    "127.0.0.1:0",   "--database-url", opts_.database_url,
    "--jwt-secret",  opts_.jwt_secret, "--port-file",   port_file_,       "--log-level",
    opts_.log_level, "--log-format",   opts_.log_format};
  if (opts_.passivate_after_ms)
    args.insert(args.end(), {"--passivate-after-ms", std::to_string(*opts_.passivate_after_ms)});
  if (opts_.hold_ttl_ms)
    args.insert(args.end(), {"--hold-ttl-ms", std::to_string(*opts_.hold_ttl_ms)});
  if (opts_.journal_batch_max)
    args.insert(args.end(), {"--journal-batch-max", std::to_string(*opts_.journal_batch_max)});
  if (opts_.fault_injection)
    args.emplace_back("--fault-injection");
  args.insert(args.end(), opts_.extra_args.begin(), opts_.extra_args.end());

  std::ostringstream cmdline;
  for (const auto& a : args)
    cmdline << (a == opts_.jwt_secret ? std::string{"<secret>"} : a) << ' ';
  append_log_marker("start: " + cmdline.str());

  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int exec_pipe[2];
  if (log_fd < 0 || null_fd < 0 || ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    auto err = std::string{std::strerror(errno)};
    if (log_fd >= 0)
      ::close(log_fd);
    if (null_fd >= 0)
      ::close(null_fd);
    throw std::runtime_error("cannot prepare the server's files: " + err);
  }
  pid_t parent = ::getpid();

  pid_t child = ::fork();
  if (child == 0) {
    // The server dies with the test's thread, so an aborted test run leaves no process.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(126);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    // Keep sockets and connections of the test (HTTP clients, libpq) out of the server.
    int keep = exec_pipe[1];
    if (::syscall(SYS_close_range, static_cast<unsigned>(keep + 1), ~0u, 0u) != 0)
      for (int fd = keep + 1; fd < 4096; ++fd) // kernels before 5.9
        ::close(fd);
    for (int fd = 3; fd < keep; ++fd)
      ::close(fd);
    ::execve(argv[0], argv.data(), environ);
    int err = errno;
    [[maybe_unused]] auto n = ::write(keep, &err, sizeof err);
    ::_exit(127);
  }
  int fork_errno = errno;
  ::close(log_fd);
  ::close(null_fd);
  ::close(exec_pipe[1]);
  if (child < 0) {
    ::close(exec_pipe[0]);
    throw std::runtime_error(std::string{"fork: "} + std::strerror(fork_errno));
  }
  pid_ = child;
  int exec_err = 0;
  ssize_t n;
  do {
    n = ::read(exec_pipe[0], &exec_err, sizeof exec_err);
  } while (n < 0 && errno == EINTR);
  ::close(exec_pipe[0]);
  if (n > 0) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    throw std::runtime_error("cannot exec " + opts_.binary + ": " + std::strerror(exec_err));
  }
  wait_for_port();
}

void server_process::wait_for_port() {
  auto deadline = clock_type::now() + opts_.start_timeout;
  for (;;) {
    if (auto port = read_port_file(port_file_)) {
      port_ = *port;
      return;
    }
    int status = 0;
    if (try_reap(status)) {
      pid_ = -1;
      throw std::runtime_error("mercato exited before writing its port file ("
                               + describe_wait_status(status) + "); log " + log_path_ + ":\n"
                               + log_tail(4096));
    }
    if (clock_type::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      throw std::runtime_error("mercato wrote no port file within "
                               + std::to_string(opts_.start_timeout.count()) + " ms; log "
                               + log_path_ + ":\n" + log_tail(4096));
    }
    std::this_thread::sleep_for(poll_interval);
  }
}

void server_process::signal(int sig) {
  if (pid_ > 0)
    ::kill(pid_, sig);
}

std::optional<int> server_process::wait_for_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (pid_ > 0) {
    if (try_reap(status)) {
      append_log_marker("mercato " + describe_wait_status(status));
      pid_ = -1;
      return status;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return std::nullopt;
}

bool server_process::try_reap(int& status) {
  if (pid_ <= 0)
    return false;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  return r == pid_;
}

bool server_process::is_running() {
  if (pid_ <= 0)
    return false;
  int status = 0;
  if (try_reap(status)) {
    append_log_marker("mercato " + describe_wait_status(status));
    ADD_FAILURE() << "mercato (pid " << pid_
                  << ") died on its own: " << describe_wait_status(status);
    pid_ = -1;
    return false;
  }
  return true;
}

void server_process::kill9() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  append_log_marker("killed with SIGKILL by the test");
  pid_ = -1;
  port_ = 0;
}

std::optional<int> server_process::terminate() {
  if (pid_ <= 0)
    return std::nullopt;
  int status = 0;
  ::kill(pid_, SIGTERM);
  if (!wait_exit(pid_, clock_type::now() + opts_.stop_timeout, status)) {
    append_log_marker("no exit " + std::to_string(opts_.stop_timeout.count())
                      + " ms after SIGTERM; sending SIGKILL");
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  append_log_marker("stopped: " + describe_wait_status(status));
  pid_ = -1;
  port_ = 0;
  return status;
}

void server_process::restart() {
  if (pid_ > 0)
    terminate();
  start();
}

std::string server_process::log_tail(size_t max_bytes) const {
  std::ifstream in{log_path_, std::ios::binary};
  if (!in)
    return "(no log)";
  in.seekg(0, std::ios::end);
  auto size = static_cast<size_t>(in.tellg());
  auto from = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(from));
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  if (from > 0)
    text = "[... " + std::to_string(from) + " bytes before ...]\n" + text;
  return text;
}

void server_process::dump_log_if_failed() {
  if (log_dumped_ || !::testing::Test::HasFailure())
    return;
  log_dumped_ = true;
  std::cerr << "----- tail of the mercato log (full log kept at " << log_path_ << ") -----\n"
            << log_tail() << "\n----- end of the mercato log -----\n";
}

} // namespace mercato::test
