#pragma once

#include <string_view>

namespace mercato::util {

/// True for valid UTF-8 without NUL characters: what PostgreSQL stores as text. Entities check
/// their inputs with it, so that a command they accept can always be journaled.
bool is_storable_text(std::string_view s) noexcept;

} // namespace mercato::util
