#include "adapters/payments/payments.hpp"

#include "adapters/payments/provider.hpp"
#include "runtime/logging.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <vector>

namespace mercato::payments {

namespace {

template <class T>
caf::result<T> to_result(caf::expected<T> x) {
  if (x)
    return std::move(*x);
  return std::move(x.error());
}

// One provider's calls as a behaviour; the provider blocks or not, the port's contract is the
// same.
struct provider_state {
  static inline const char* name = "payments.provider";
  std::unique_ptr<provider> psp;
};

payment_provider_actor::behavior_type
provider_calls(payment_provider_actor::stateful_pointer<provider_state> self,
               std::shared_ptr<std::function<std::unique_ptr<provider>()>> make) {
  self->state.psp = (*make)();
  return {
    [self](atom::authorize, const payment_request& req) -> caf::result<provider_outcome> {
      return to_result(self->state.psp->authorize(req));
    },
    [self](atom::capture, const payment_view& p) -> caf::result<provider_outcome> {
      return to_result(self->state.psp->capture(p));
    },
    [self](atom::cancel, const payment_view& p) -> caf::result<provider_outcome> {
      return to_result(self->state.psp->void_payment(p));
    },
    [self](atom::refund, const payment_view& p) -> caf::result<provider_outcome> {
      return to_result(self->state.psp->refund(p));
    },
  };
}

// Routes each call to the worker its payment id hashes to; the worker answers the caller.
struct pool_state {
  static inline const char* name = "payments.provider_pool";
  std::vector<payment_provider_actor> workers;

  const payment_provider_actor& worker_for(const std::string& id) const {
    return workers[std::hash<std::string>{}(id) % workers.size()];
  }
};

payment_provider_actor::behavior_type
provider_pool(payment_provider_actor::stateful_pointer<pool_state> self,
              std::vector<payment_provider_actor> workers) {
  self->state.workers = std::move(workers);
  for (auto& w : self->state.workers)
    self->link_to(w);
  return {
    [self](atom::authorize a, const payment_request& req) {
      return self->delegate(self->state.worker_for(req.payment_id), a, req);
    },
    [self](atom::capture a, const payment_view& p) {
      return self->delegate(self->state.worker_for(p.payment_id), a, p);
    },
    [self](atom::cancel a, const payment_view& p) {
      return self->delegate(self->state.worker_for(p.payment_id), a, p);
    },
    [self](atom::refund a, const payment_view& p) {
      return self->delegate(self->state.worker_for(p.payment_id), a, p);
    },
  };
}

} // namespace

payment_provider_actor spawn_payment_provider(caf::actor_system& sys,
                                              const config::payment_settings& cfg, int workers,
                                              std::shared_ptr<runtime::circuit_breaker> breaker) {
  if (cfg.provider != "http") {
    auto slow = cfg.sandbox_slow_ms;
    auto make = std::make_shared<std::function<std::unique_ptr<provider>()>>(
      [slow] { return std::make_unique<sandbox_provider>(slow); });
    return sys.spawn(provider_calls, make);
  }
  auto make = std::make_shared<std::function<std::unique_ptr<provider>()>>(
    [cfg, breaker] { return make_http_provider(cfg, breaker); });
  std::vector<payment_provider_actor> pool;
  for (int i = 0; i < std::max(workers, 1); ++i)
    pool.push_back(sys.spawn<caf::detached>(provider_calls, make));
  runtime::logger("payments")
    ->info("payment provider http: {} workers for {}", pool.size(), cfg.psp_url);
  return sys.spawn(provider_pool, std::move(pool));
}

} // namespace mercato::payments
