// Admin routes over live actors: the node, the entities of every shard region, one entity's
// state, passivation, and the dead letters. Admin role only. Reads never spawn an entity.

#include "actors/protocol/errors.hpp"
#include "actors/protocol/interfaces.hpp"
#include "api/json/codec.hpp"
#include "api/json/fields.hpp"
#include "api/json/problem.hpp"
#include "api/routes/cluster_view.hpp"
#include "api/routes/common.hpp"
#include "runtime/circuit_breaker.hpp"
#include "runtime/logging.hpp"
#include "runtime/shard_region.hpp"
#include "runtime/util/cursor.hpp"
#include "runtime/util/time.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <memory>
#include <optional>
#include <utility>

namespace mercato::api {

namespace {

using json = nlohmann::json;

// An entity that does not answer an inspection within this time is reported busy (503).
constexpr auto inspect_timeout = std::chrono::milliseconds{2000};

constexpr int32_t default_actor_page = 100;
constexpr int32_t max_actor_page = 1000;
constexpr int32_t default_dead_letter_page = 50;
constexpr int32_t max_dead_letter_page = 500;

bool is_known_kind(std::string_view kind) {
  for (auto k : known_kinds)
    if (k == kind)
      return true;
  return false;
}

// -- cursors: base64url (runtime/util/cursor.hpp) of "kind/key" ------------------------------

struct actor_cursor {
  std::string kind;
  std::string key;
};

bool decode_actor_cursor(std::string_view text, actor_cursor& out) {
  std::string raw;
  if (!util::decode_cursor(std::string{text}, raw))
    return false;
  auto slash = raw.find('/');
  if (slash == std::string::npos)
    return false;
  out.kind = raw.substr(0, slash);
  out.key = raw.substr(slash + 1);
  return is_known_kind(out.kind) && !out.key.empty();
}

// -- query strings ------------------------------------------------------------------------------

void parse_limit(const std::string& value, int32_t max, int32_t& out, validation& v) {
  int32_t n = 0;
  auto res = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || res.ec != std::errc{} || res.ptr != value.data() + value.size() || n < 1
      || n > max)
    v.add("limit", "must be an integer from 1 to " + std::to_string(max));
  else
    out = n;
}

struct actors_query {
  std::string kind; ///< empty: every kind
  std::string node; ///< empty: this node
  int32_t limit = default_actor_page;
  std::optional<actor_cursor> cursor;
};

validation parse_actors_query(std::string_view query, actors_query& out) {
  validation v;
  detail::for_each_query_param(query, v, [&](const std::string& key, const std::string& value) {
    if (key == "kind") {
      if (!is_known_kind(value))
        v.add("kind", "must be one of cart, checkout, coupon, customer, order, payment, stock");
      else
        out.kind = value;
    } else if (key == "node") {
      if (value.size() > 256)
        v.add("node", "must be a node id of at most 256 characters");
      else
        out.node = value;
    } else if (key == "limit") {
      parse_limit(value, max_actor_page, out.limit, v);
    } else if (key == "cursor") {
      actor_cursor c;
      if (value.size() > limits::max_cursor || !decode_actor_cursor(value, c))
        v.add("cursor", "is not a cursor returned by this API");
      else
        out.cursor = std::move(c);
    }
  });
  if (v.ok() && out.cursor && !out.kind.empty() && out.cursor->kind != out.kind)
    v.add("cursor", "belongs to another kind filter");
  return v;
}

validation parse_dead_letter_query(std::string_view query, dead_letter_query& out) {
  validation v;
  out.limit = default_dead_letter_page;
  detail::for_each_query_param(query, v, [&](const std::string& key, const std::string& value) {
    if (key == "kind") {
      if (value != "webhook" && value != "notification" && value != "message")
        v.add("kind", "must be one of webhook, notification, message");
      else
        out.kind = value;
    } else if (key == "limit") {
      parse_limit(value, max_dead_letter_page, out.limit, v);
    } else if (key == "cursor") {
      if (value.size() > limits::max_cursor || value.empty())
        v.add("cursor", "is not a cursor returned by this API");
      else
        out.cursor = value;
    }
  });
  return v;
}

// -- path parameters ----------------------------------------------------------------------------

// Reads {kind} and {key}: an unknown kind or a malformed key is a 400.
bool entity_params(const request& req, const responder& reply, std::string& kind,
                   std::string& key) {
  validation v;
  auto k = req.params.get("kind");
  auto id = req.params.get("key");
  if (!is_known_kind(k))
    v.add("kind", "must be one of cart, checkout, coupon, customer, order, payment, stock");
  else if (k == "stock" ? !is_valid_sku(id) : !is_valid_reservation_id(id))
    v.add("key", k == "stock" ? "must be 1 to 64 characters of [A-Za-z0-9._-]"
                              : "must be 1 to 128 characters of [A-Za-z0-9._:-]");
  if (!v.ok()) {
    reply(v.to_response());
    return false;
  }
  kind.assign(k);
  key.assign(id);
  return true;
}

// -- bodies -------------------------------------------------------------------------------------

json to_json(const entity_info& x, const std::string& node) {
  json out = {{"kind", x.kind},     {"key", x.key},           {"node", node},
              {"status", x.status}, {"restarts", x.restarts}, {"idle_ms", x.idle_ms}};
  out["mailbox"] = x.mailbox >= 0 ? json(x.mailbox) : json(nullptr);
  return out;
}

json to_json(const dead_letter& x) {
  auto text_or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  json out = {{"id", x.id},
              {"kind", x.kind},
              {"target", x.target},
              {"aggregate_type", text_or_null(x.aggregate_type)},
              {"aggregate_id", text_or_null(x.aggregate_id)},
              {"event_id", text_or_null(x.event_id)},
              {"last_error", x.last_error},
              {"attempts", x.attempts},
              {"first_failed_at", util::format_rfc3339_ms(x.first_failed_at_ms)},
              {"dead_at", util::format_rfc3339_ms(x.dead_at_ms)}};
  // jsonb text from PostgreSQL is valid JSON; anything else is shown as a string.
  out["payload"] = json::parse(x.payload, nullptr, false);
  if (out["payload"].is_discarded())
    out["payload"] = x.payload;
  out["retries"] = x.retries;
  out["resolved_at"]
    = x.resolved_at_ms != 0 ? json(util::format_rfc3339_ms(x.resolved_at_ms)) : json(nullptr);
  return out;
}

// -- retry of a dead letter ----------------------------------------------------------------------

using retry_outcome = std::function<void(caf::error)>;

// A text member of a letter's payload ("" when absent).
std::string payload_text(const dead_letter& x, const char* key) {
  auto j = json::parse(x.payload, nullptr, false);
  if (!j.is_object() || !j.contains(key) || !j[key].is_string())
    return {};
  return j[key].get<std::string>();
}

// Sends `x` again the way its kind goes: a webhook to its endpoint, a notification's delivery
// back to its queue, a checkout's owed compensation as one more round. `done` gets no error
// once it went.
void send_again(caf::event_based_actor* self, const runtime::node_handles& h, const dead_letter& x,
                std::chrono::milliseconds timeout, retry_outcome done) {
  auto fail = [done](caf::error& err) { done(std::move(err)); };
  if (x.kind == "webhook") {
    if (!h.webhooks)
      return done(caf::make_error(mercato_errc::conflict, "this node sends no webhooks"));
    self->request(h.webhooks, timeout, atom::publish_v, x).then([done](bool) { done({}); }, fail);
  } else if (x.kind == "notification") {
    auto delivery = payload_text(x, "notification_id");
    if (delivery.empty() || !h.notifications)
      return done(caf::make_error(mercato_errc::conflict, "the letter names no delivery"));
    self->request(h.notifications, timeout, atom::retry_v, delivery)
      .then([done](const notification_record&) { done({}); }, fail);
  } else if (x.kind == "message" && x.aggregate_type == "checkout") {
    auto attempt = payload_text(x, "compensation_of");
    if (attempt.empty())
      return done(caf::make_error(mercato_errc::conflict, "the letter names no attempt"));
    runtime::request_entity(self, h.checkout_region, x.aggregate_id, timeout, atom::retry_v,
                            attempt)
      .then(
        [done](const std::vector<std::string>& owed) {
          if (owed.empty())
            return done({});
          std::string still;
          for (const auto& o : owed)
            still += (still.empty() ? "" : ", ") + o;
          done(caf::make_error(mercato_errc::entity_unavailable,
                               "the compensation still owes " + still));
        },
        fail);
  } else {
    done(caf::make_error(mercato_errc::conflict, "a " + x.kind + " letter cannot be sent again"));
  }
}

// POST /v1/admin/dead-letters/{id}/retry: the letter goes again, and its outcome is recorded on
// it (resolved, or one more failed retry with the reason). A resolved letter is not sent again.
void retry_dead_letter(const route_env& env, std::string id, const request& req,
                       const responder& reply) {
  env.handles.sys->spawn([h = env.handles, id = std::move(id), timeout = env.timeout, reply,
                          rid = std::string{req.request_id}](caf::event_based_actor* self) {
    self->request(h.dead_letters, timeout, atom::get_v, id)
      .then(
        [self, h, timeout, reply, rid](const dead_letter& x) {
          if (x.resolved_at_ms != 0)
            return reply(problem_response(409, "conflict",
                                          "dead letter " + x.id + " was resolved at "
                                            + util::format_rfc3339_ms(x.resolved_at_ms)));
          send_again(self, h, x, timeout,
                     [self, h, timeout, reply, rid, id = x.id](caf::error err) {
                       auto error = err ? detail_of(err) : std::string{};
                       if (err && error.empty())
                         error = render(err);
                       self->request(h.dead_letters, timeout, atom::confirm_v, id, error)
                         .then(
                           [reply, rid, err](const dead_letter& now) {
                             if (err)
                               return reply(error_response(err, rid));
                             reply(json_response(200, to_json(now).dump()));
                           },
                           [reply, rid](const caf::error& e) { reply(error_response(e, rid)); });
                     });
        },
        [reply, rid](const caf::error& err) { reply(error_response(err, rid)); });
  });
}

// -- GET /v1/admin/actors: walk the kinds in order, one region request at a time -------------

struct listing {
  /// (kind, region) still to visit; for another node's entities, (kind, that node's gateway).
  std::vector<std::pair<std::string, caf::actor>> regions;
  bool remote = false;
  size_t next = 0;
  std::string after; ///< key to start after, in regions[next] only
  int32_t limit = 0;
  std::vector<entity_info> items;
  bool more = false;
  std::string node;
  std::chrono::milliseconds timeout{5000};
  responder reply;
  std::string request_id;
};

void answer_listing(const listing& l) {
  json items = json::array();
  for (const auto& x : l.items)
    items.push_back(to_json(x, l.node));
  json out = {{"items", std::move(items)}, {"next_cursor", nullptr}};
  if (l.more && !l.items.empty())
    out["next_cursor"] = util::encode_cursor(l.items.back().kind + "/" + l.items.back().key);
  l.reply(json_response(200, out.dump()));
}

void list_step(caf::event_based_actor* self, std::shared_ptr<listing> l) {
  if (l->next >= l->regions.size() || l->more)
    return answer_listing(*l);
  auto want = l->limit - static_cast<int32_t>(l->items.size());
  // A full page only asks whether the remaining regions hold anything (limit 0 counts).
  auto [kind, region] = l->regions[l->next];
  auto after = std::exchange(l->after, std::string{});
  auto ask = l->remote ? caf::make_message(atom::list_v, kind, after, std::max(want, 0))
                       : caf::make_message(atom::list_v, after, std::max(want, 0));
  self->request(region, l->timeout, std::move(ask))
    .then(
      [self, l](entity_page& page) {
        if (static_cast<int32_t>(l->items.size()) >= l->limit) {
          l->more = !page.items.empty() || page.more;
        } else {
          for (auto& x : page.items)
            l->items.push_back(std::move(x));
          l->more = page.more;
        }
        ++l->next;
        list_step(self, l);
      },
      [l](const caf::error& err) { l->reply(error_response(err, l->request_id)); });
}

} // namespace

