#pragma once

// The process's spdlog loggers ("api", "actors", "pg", "runtime"), created once at start.

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace mercato::runtime {

/// Creates the named loggers on stderr with `level` and `format` ("json" or "text").
/// Safe to call more than once (later calls reconfigure).
void init_logging(const std::string& level, const std::string& format);

/// The logger `name`; falls back to a default one if init_logging was not called (tests).
std::shared_ptr<spdlog::logger> logger(const std::string& name);

/// Escapes `s` for inclusion inside a JSON string in a log line.
std::string json_escape(const std::string& s);

} // namespace mercato::runtime
