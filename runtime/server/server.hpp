#pragma once

#include "config/settings.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mercato::runtime {

/// Reads the configuration again as the node was started (same flags, file and environment);
/// nullopt with `errors` filled when it is no longer valid.
using settings_reloader
  = std::function<std::optional<config::settings>(std::vector<std::string>& errors)>;

/// Runs one Mercato node until SIGINT/SIGTERM: migrates, spawns adapters, regions and the HTTP
/// front, then shuts them down in order. Returns the process exit code. On SIGHUP it reads the
/// configuration again with `reload` and applies what can change while it runs (the
/// notification rules); the rest needs a restart.
int run_server(const config::settings& cfg, settings_reloader reload = {});

} // namespace mercato::runtime
