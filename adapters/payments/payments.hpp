#pragma once

// The payment provider port (actors/protocol/interfaces.hpp `payment_provider_actor`) for the
// provider chosen by configuration. Payments themselves are entities (actors/payment/).

#include "actors/protocol/interfaces.hpp"
#include "config/settings.hpp"
#include "runtime/circuit_breaker.hpp"

#include <caf/actor_system.hpp>

namespace mercato::payments {

/// Spawns the provider port for `cfg.provider`: "sandbox" answers at once from one event-based
/// actor (it never blocks); "http" calls the PSP from `workers` detached actors, each with its
/// own blocking HTTP client, so that only provider calls wait for the network. Calls of one
/// payment id always go to the same worker. Stop it with `anon_send_exit`; the workers are
/// linked and stop with it. With `breaker`, "http" calls fail fast (`storage_unavailable`) while
/// it is open: it opens after calls that found the PSP unreachable or failing (each after its
/// retries) and closes when a probe call gets an answer.
payment_provider_actor
spawn_payment_provider(caf::actor_system& sys, const config::payment_settings& cfg, int workers = 2,
                       std::shared_ptr<runtime::circuit_breaker> breaker = {});

} // namespace mercato::payments
