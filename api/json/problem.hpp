#pragma once

// Errors to HTTP: the one mapping from `caf::error` to status + API.md code (STYLE §5), and the
// RFC 9457 problem+json rendering.

#include "api/http/types.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace mercato::api {

/// How an error is answered.
struct error_mapping {
  uint16_t status = 500;
  std::string_view code = "internal"; ///< an API.md code
  std::string detail;                 ///< safe to show to clients
  uint32_t retry_after_s = 0;         ///< Retry-After, 0 = none
  bool is_internal = false;           ///< 500: log it at error, hide the detail
};

/// THE mapping (keep it the only one):
/// - mercato_errc::invalid_request -> 400 invalid_request
/// - mercato_errc::not_found -> 404 not_found
/// - mercato_errc::conflict -> 409 conflict; insufficient_stock -> 409 insufficient_stock
/// - payment_declined -> 402; cart_expired -> 410; idempotency_mismatch -> 409
/// - storage_unavailable, entity_unavailable, stale_writer -> 503 unavailable, Retry-After: 1
/// - caf::sec::request_timeout -> 503 unavailable, Retry-After: 1 (API.md has no code for 504;
///   the outcome is unknown, and every command is idempotent, so retrying is the answer)
/// - caf::sec::request_receiver_down -> 503 unavailable, Retry-After: 1 (entity restarting)
/// - anything else (including an empty error) -> 500 internal
error_mapping map_error(const caf::error& err);

/// The problem response of `err`; 500s are logged at error with `request_id`.
response error_response(const caf::error& err, std::string_view request_id = {});

/// Human title of an API.md code ("Insufficient stock").
std::string_view problem_title(std::string_view code) noexcept;

/// The body of a problem: {type, title, status, detail, code, request_id, errors?}, where type is
/// "https://mercato.dev/problems/<code>".
std::string render_problem(const problem& p, uint16_t status, std::string_view request_id);

} // namespace mercato::api
