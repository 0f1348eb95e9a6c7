#pragma once

#include <string_view>

namespace mercato::util {

/// True for valid UTF-8 without NUL characters: what PostgreSQL stores as text. Entities check
/// their inputs with it, so that a command they accept can always be journaled.
bool is_storable_text(std::string_view s) noexcept;

/// Length in bytes of the UTF-8 sequence that starts at `s[i]` (`i < s.size()`): 1 to 4, or 0 if
/// it is not valid UTF-8 (a stray continuation byte, a cut sequence, an overlong form, a
/// surrogate, beyond U+10FFFF). NUL is a valid sequence of 1.
size_t utf8_sequence_length(std::string_view s, size_t i) noexcept;

} // namespace mercato::util
