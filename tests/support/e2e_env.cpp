#include "tests/support/e2e_env.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace mercato::test {

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

} // namespace

std::string command_result::describe() const {
  return "exit " + std::to_string(exit_code) + "; stdout: " + out.substr(0, 2000)
         + "; stderr: " + err.substr(0, 2000);
}

namespace {

/// Starts `argv` with stdin from /dev/null and stdout, stderr into files `dir`/stdout and
/// `dir`/stderr; the environment as described at run_command(). Throws std::runtime_error.
pid_t spawn_into(const std::string& dir, const std::vector<std::string>& argv,
                 const std::map<std::string, std::string>& env,
                 const std::vector<std::string>& unset) {
  auto out_path = dir + "/stdout";
  auto err_path = dir + "/stderr";
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    auto name = entry.substr(0, entry.find('='));
    bool drop = env.count(name) > 0;
    for (const auto& u : unset)
      drop = drop || u == name;
    if (!drop)
      env_strings.push_back(std::move(entry));
  }
  for (const auto& [k, v] : env)
    env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& a : args)
    argp.push_back(a.data());
  argp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argp[0], &actions, nullptr, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    throw std::runtime_error("cannot run " + argv.at(0) + ": " + std::strerror(rc));
  return pid;
}

std::string make_output_dir() {
  char dir_template[] = "/tmp/mercato-cmd-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr)
    throw std::runtime_error(std::string{"mkdtemp: "} + std::strerror(errno));
  return dir_template;
}

void remove_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

command_result result_of(int status, const std::string& dir) {
  command_result res;
  res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  res.out = slurp(dir + "/stdout");
  res.err = slurp(dir + "/stderr");
  return res;
}

} // namespace

command_result pg_ctl(const std::string& action) {
  const char* ctl = std::getenv("MERCATO_TEST_PG_CTL");
  const char* dir = std::getenv("MERCATO_TEST_PG_DATA_DIR");
  return run_command({ctl, "pg-ctl", "--data-dir", dir, action});
}

bool pg_ctl_available() {
  return std::getenv("MERCATO_TEST_PG_CTL") != nullptr
         && std::getenv("MERCATO_TEST_PG_DATA_DIR") != nullptr;
}

command_result run_command(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& env,
                           const std::vector<std::string>& unset) {
  // Output goes to files rather than pipes: nothing to drain while waiting, no deadlock.
  auto dir = make_output_dir();
  pid_t pid = -1;
  try {
    pid = spawn_into(dir, argv, env, unset);
  } catch (...) {
    remove_dir(dir);
    throw;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  auto res = result_of(status, dir);
  remove_dir(dir);
  return res;
}

background_command::background_command(const std::vector<std::string>& argv,
                                       const std::map<std::string, std::string>& env,
                                       const std::vector<std::string>& unset)
    : dir_(make_output_dir()) {
  try {
    pid_ = spawn_into(dir_, argv, env, unset);
  } catch (...) {
    remove_dir(dir_);
    throw;
  }
}

background_command::~background_command() {
  if (!result_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  remove_dir(dir_);
}

std::string background_command::out() const {
  return result_ ? result_->out : slurp(dir_ + "/stdout");
}

std::string background_command::err() const {
  return result_ ? result_->err : slurp(dir_ + "/stderr");
}

void background_command::signal(int sig) {
  if (!result_)
    ::kill(pid_, sig);
}

std::optional<command_result> background_command::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!result_) {
    int status = 0;
    auto rc = ::waitpid(pid_, &status, WNOHANG);
    if (rc == pid_) {
      result_ = result_of(status, dir_);
      break;
    }
    if (rc < 0 && errno != EINTR)
      throw std::runtime_error(std::string{"waitpid: "} + std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return result_;
}

std::string mercatoctl_binary() {
  if (const char* bin = std::getenv("MERCATO_CTL_BIN"); bin != nullptr && *bin != '\0')
    return bin;
#ifdef MERCATO_E2E_CTL_BIN
  return MERCATO_E2E_CTL_BIN;
#else
  return "mercatoctl";
#endif
}

} // namespace mercato::test
