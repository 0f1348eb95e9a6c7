#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mercato::util {

/// Formats Unix epoch milliseconds as RFC 3339 UTC with milliseconds, e.g.
/// "2024-05-01T12:00:00.250Z". Years outside 0000..9999 are clamped to that range.
std::string format_rfc3339_ms(int64_t epoch_ms);

/// Appends the same text to `out` (no temporary string).
void append_rfc3339_ms(std::string& out, int64_t epoch_ms);

/// Formats Unix epoch seconds in UTC with a strftime(3) format ("%Y-%m-%d"); at most 63 bytes.
std::string format_utc(int64_t epoch_s, const char* strftime_format);

/// Parses an RFC 3339 date-time ("2024-05-01T12:00:00Z", "2024-05-01T14:00:00.5+02:00") into
/// Unix epoch milliseconds; false for anything else (including impossible dates). Fractions
/// beyond milliseconds are truncated.
bool parse_rfc3339_ms(std::string_view text, int64_t& epoch_ms);

} // namespace mercato::util
