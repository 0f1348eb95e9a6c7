#include "actors/customer/customer_actor.hpp"

#include "runtime/logging.hpp"

#include <caf/all.hpp>

namespace mercato {

customer_actor::behavior_type customer_entity(customer_actor::stateful_pointer<customer_state> self,
                                              std::string customer_id, entity_env env) {
  self->state.data.customer_id = customer_id;
  start_entity<customer_snapshot, customer_event>(self, "customer", std::move(customer_id),
                                                  std::move(env), [] {});
  return {
    [self](atom::append, const customer_order_update& u) {
      auto events = customer::decide_update(self->state.data, u);
      if (events.empty())
        return;
      // Nobody waits for the feed: a lost append restarts the entity, and the order's own
      // topic keeps the change.
      persist(
        self, std::move(events), [] {},
        [id = self->state.log.id](const caf::error& err) {
          runtime::logger("actors")->warn("customer {} feed update lost: {}", id, to_string(err));
        });
    },
    [self](atom::get, const caller& who) -> caf::result<customer_view> {
      auto& st = self->state;
      if (!who.admin && who.sub != st.data.customer_id)
        return caf::make_error(mercato_errc::not_found, "no such customer");
      auto rp = self->make_response_promise<customer_view>();
      answer_when_durable(self, rp, [self] {
        return customer_view{customer::snapshot_of(self->state.data), self->state.log.durable_seq};
      });
      return rp;
    },
    [self](atom::inspect) -> std::string {
      const auto& d = self->state.data;
      return inspect_text(self->state.log, [&](util::json_text& j) {
        j.key("customer_id").value(d.customer_id);
        j.key("orders").begin_array();
        for (const auto& o : d.orders)
          j.begin_object()
            .key("order_id")
            .value(o.order_id)
            .key("status")
            .value(o.status)
            .key("order_seq")
            .value(o.order_seq)
            .end_object();
        j.end_array();
      });
    },
    [self](atom::passivate) { return passivate_if_idle(self); },
  };
}

runtime::entity_spawner make_customer_spawner(entity_env env) {
  return [env](caf::local_actor* parent, const std::string& key, bool) {
    return caf::actor_cast<caf::actor>(parent->spawn(customer_entity, key, env));
  };
}

} // namespace mercato
