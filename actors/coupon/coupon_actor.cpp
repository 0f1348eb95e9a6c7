#include "actors/coupon/coupon_actor.hpp"

#include <caf/all.hpp>

namespace mercato {

namespace {

using self_ptr = coupon_actor::stateful_pointer<coupon_state>;

// Persists a decision and answers with `value` once it is durable.
template <class T>
caf::result<T> answer(self_ptr self, coupon::decision d, T value) {
  if (!d)
    return std::move(d.error());
  auto rp = self->make_response_promise<T>();
  persist_then_answer(self, std::move(*d), rp, [value] { return value; });
  return rp;
}

} // namespace

coupon_actor::behavior_type coupon_entity(self_ptr self, std::string code, entity_env env) {
  start_entity<coupon_snapshot, coupon_event>(self, "coupon", std::move(code), std::move(env),
                                              [] {});
  return {
    [self](atom::put, const coupon_terms& t) -> caf::result<coupon_view> {
      auto& st = self->state;
      auto d = coupon::decide_define(st.data, t, st.env.now());
      if (!d)
        return std::move(d.error());
      auto rp = self->make_response_promise<coupon_view>();
      persist_then_answer(self, std::move(*d), rp, [self] {
        return coupon::to_view(self->state.data, self->state.log.durable_seq);
      });
      return rp;
    },
    [self](atom::get) -> caf::result<coupon_view> {
      if (!self->state.data.exists)
        return caf::make_error(mercato_errc::not_found, "no such coupon");
      auto rp = self->make_response_promise<coupon_view>();
      answer_when_durable(self, rp, [self] {
        return coupon::to_view(self->state.data, self->state.log.durable_seq);
      });
      return rp;
    },
    [self](atom::check, const coupon_use_cmd& cmd) -> caf::result<int64_t> {
      auto& st = self->state;
      auto d = coupon::check(st.data, cmd.customer_id, cmd.subtotal_minor, st.env.now());
      if (!d)
        return std::move(d.error());
      return *d;
    },
    [self](atom::reserve, const coupon_use_cmd& cmd) -> caf::result<int64_t> {
      auto& st = self->state;
      auto d = coupon::decide_reserve(st.data, cmd, st.env.now());
      return answer(self, std::move(d), coupon::discount_of(st.data.terms, cmd.subtotal_minor));
    },
    [self](atom::commit, const coupon_use_cmd& cmd) -> caf::result<bool> {
      auto& st = self->state;
      return answer(self, coupon::decide_commit(st.data, cmd, st.env.now()), true);
    },
    [self](atom::release, const coupon_use_cmd& cmd) -> caf::result<bool> {
      auto& st = self->state;
      return answer(self, coupon::decide_release(st.data, cmd, st.env.now()), true);
    },
    [self](atom::inspect) -> std::string {
      const auto& d = self->state.data;
      return inspect_text(self->state.log, [&](util::json_text& j) {
        j.key("code").value(d.terms.code).key("exists").value(d.exists);
        j.key("kind").value(d.terms.kind).key("value").value(d.terms.value);
        j.key("usage_limit").value(d.terms.usage_limit);
        j.key("per_customer_limit").value(d.terms.per_customer_limit);
        j.key("used").value(d.committed).key("reserved").value(d.held);
      });
    },
    [self](atom::passivate) { return passivate_if_idle(self); },
  };
}

runtime::entity_spawner make_coupon_spawner(entity_env env) {
  return [env](caf::local_actor* parent, const std::string& key, bool) {
    return caf::actor_cast<caf::actor>(parent->spawn(coupon_entity, key, env));
  };
}

} // namespace mercato
