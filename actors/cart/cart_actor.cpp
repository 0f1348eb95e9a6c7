#include "actors/cart/cart_actor.hpp"

#include <caf/all.hpp>

namespace mercato {

namespace {

using self_ptr = cart_actor::stateful_pointer<cart_state>;

cart_view view_of(const cart_state& st) {
  return cart::to_view(st.log.id, st.data, st.cfg.policy, st.log.durable_seq);
}

caf::error access(self_ptr self, const caller& who) {
  auto& st = self->state;
  return cart::check_access(st.data, who, st.cfg.policy, st.env.now());
}

// Persists a decision (taken when the answers it needed arrived) and answers with the view.
void decide_and_answer(self_ptr self, cart::decision d, caf::typed_response_promise<cart_view> rp) {
  if (!d) {
    rp.deliver(std::move(d.error()));
    return;
  }
  persist_then_answer(self, std::move(*d), rp, [self] { return view_of(self->state); });
}

caf::error not_stocked(const caf::error& err, const std::string& sku) {
  // Stock never set counts as none available; other failures pass through.
  if (errc_of(err) == mercato_errc::not_found)
    return caf::make_error(mercato_errc::insufficient_stock,
                           "no units of " + sku + " are available");
  return err;
}

} // namespace

cart_actor::behavior_type cart_entity(self_ptr self, std::string cart_id, cart_settings cfg) {
  self->state.cfg = std::move(cfg);
  auto env = self->state.cfg.env;
  start_entity<cart_snapshot, cart_event>(self, "cart", std::move(cart_id), std::move(env), [] {});
  return {
    [self](atom::create, const caller& who, const std::string& currency) -> caf::result<cart_view> {
      auto& st = self->state;
      auto rp = self->make_response_promise<cart_view>();
      decide_and_answer(self, cart::decide_create(st.data, who, currency, st.env.now()), rp);
      return rp;
    },
    [self](atom::get, const caller& who) -> caf::result<cart_view> {
      if (auto err = access(self, who))
        return err;
      auto rp = self->make_response_promise<cart_view>();
      answer_when_durable(self, rp, [self] { return view_of(self->state); });
      return rp;
    },
    [self](atom::put, const cart_line_cmd& cmd) -> caf::result<cart_view> {
      if (auto err = access(self, cmd.who))
        return err;
      if (auto err = cart::check_open(self->state.data))
        return err;
      auto rp = self->make_response_promise<cart_view>();
      if (cmd.quantity == 0) {
        decide_and_answer(
          self, cart::decide_remove_line(self->state.data, cmd.sku, self->state.env.now()), rp);
        return rp;
      }
      auto& cfg = self->state.cfg;
      // Price first, then availability; the decision is taken on the state as it is when both
      // answers are in (other commands may have run meanwhile).
      self->request(cfg.products, cfg.ask_timeout, atom::get_v, cmd.sku)
        .then(
          [self, rp, cmd](const product& item) mutable {
            auto& cfg = self->state.cfg;
            runtime::request_entity(self, cfg.stock_region, cmd.sku, cfg.ask_timeout, atom::get_v)
              .then(
                [self, rp, cmd, item](const stock_view& sv) mutable {
                  auto& st = self->state;
                  if (auto err = access(self, cmd.who)) {
                    rp.deliver(err);
                    return;
                  }
                  decide_and_answer(
                    self,
                    cart::decide_set_line(st.data, item, cmd.quantity, sv.available, st.env.now()),
                    rp);
                },
                [rp, sku = cmd.sku](const caf::error& err) mutable {
                  rp.deliver(not_stocked(err, sku));
                });
          },
          [rp, sku = cmd.sku](const caf::error& err) mutable {
            if (errc_of(err) == mercato_errc::not_found)
              rp.deliver(caf::make_error(mercato_errc::not_found, "no product with SKU " + sku));
            else
              rp.deliver(err);
          });
      return rp;
    },
    [self](atom::remove, const cart_line_cmd& cmd) -> caf::result<cart_view> {
      if (auto err = access(self, cmd.who))
        return err;
      auto rp = self->make_response_promise<cart_view>();
      decide_and_answer(
        self, cart::decide_remove_line(self->state.data, cmd.sku, self->state.env.now()), rp);
      return rp;
    },
    [self](atom::check, const caller& who, const std::string& code) -> caf::result<cart_view> {
      if (auto err = access(self, who))
        return err;
      if (auto err = cart::check_open(self->state.data))
        return err;
      auto rp = self->make_response_promise<cart_view>();
      auto& cfg = self->state.cfg;
      // Terms first (to keep a snapshot in the cart), then whether this customer may use it on
      // this subtotal now.
      runtime::request_entity(self, cfg.coupon_region, code, cfg.ask_timeout, atom::get_v)
        .then(
          [self, rp, who](const coupon_view& cv) mutable {
            auto& st = self->state;
            auto& cfg = st.cfg;
            coupon_use_cmd q;
            q.customer_id = st.data.customer_id;
            q.subtotal_minor = cart::totals_of(st.data, cfg.policy).subtotal_minor;
            q.request_id = who.request_id;
            runtime::request_entity(self, cfg.coupon_region, cv.terms.code, cfg.ask_timeout,
                                    atom::check_v, q)
              .then(
                [self, rp, terms = cv.terms](int64_t) mutable {
                  auto& st = self->state;
                  decide_and_answer(self, cart::decide_coupon(st.data, terms, st.env.now()), rp);
                },
                [rp](const caf::error& err) mutable { rp.deliver(err); });
          },
          [rp](const caf::error& err) mutable {
            // An unknown code is a conflict of this request, not a missing cart.
            if (errc_of(err) == mercato_errc::not_found)
              rp.deliver(caf::make_error(mercato_errc::conflict, "no such coupon"));
            else
              rp.deliver(err);
          });
      return rp;
    },
    [self](atom::commit, const caller& who,
           const std::string& checkout_id) -> caf::result<cart_view> {
      auto& st = self->state;
      if (auto err = access(self, who)) // the owner, and not expired
        return err;
      auto d = cart::decide_checkout(st.data, checkout_id, st.env.now());
      if (!d)
        return std::move(d.error());
      // Answered before the claim is durable, so that the checkout's first appends share its
      // group commit: from here on every other command sees the claim, and the checkout asks
      // `get` (answered once durable) before anything reaches the payment provider. A lost
      // claim restarts the cart without it.
      persist(
        self, std::move(*d), [] {}, [](const caf::error&) {});
      return view_of(st);
    },
    [self](atom::release, const caller& who,
           const std::string& checkout_id) -> caf::result<cart_view> {
      auto& st = self->state;
      if (!st.data.exists || (!who.admin && who.sub != st.data.customer_id))
        return caf::make_error(mercato_errc::not_found, "no such cart");
      auto rp = self->make_response_promise<cart_view>();
      decide_and_answer(self, cart::decide_reopen(st.data, checkout_id, st.env.now()), rp);
      return rp;
    },
    [self](atom::inspect) -> std::string {
      const auto& st = self->state;
      auto v = view_of(st);
      return inspect_text(st.log, [&](util::json_text& j) {
        j.key("cart_id").value(v.cart_id).key("exists").value(st.data.exists);
        j.key("customer_id").value(v.customer_id).key("currency").value(v.sums.currency);
        j.key("lines").begin_array();
        for (const auto& l : v.lines)
          j.begin_object().key("sku").value(l.sku).key("quantity").value(l.quantity).end_object();
        j.end_array();
        j.key("coupon_code").value(v.coupon_code).key("total_minor").value(v.sums.total_minor);
        j.key("checkout_id").value(v.checkout_id).key("expires_at").time_ms(v.expires_at_ms);
      });
    },
    [self](atom::passivate) { return passivate_if_idle(self); },
  };
}

runtime::entity_spawner make_cart_spawner(cart_settings cfg) {
  return [cfg](caf::local_actor* parent, const std::string& key, bool) {
    return caf::actor_cast<caf::actor>(parent->spawn(cart_entity, key, cfg));
  };
}

} // namespace mercato
