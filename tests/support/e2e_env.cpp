#include "tests/support/e2e_env.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

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

command_result run_command(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& env,
                           const std::vector<std::string>& unset) {
  // Output goes to files rather than pipes: nothing to drain while waiting, no deadlock.
  char dir_template[] = "/tmp/mercato-cmd-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr)
    throw std::runtime_error(std::string{"mkdtemp: "} + std::strerror(errno));
  std::string dir = dir_template;
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
  if (rc != 0) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    throw std::runtime_error("cannot run " + argv.at(0) + ": " + std::strerror(rc));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  command_result res;
  res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  res.out = slurp(out_path);
  res.err = slurp(err_path);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return res;
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