void add_admin_routes(router& r, const std::shared_ptr<const route_env>& env) {
  // GET /v1/admin/circuits
  r.add(http_method::get, "/v1/admin/circuits", [env](const request& req, const responder& reply) {
    if (!authorize(*env, req, reply, allow_admin))
      return;
    json items = json::array();
    if (env->handles.circuits)
      for (const auto& c : env->handles.circuits->describe())
        items.push_back({{"name", c.name},
                         {"state", runtime::to_string(c.status)},
                         {"consecutive_failures", c.consecutive_failures},
                         {"retry_after_ms", c.retry_after_ms},
                         {"rejected", c.rejected}});
    reply(json_response(200, json{{"items", std::move(items)}}.dump()));
  });
  // GET /v1/admin/cluster
  r.add(http_method::get, "/v1/admin/cluster", [env](const request& req, const responder& reply) {
    if (!authorize(*env, req, reply, allow_admin))
      return;
    env->handles.sys->spawn(
      [env, reply, rid = std::string{req.request_id}](caf::event_based_actor* self) {
        describe_cluster(self, env->handles, env->timeout,
                         [reply, rid](caf::expected<std::string> body) {
                           if (body)
                             reply(json_response(200, std::move(*body)));
                           else
                             reply(error_response(body.error(), rid));
                         });
      });
  });

  // GET /v1/admin/actors?kind=&node=&limit=&cursor=
  r.add(http_method::get, "/v1/admin/actors", [env](const request& req, const responder& reply) {
    if (!authorize(*env, req, reply, allow_admin))
      return;
    actors_query q;
    if (auto v = parse_actors_query(req.query, q); !v.ok())
      return reply(v.to_response());
    auto l = std::make_shared<listing>();
    l->node = node_id_of(env->handles);
    l->limit = q.limit;
    l->timeout = env->timeout;
    l->reply = reply;
    l->request_id = std::string{req.request_id};
    // Another member's entities: asked of its gateway, kind by kind. A node that is not an up
    // member has no live entities.
    caf::actor remote;
    if (!q.node.empty() && q.node != l->node) {
      auto gw = member_gateway(env->handles, q.node);
      if (!gw)
        return reply(error_response(gw.error(), l->request_id));
      if (!*gw)
        return answer_listing(*l);
      remote = *gw;
      l->node = q.node;
      l->remote = true;
    }
    for (auto kind : known_kinds) {
      if (!q.kind.empty() && kind != q.kind)
        continue;
      if (q.cursor && kind < q.cursor->kind)
        continue;
      if (auto region = remote ? remote : region_of(env->handles, kind))
        l->regions.emplace_back(std::string{kind}, region);
    }
    if (q.cursor && !l->regions.empty() && l->regions.front().first == q.cursor->kind)
      l->after = q.cursor->key;
    if (l->regions.empty())
      return answer_listing(*l);
    env->handles.sys->spawn([l](caf::event_based_actor* self) { list_step(self, l); });
  });

  // GET /v1/admin/actors/{kind}/{key}: the live entity's own account of itself.
  r.add(
    http_method::get, "/v1/admin/actors/{kind}/{key}",
    [env](const request& req, const responder& reply) {
      if (!authorize(*env, req, reply, allow_admin))
        return;
      std::string kind;
      std::string key;
      if (!entity_params(req, reply, kind, key))
        return;
      auto region = region_of(env->handles, kind);
      if (!region)
        return reply(problem_response(404, "not_found", kind + " " + key + " is not live"));
      env->handles.sys->spawn([region, kind, key, node = node_id_of(env->handles), reply,
                               rid = std::string{req.request_id}](caf::event_based_actor* self) {
        self->request(region, inspect_timeout, atom::inspect_v, key)
          .then(
            [kind, key, node, reply, rid](const std::string& text) {
              auto body = json::parse(text, nullptr, false);
              if (!body.is_object()) {
                runtime::logger("api")->error(
                  "request {}: {} {} answers its inspection with no JSON object", rid, kind, key);
                return reply(problem_response(500, "internal", "internal error"));
              }
              body["kind"] = kind;
              body["key"] = key;
              body["node"] = node;
              reply(json_response(200, body.dump()));
            },
            [kind, key, reply, rid](const caf::error& err) {
              if (err == caf::sec::request_timeout) {
                auto res = problem_response(503, "unavailable",
                                            kind + " " + key
                                              + " is busy and did not answer in time; retry");
                res.retry_after_s = 1;
                return reply(std::move(res));
              }
              reply(error_response(err, rid));
            });
      });
    });

  // POST /v1/admin/actors/{kind}/{key}/passivate -> 202; the entity may still decline to stop
  // (a stock item with active holds keeps running: it owns their timers).
  r.add(http_method::post, "/v1/admin/actors/{kind}/{key}/passivate",
        [env](const request& req, const responder& reply) {
          if (!authorize(*env, req, reply, allow_admin))
            return;
          std::string kind;
          std::string key;
          if (!entity_params(req, reply, kind, key))
            return;
          auto region = region_of(env->handles, kind);
          if (!region)
            return reply(problem_response(404, "not_found", kind + " " + key + " is not live"));
          runtime::logger("api")->info("request {} passivates {} {}", req.request_id, kind, key);
          env->handles.sys->spawn(
            [region, kind, key, reply, timeout = env->timeout,
             rid = std::string{req.request_id}](caf::event_based_actor* self) {
              self->request(region, timeout, atom::passivate_v, key)
                .then(
                  [kind, key, reply](bool asked) {
                    if (!asked)
                      return reply(problem_response(
                        409, "conflict", kind + " " + key + " is restarting; passivate it later"));
                    json out = {{"kind", kind}, {"key", key}, {"status", "stopping"}};
                    reply(json_response(202, out.dump()));
                  },
                  [reply, rid](const caf::error& err) { reply(error_response(err, rid)); });
            });
        });

  // POST /v1/admin/dead-letters/{id}/retry
  r.add(http_method::post, "/v1/admin/dead-letters/{id}/retry",
        [env](const request& req, const responder& reply) {
          if (!authorize(*env, req, reply, allow_admin))
            return;
          if (!env->handles.dead_letters)
            return reply(problem_response(503, "unavailable", "no dead-letter store"));
          retry_dead_letter(*env, std::string{req.params.get("id")}, req, reply);
        });

  // GET /v1/admin/dead-letters?kind=&limit=&cursor=
  r.add(http_method::get, "/v1/admin/dead-letters",
        [env](const request& req, const responder& reply) {
          if (!authorize(*env, req, reply, allow_admin))
            return;
          dead_letter_query q;
          if (auto v = parse_dead_letter_query(req.query, q); !v.ok())
            return reply(v.to_response());
          if (!env->handles.dead_letters)
            return reply(problem_response(503, "unavailable", "no dead-letter store"));
          env->handles.sys->spawn(
            [store = env->handles.dead_letters, q = std::move(q), timeout = env->timeout, reply,
             rid = std::string{req.request_id}](caf::event_based_actor* self) {
              self->request(store, timeout, atom::list_v, q)
                .then(
                  [reply](const dead_letter_page& page) {
                    json items = json::array();
                    for (const auto& x : page.items)
                      items.push_back(to_json(x));
                    json out = {{"items", std::move(items)}, {"next_cursor", nullptr}};
                    if (!page.next_cursor.empty())
                      out["next_cursor"] = page.next_cursor;
                    reply(json_response(200, out.dump()));
                  },
                  [reply, rid](const caf::error& err) { reply(error_response(err, rid)); });
            });
        });
}

} // namespace mercato::api
