#pragma once

// Internal to adapters/payments: one payment provider as the workers see it. Calls are blocking
// (a worker is a detached actor) and idempotent per payment id, so that a worker may repeat any
// of them after a crash or an unknown outcome.

#include "actors/protocol/messages.hpp"

#include <caf/expected.hpp>

#include <memory>
#include <string>

namespace mercato::payments {

/// What the provider answered.
struct provider_outcome {
  payment_status status = payment_status::pending; ///< authorized, declined or pending
  std::string provider_ref;                        ///< the provider's id, if it gave one
  std::string detail;                              ///< decline reason, ...
};

/// A payment provider. Errors: `storage_unavailable` when the provider cannot be reached or
/// keeps failing (the outcome is unknown; retrying the same call is safe), `conflict` when it
/// refuses the command for the payment's state.
class provider {
public:
  virtual ~provider() = default;

  /// "sandbox", "http": stored with each payment.
  virtual std::string name() const = 0;

  /// Sends the authorisation; pending means that a webhook will tell the outcome.
  virtual caf::expected<provider_outcome> authorize(const payment_request& req) = 0;

  /// Captures, voids or refunds the payment `p` (its id and provider_ref).
  virtual caf::expected<provider_outcome> capture(const payment_view& p) = 0;
  virtual caf::expected<provider_outcome> void_payment(const payment_view& p) = 0;
  virtual caf::expected<provider_outcome> refund(const payment_view& p) = 0;
};

/// The built-in sandbox: `tok_ok` authorised, `tok_decline` declined ("card declined"),
/// `tok_slow` and `tok_timeout` pending (the adapter settles `tok_slow` after a delay and never
/// settles `tok_timeout`), any other token declined ("unknown test token"). Capture, void and
/// refund always succeed.
class sandbox_provider : public provider {
public:
  std::string name() const override {
    return "sandbox";
  }
  caf::expected<provider_outcome> authorize(const payment_request& req) override;
  caf::expected<provider_outcome> capture(const payment_view& p) override;
  caf::expected<provider_outcome> void_payment(const payment_view& p) override;
  caf::expected<provider_outcome> refund(const payment_view& p) override;
};

/// The sandbox token that the adapter settles (authorised) after `sandbox_slow_ms`.
inline constexpr const char* sandbox_slow_token = "tok_slow";

} // namespace mercato::payments

namespace mercato::config {
struct payment_settings;
} // namespace mercato::config

namespace mercato::payments {

/// The http provider of `cfg` (psp_url, psp_api_key): see http_provider.cpp for the PSP contract.
std::unique_ptr<provider> make_http_provider(const config::payment_settings& cfg);

} // namespace mercato::payments
