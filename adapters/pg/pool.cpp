#include "adapters/pg/pool.hpp"

#include "runtime/logging.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/message_view.hpp>
#include <caf/response_promise.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>

#include <cassert>

namespace mercato::pg {

namespace {

struct router_state {
  std::vector<caf::actor> workers;
  size_t next = 0;
  std::string name;
};

// Never sent by anyone: a behaviour must not be empty, or the actor would terminate at once.
struct router_keepalive {};

caf::behavior round_robin(caf::stateful_actor<router_state>* self, std::vector<caf::actor> workers,
                          std::string name) {
  assert(!workers.empty());
  self->state.workers = std::move(workers);
  self->state.name = std::move(name);
  // Link the workers, so that killing the router (shutdown) also stops them.
  for (auto& w : self->state.workers)
    self->link_to(w);
  self->set_default_handler(
    [self](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
      auto& st = self->state;
      const auto& worker = st.workers[st.next++ % st.workers.size()];
      auto rp = self->make_response_promise();
      rp.delegate(worker, x.move_content_to_message());
      return caf::delegated<caf::message>{};
    });
  return {
    [](router_keepalive) {},
  };
}

} // namespace

caf::actor spawn_round_robin(caf::actor_system& sys, std::vector<caf::actor> workers,
                             std::string name) {
  return sys.spawn(round_robin, std::move(workers), std::move(name));
}

} // namespace mercato::pg
