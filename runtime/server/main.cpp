#include "config/load.hpp"
#include "runtime/server/server.hpp"

#include <iostream>

int main(int argc, char** argv) {
  auto loaded = mercato::config::load(argc, argv, mercato::config::process_environment());
  if (loaded.exit_early)
    return 0;
  if (!loaded.errors.empty()) {
    for (const auto& e : loaded.errors)
      std::cerr << "mercato: " << e << '\n';
    return 1;
  }
  return mercato::runtime::run_server(loaded.values);
}
