// The reads a WebSocket subscription starts with, as one-shot actors: the entity's durable view
// through its region (which also checks who may see it) and missed events from the journal; for
// a customer's feed, both from its read model.

#include "actors/protocol/commerce.hpp"
#include "actors/protocol/errors.hpp"
#include "api/json/codec.hpp"
#include "api/json/commerce_codec.hpp"
#include "api/ws/admin_feed.hpp"
#include "api/ws/ws_env.hpp"
#include "runtime/cluster/cluster_state.hpp"
#include "runtime/shard_region.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

namespace mercato::api::ws {

namespace {

using namespace std::chrono_literals;

constexpr auto ask_timeout = 10s;

// What an entity's view tells a subscription: its version, owner and snapshot data.
struct view_facts {
  uint64_t version = 0;
  std::string owner; ///< empty: public
  std::string data;
};

// Only an order has personal data a partner must not see; the other kinds ignore `audience`.
view_facts facts_of(const order_view& v, order_audience audience) {
  return {v.version, v.order.placement.customer_id, to_json(v, audience)};
}
view_facts facts_of(const cart_view& v, order_audience) {
  return {v.version, v.customer_id, to_json(v)};
}
view_facts facts_of(const stock_view& v, order_audience) {
  return {v.version, {}, to_json(v)};
}
view_facts facts_of(const customer_view& v, order_audience) {
  return {v.version, v.customer.customer_id, to_json(v)};
}

std::string code_of(const caf::error& err) {
  switch (errc_of(err)) {
  case mercato_errc::not_found:
    return "not_found";
  case mercato_errc::invalid_request:
    return "invalid_request";
  default:
    return "unavailable";
  }
}

// Who replays a topic's events: the journal, or the customer feed's read model.
event_reader_actor events_of(const ws_env& env, const std::string& kind) {
  if (kind == "customer")
    return env.handles.customer_feed;
  return env.handles.recovery;
}

start_point failure(std::string code, std::string detail) {
  start_point p;
  p.error = std::move(code);
  p.detail = std::move(detail);
  return p;
}

// With the view known: a snapshot, or the journal's events after `last_seq` when the client
// is at most `max_replay` behind (and not ahead, e.g. from before a database restore).
void continue_from(caf::event_based_actor* self, const ws_env& env, const topic_ref& t,
                   view_facts facts, std::optional<uint64_t> last_seq,
                   std::function<void(start_point)> done) {
  auto max_replay = static_cast<uint64_t>(env.handles.cfg.ws.max_replay);
  if (!last_seq || *last_seq > facts.version || facts.version - *last_seq > max_replay) {
    start_point p;
    p.seq = facts.version;
    p.snapshot = std::move(facts.data);
    return done(std::move(p));
  }
  if (*last_seq == facts.version) {
    start_point p;
    p.seq = facts.version;
    return done(std::move(p));
  }
  auto hub = env.handles.hub;
  self
    ->request(events_of(env, t.kind), ask_timeout, atom::read_v, t.kind, t.id, *last_seq,
              facts.version - *last_seq)
    .then(
      [t, hub, facts, last_seq, done](recovery_data& data) mutable {
        start_point p;
        p.seq = facts.version;
        auto seq = *last_seq;
        for (auto& m : data.events) {
          auto f = hub->encode(t.topic, committed_event{t.kind, t.id, ++seq, std::move(m)});
          if (f)
            p.replay.push_back(std::move(f));
        }
        if (seq < facts.version) { // the journal lost what the entity knows: start afresh
          p.replay.clear();
          p.snapshot = std::move(facts.data);
        }
        done(std::move(p));
      },
      [done](caf::error& err) {
        done(failure("unavailable", "cannot replay: " + to_string(err)));
      });
}

// `ask(self)` sends the request for the view.
template <class View, class Ask>
void fetch_view(const ws_env& env, const std::optional<principal>& who, order_audience audience,
                const topic_ref& t, Ask ask, std::optional<uint64_t> last_seq,
                std::function<void(start_point)> done) {
  auto is_admin = who && who->who == role::admin;
  auto sub = who ? who->sub : std::string{};
  // In a cluster, the view is read only once every peer knows this node follows the topic:
  // whatever commits after the read is then forwarded here, wherever the entity lives.
  caf::actor announcer;
  if (env.handles.cluster)
    announcer = env.handles.cluster->announcer();
  env.handles.sys->spawn([env, t, ask = std::move(ask), last_seq, done = std::move(done), is_admin,
                          sub, audience, announcer](caf::event_based_actor* self) mutable {
    auto read = [self, env, t, ask = std::move(ask), last_seq, done = std::move(done), is_admin,
                 sub, audience]() mutable {
      ask(self).then(
        [self, env, t, last_seq, done, is_admin, sub, audience](const View& v) mutable {
          auto facts = facts_of(v, audience);
          if (!facts.owner.empty() && !is_admin && facts.owner != sub)
            return done(failure("forbidden", "this topic belongs to another customer"));
          continue_from(self, env, t, std::move(facts), last_seq, std::move(done));
        },
        [done, t](caf::error& err) {
          auto code = code_of(err);
          done(failure(code, code == "not_found" ? "no " + t.kind + " " + t.id
                                                 : t.kind + " is unavailable; retry"));
        });
    };
    if (!announcer)
      return read();
    // The announcer answers within its peers' 1 s deadline; a failure only costs a gap that
    // the next event reveals and the journal fills.
    self->request(announcer, ask_timeout, atom::get_v, t.topic)
      .then([read](bool) mutable { read(); }, [read](caf::error&) mutable { read(); });
  });
}

// Asks an entity for its view through its region.
auto via_region(const caf::actor& region, const std::string& id, caf::message get) {
  return [region, id, get = std::move(get)](caf::event_based_actor* self) {
    return self->request(region, ask_timeout, atom::route_v, id, get);
  };
}

// admin:cluster starts from the feed's current description; a client that already has it
// (`last_seq` equal to its seq) gets nothing more, any other a snapshot, since each event is
// whole.
void fetch_admin(const ws_env& env, std::optional<uint64_t> last_seq,
                 std::function<void(start_point)> done) {
  if (!env.handles.admin_feed)
    return done(failure("not_found", "this node does not serve admin:cluster"));
  env.handles.sys->spawn([feed = env.handles.admin_feed, last_seq,
                          done = std::move(done)](caf::event_based_actor* self) {
    self->request(feed, ask_timeout, atom::get_v)
      .then(
        [done, last_seq](uint64_t seq, std::string& data) {
          start_point p;
          p.seq = seq;
          if (last_seq != seq)
            p.snapshot = std::move(data);
          done(std::move(p));
        },
        [done](caf::error&) {
          done(failure("unavailable", "the cluster cannot be described now; retry"));
        });
  });
}

} // namespace

bool parse_topic(std::string_view text, topic_ref& out, std::string& error, std::string& detail) {
  auto colon = text.find(':');
  if (text.size() > 256 || colon == std::string_view::npos) {
    error = "invalid_request";
    detail = "topic must be kind:id (order, customer, stock, cart) or admin:cluster";
    return false;
  }
  auto kind = text.substr(0, colon);
  auto id = text.substr(colon + 1);
  if (kind == "admin") {
    if (text != admin_cluster_topic) {
      error = "not_found";
      detail = "the admin topic is admin:cluster";
      return false;
    }
    out.topic.assign(text);
    out.kind.assign(kind);
    out.id.assign(id);
    return true;
  }
  bool valid_id = kind == "stock" ? is_valid_sku(id) : is_valid_entity_id(id);
  if (kind != "order" && kind != "stock" && kind != "cart" && kind != "customer") {
    error = "invalid_request";
    detail = "unknown topic kind '" + std::string{kind.substr(0, 32)} + "'";
    return false;
  }
  if (!valid_id) {
    error = "invalid_request";
    detail = "malformed id in topic";
    return false;
  }
  out.topic.assign(text);
  out.kind.assign(kind);
  out.id.assign(id);
  return true;
}

bool may_subscribe(const std::optional<principal>& who, const std::string& kind) {
  if (kind == "stock")
    return true; // public availability
  if (!who)
    return false;
  if (kind == "admin")
    return who->who == role::admin;
  if (kind == "cart" || kind == "customer")
    return who->who != role::service;
  return true; // orders: their customer, service (partners), admin
}

void fetch_start(const ws_env& env, const std::optional<principal>& who, const topic_ref& t,
                 std::optional<uint64_t> last_seq, std::function<void(start_point)> done) {
  if (who && who->is_scoped() && (t.kind != "order" || t.id != who->order_scope))
    return done(failure("forbidden", "a tracking token only reads its own order"));
  if (t.kind == "admin")
    return fetch_admin(env, last_seq, std::move(done));
  // The entity sees an admin caller: the ownership check is ours, so that another customer's
  // topic is answered `forbidden` (API.md) rather than REST's `not_found`.
  caller as_admin{who ? who->sub : std::string{}, true, {}};
  auto reader = who;
  // A partner's snapshot leaves out personal data, as REST does. Its events need no such care:
  // order event frames carry none (frames.hpp), and replays render them like live ones.
  auto audience = order_audience::full;
  if (t.kind == "order") {
    if (who && who->who == role::service) {
      reader = principal{who->sub, role::admin}; // partners follow the orders they post to
      audience = order_audience::partner;
    }
    fetch_view<order_view>(
      env, reader, audience, t,
      via_region(env.handles.order_region, t.id, caf::make_message(atom::get_v, as_admin)),
      last_seq, std::move(done));
  } else if (t.kind == "customer") {
    // Whose feed it is is checked here (view_facts.owner): the feed itself serves any id.
    auto ask = [feed = env.handles.customer_feed, id = t.id](caf::event_based_actor* self) {
      return self->request(feed, ask_timeout, atom::get_v, id);
    };
    fetch_view<customer_view>(env, reader, audience, t, ask, last_seq, std::move(done));
  } else if (t.kind == "cart") {
    fetch_view<cart_view>(
      env, reader, audience, t,
      via_region(env.handles.cart_region, t.id, caf::make_message(atom::get_v, as_admin)), last_seq,
      std::move(done));
  } else {
    fetch_view<stock_view>(
      env, reader, audience, t,
      via_region(env.handles.stock_region, t.id, caf::make_message(atom::get_v)), last_seq,
      std::move(done));
  }
}

void fetch_range(const ws_env& env, const topic_ref& t, uint64_t after, uint64_t upto,
                 std::function<void(bool, std::vector<runtime::frame_ptr>)> done) {
  if (t.kind == "admin") // nothing to replay: the next event carries the whole description
    return done(false, {});
  auto hub = env.handles.hub;
  env.handles.sys->spawn([events = events_of(env, t.kind), hub, t, after, upto,
                          done = std::move(done)](caf::event_based_actor* self) {
    self->request(events, ask_timeout, atom::read_v, t.kind, t.id, after, upto - after)
      .then(
        [hub, t, after, done](recovery_data& data) {
          std::vector<runtime::frame_ptr> frames;
          auto seq = after;
          for (auto& m : data.events)
            if (auto f = hub->encode(t.topic, committed_event{t.kind, t.id, ++seq, std::move(m)}))
              frames.push_back(std::move(f));
          done(true, std::move(frames));
        },
        [done](caf::error&) { done(false, {}); });
  });
}

} // namespace mercato::api::ws
