#include "actors/protocol/errors.hpp"
#include "adapters/payments/provider.hpp"
#include "config/settings.hpp"

namespace mercato::payments {

namespace {

// TODO(payments): the PSP REST client; until then every call fails as if the PSP were down.
class http_provider : public provider {
public:
  std::string name() const override {
    return "http";
  }
  caf::expected<provider_outcome> authorize(const payment_request&) override {
    return down();
  }
  caf::expected<provider_outcome> capture(const payment_view&) override {
    return down();
  }
  caf::expected<provider_outcome> void_payment(const payment_view&) override {
    return down();
  }
  caf::expected<provider_outcome> refund(const payment_view&) override {
    return down();
  }

private:
  static caf::error down() {
    return caf::make_error(mercato_errc::storage_unavailable, "http payment provider not built");
  }
};

} // namespace

std::unique_ptr<provider> make_http_provider(const config::payment_settings&) {
  return std::make_unique<http_provider>();
}

} // namespace mercato::payments
