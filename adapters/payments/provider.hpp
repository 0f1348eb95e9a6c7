#pragma once

// Internal to adapters/payments: one payment provider as the provider port's actors see it.
// Calls may block (the http provider runs on detached actors) and are idempotent per payment id,
// so that any of them may be repeated after a crash or an unknown outcome.

#include "actors/protocol/messages.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace mercato::payments {

/// A payment provider. Errors: `storage_unavailable` when the provider cannot be reached or
/// keeps failing (the outcome is unknown; retrying the same call is safe), `conflict` when it
/// refuses the command for the payment's state.
class provider {
public:
  virtual ~provider() = default;

  /// Sends the authorisation; pending means that a webhook (or, for the sandbox, the provider
  /// itself after `settle_after_ms`) will tell the outcome.
  virtual caf::expected<provider_outcome> authorize(const payment_request& req) = 0;

  /// Captures, voids or refunds the payment `p` (its id and provider_ref).
  virtual caf::expected<provider_outcome> capture(const payment_view& p) = 0;
  virtual caf::expected<provider_outcome> void_payment(const payment_view& p) = 0;
  virtual caf::expected<provider_outcome> refund(const payment_view& p) = 0;
};

/// The built-in sandbox: `tok_ok` authorised, `tok_decline` declined ("card declined"),
/// `tok_slow` and `tok_timeout` pending (`tok_slow` settles as authorised by itself after
/// `slow_ms`, `tok_timeout` never), any other token declined ("unknown test token"). Capture,
/// void and refund always succeed. Never blocks.
class sandbox_provider : public provider {
public:
  explicit sandbox_provider(int64_t slow_ms = 0) : slow_ms_(slow_ms) {}
  caf::expected<provider_outcome> authorize(const payment_request& req) override;
  caf::expected<provider_outcome> capture(const payment_view& p) override;
  caf::expected<provider_outcome> void_payment(const payment_view& p) override;
  caf::expected<provider_outcome> refund(const payment_view& p) override;

private:
  int64_t slow_ms_;
};

} // namespace mercato::payments

namespace mercato::config {
struct payment_settings;
} // namespace mercato::config

namespace mercato::runtime {
class circuit_breaker;
} // namespace mercato::runtime

namespace mercato::payments {

/// The http provider of `cfg` (psp_url, psp_api_key): see http_provider.cpp for the PSP contract.
/// Its calls fail fast while `breaker` (if any) is open.
std::unique_ptr<provider> make_http_provider(const config::payment_settings& cfg,
                                             std::shared_ptr<runtime::circuit_breaker> breaker);

} // namespace mercato::payments
