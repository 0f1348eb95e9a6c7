#pragma once

#include "config/settings.hpp"

#include <map>
#include <string>
#include <vector>

namespace mercato::config {

/// Outcome of loading: the settings, every problem found (each naming its setting), and
/// whether --help/--version was printed (then the caller exits 0).
struct load_result {
  settings values;
  std::vector<std::string> errors;
  bool exit_early = false;
};

/// Layers defaults, the JSON file named by `--config`, the environment (MERCATO_*), then flags,
/// and validates. `env` is passed in (not read from the process) so that tests stay hermetic.
load_result load(int argc, const char* const* argv, const std::map<std::string, std::string>& env);

/// The URLs of `webhooks.endpoints`, trimmed, without empty items.
std::vector<std::string> webhook_endpoints(const webhook_settings& s);

/// The process environment as a map (for `load`).
std::map<std::string, std::string> process_environment();

} // namespace mercato::config
