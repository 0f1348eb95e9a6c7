#pragma once

// Internal to adapters/pg: N detached workers (one connection each) behind one event-based
// router, so that a port handle spreads its blocking queries over N threads.

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace mercato::pg {

/// Spawns an actor that forwards each message to the next of `workers` in turn. Requests are
/// delegated, so a worker answers the original sender directly. The router holds the only
/// handles of the workers: they end with it. `workers` must not be empty.
caf::actor spawn_round_robin(caf::actor_system& sys, std::vector<caf::actor> workers,
                             std::string name);

/// Spawns max(1, n) detached workers `fun(self, xs..., index)` behind a round-robin router and
/// returns the router as a `Handle` (the workers' typed interface).
template <class Handle, class F, class... Ts>
Handle spawn_pool(caf::actor_system& sys, std::string name, int n, F fun, const Ts&... xs) {
  std::vector<caf::actor> workers;
  for (int i = 0; i < std::max(n, 1); ++i)
    workers.push_back(caf::actor_cast<caf::actor>(sys.spawn<caf::detached>(fun, xs..., i)));
  return caf::actor_cast<Handle>(spawn_round_robin(sys, std::move(workers), std::move(name)));
}

} // namespace mercato::pg
