#pragma once

#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <cstdint>
#include <string>

namespace mercato {

/// Domain errors carried in `caf::error`; `api/` maps each to one HTTP status and `code`.
enum class mercato_errc : uint8_t {
  none = 0,
  invalid_request,      ///< 400: the command violates a rule of the input (e.g. quantity <= 0)
  not_found,            ///< 404: no such entity or sub-entity (e.g. reservation)
  conflict,             ///< 409: the command contradicts the entity's state
  insufficient_stock,   ///< 409: not enough available units
  storage_unavailable,  ///< 503: the journal could not make the decision durable; retryable
  entity_unavailable,   ///< 503: the entity is over its restart budget or restarting; retryable
  stale_writer,         ///< another writer appended to this entity first (fence); entity restarts
  fault_injected,       ///< test-only fault hook fired
  payment_declined,     ///< 402: the payment provider declined or did not answer in time
  cart_expired,         ///< 410: the cart passed its idle TTL
  idempotency_mismatch, ///< 409: an Idempotency-Key reused with another request body
  moved,                ///< 503: this node does not own the entity's shard (now); retryable
};

/// Stable text of an error code (also used in logs).
std::string to_string(mercato_errc x);

/// Renders a `caf::error` of any category for logs and problem details.
std::string render(const caf::error& err);

/// Returns the `mercato_errc` of `err`, or `none` if it belongs to another category.
mercato_errc errc_of(const caf::error& err);

/// Returns the first string in the error's context, or "" (the human detail of a domain error).
std::string detail_of(const caf::error& err);

} // namespace mercato

CAF_ERROR_CODE_ENUM(mercato::mercato_errc, "mercato")
