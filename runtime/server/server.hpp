#pragma once

#include "config/settings.hpp"

namespace mercato::runtime {

/// Runs one Mercato node until SIGINT/SIGTERM: migrates, spawns adapters, regions and the HTTP
/// front, then shuts them down in order. Returns the process exit code.
int run_server(const config::settings& cfg);

} // namespace mercato::runtime
