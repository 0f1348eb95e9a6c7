#include "config/load.hpp"
#include "runtime/server/server.hpp"

#include <filesystem>
#include <iostream>
#include <system_error>

namespace {

// `web/` beside the folder of the binary: build/bin/mercato serves build/web, where tools/dev
// builds the pages. Empty when the binary's path cannot be read.
std::string default_pages_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec)
    return {};
  return (exe.parent_path().parent_path() / "web").string();
}

} // namespace

int main(int argc, char** argv) {
  auto loaded = mercato::config::load(argc, argv, mercato::config::process_environment());
  if (loaded.exit_early)
    return 0;
  if (!loaded.errors.empty()) {
    for (const auto& e : loaded.errors)
      std::cerr << "mercato: " << e << '\n';
    return 1;
  }
  if (loaded.values.server.pages_dir.empty())
    loaded.values.server.pages_dir = default_pages_dir();
  auto reload
    = [argc, argv](std::vector<std::string>& errors) -> std::optional<mercato::config::settings> {
    auto again = mercato::config::load(argc, argv, mercato::config::process_environment());
    if (!again.errors.empty()) {
      errors = std::move(again.errors);
      return std::nullopt;
    }
    return std::move(again.values);
  };
  return mercato::runtime::run_server(loaded.values, reload);
}
