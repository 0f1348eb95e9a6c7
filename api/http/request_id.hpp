#pragma once

// Request ids (X-Request-ID) and W3C trace context (traceparent).

#include <string>
#include <string_view>

namespace mercato::api {

/// Longest client-supplied X-Request-ID that is echoed back.
inline constexpr size_t max_request_id_length = 128;

/// True if `id` is 1..128 characters of [A-Za-z0-9._:-] (safe in headers, logs and JSON).
/// Other values are replaced by a generated id.
bool is_valid_request_id(std::string_view id) noexcept;

/// A new random id: 32 lower-case hex digits (128 bits). Lock-free (thread-local generator).
std::string new_request_id();

/// The parts of a valid `traceparent` header (views into the header value).
struct trace_context {
  std::string_view version;
  std::string_view trace_id;  ///< 32 lower-case hex digits, not all zero
  std::string_view parent_id; ///< 16 lower-case hex digits, not all zero
  std::string_view flags;     ///< 2 hex digits
};

/// Parses a W3C `traceparent` (version 00, or a later version's first 55 characters followed by
/// '-' and more); false for anything invalid (then the header is ignored).
bool parse_traceparent(std::string_view value, trace_context& out) noexcept;

} // namespace mercato::api
