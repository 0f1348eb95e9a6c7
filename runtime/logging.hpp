#pragma once

// The process's spdlog loggers ("api", "actors", "pg", "runtime", "marketplace"), created once
// at start.

#include <spdlog/spdlog.h>

#include <exception>
#include <memory>
#include <string>
#include <string_view>

namespace mercato::runtime {

/// Creates the named loggers on stderr with `level` and `format` ("json" or "text").
/// Safe to call more than once (later calls reconfigure).
void init_logging(const std::string& level, const std::string& format);

/// The logger `name`; falls back to a default one if init_logging was not called (tests).
std::shared_ptr<spdlog::logger> logger(const std::string& name);

/// The message of the exception `ep` holds ("unknown exception" for a non-standard one), for
/// the exception handlers of actors.
std::string describe_exception(const std::exception_ptr& ep);

} // namespace mercato::runtime
