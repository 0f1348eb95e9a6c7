#pragma once

// HS256 JSON Web Tokens (RFC 7519 / 7515): verification on every authenticated request, and
// minting for tests. Signing and the constant-time comparison are the shared utilities'
// (runtime/util/crypto.hpp).

#include "config/settings.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mercato::api {

/// What a caller may do (claim `role`).
enum class role : uint8_t { customer, service, admin };

/// "customer", "service", "admin".
std::string_view to_string(role r) noexcept;

/// Parses a role name; false if unknown.
bool parse_role(std::string_view name, role& out) noexcept;

/// The authenticated caller.
struct principal {
  std::string sub; ///< claim `sub`: customer, service or admin id
  role who = role::customer;
  /// Claim `order`: a tracking token, which only reads this one order of its customer (empty:
  /// not scoped). Routes refuse such a principal unless they opt in (routes/common.hpp).
  std::string order_scope{}; // `{}`: principal{sub, role} may leave it out without a warning

  bool is_scoped() const noexcept {
    return !order_scope.empty();
  }
};

/// Why a token was refused. Every value is answered 401 (the role check, 403, happens later).
enum class jwt_error : uint8_t {
  none,
  missing,         ///< no Authorization header, or not a Bearer one
  malformed,       ///< not three base64url parts of JSON objects
  unsupported_alg, ///< header `alg` is not "HS256" (e.g. "none"), or `crit` is present
  bad_signature,   ///< HMAC mismatch (wrong secret or tampered token)
  expired,         ///< `exp` is in the past
  not_yet_valid,   ///< `nbf` is in the future
  invalid_claims,  ///< `sub` missing/empty, `role` missing/unknown, `exp`/`nbf` not numbers
  no_expiry,       ///< no `exp`: every token must end
  wrong_issuer,    ///< `iss` is not the configured issuer
  wrong_audience,  ///< `aud` does not name the configured audience
  invalid_scope,   ///< `order` is not an order id, or is on a token whose role is not customer
};

/// Short English reason, safe to return to clients.
std::string_view to_string(jwt_error e) noexcept;

/// Outcome of a verification.
struct verify_result {
  jwt_error error = jwt_error::none;
  principal who;
  int64_t expires_at_s = 0; ///< the token's `exp` (Unix seconds), when it is valid
  bool ok() const noexcept {
    return error == jwt_error::none;
  }
};

/// What a token must say besides a valid signature.
struct jwt_policy {
  int64_t leeway_s = 30; ///< clock skew allowed on `exp` and `nbf`
  std::string issuer;    ///< non-empty: `iss` must equal it
  std::string audience;  ///< non-empty: `aud` (a string, or an array of them) must name it
};

/// Verifies HS256 tokens with one secret. Rules: header `alg` must be exactly "HS256" (anything
/// else, "none" included, is refused); `crit` is refused; claims `sub` (non-empty string), `role`
/// (customer | service | admin) and `exp` (later than now) are required; `nbf`, when present,
/// must not be later than now; `iss` and `aud` as the policy says; `order`, when present, must be
/// an order id (1 to 64 of [A-Za-z0-9._-]) on a customer's token, and scopes the principal. Both
/// time checks allow the policy's leeway of clock skew. An empty secret refuses every token.
///
/// Thread-safe and lock-free: successful verifications are cached per thread (keyed by verifier
/// and token; time claims are re-checked on every hit), so a hot token costs no HMAC.
class jwt_verifier {
public:
  explicit jwt_verifier(std::string secret, jwt_policy policy = {});

  /// Verifies a compact JWS at Unix time `now_s`.
  verify_result verify(std::string_view token, int64_t now_s) const;

  /// Verifies the value of an Authorization header ("Bearer <token>", scheme case-insensitive).
  verify_result verify_header(std::string_view authorization, int64_t now_s) const;

  /// Current Unix time in seconds (system clock).
  static int64_t now() noexcept;

private:
  verify_result verify_uncached(std::string_view token, int64_t& exp, int64_t& nbf) const;

  std::string secret_;
  jwt_policy policy_;
  uint64_t instance_; // distinguishes verifiers (secrets) in the per-thread cache
};

/// The node's verifier: its secret, issuer and audience as configured.
std::shared_ptr<const jwt_verifier> make_verifier(const config::auth_settings& auth);

/// Signs `claims` (a JSON object) as a compact HS256 JWS with header {"alg":"HS256","typ":"JWT"}.
/// Throws std::invalid_argument if `claims` is not an object or `secret` is empty.
std::string mint_hs256(const nlohmann::json& claims, const std::string& secret);

} // namespace mercato::api
