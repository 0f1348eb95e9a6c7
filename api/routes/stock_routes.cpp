// Stock routes: each request becomes a one-shot actor that asks the stock region (or the product
// store) and hands the answer back through the responder; no I/O thread ever waits.

#include "actors/protocol/interfaces.hpp"
#include "api/json/codec.hpp"
#include "api/json/problem.hpp"
#include "api/routes/common.hpp"
#include "runtime/shard_region.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include <algorithm>

namespace mercato::api {

namespace {

response stock_response(const stock_view& v) {
  return json_response(200, to_json(v));
}

response reservation_created(const reservation_view& v) {
  auto res = json_response(201, to_json(v));
  res.location.reserve(32 + v.sku.size() + v.reservation_id.size());
  res.location += "/v1/stock/";
  res.location += v.sku;
  res.location += "/reservations/";
  res.location += v.reservation_id;
  return res;
}

response released(const stock_view&) {
  response res;
  res.status = 204;
  return res;
}

// Asks the stock entity `sku` from a one-shot actor, so that no I/O thread waits, and answers with
// `answer` of its reply or with the problem of its error. The connection's timer enforces the
// deadline (session.cpp); a CAF timeout here would wake CAF's clock thread on every request.
// Entities always answer (a failed append fails its requests; a stopping entity's queued
// requests are answered with request_receiver_down), so the one-shot actor always ends.
template <class View, class... Ts>
void ask_stock(const route_env& env, std::string sku, std::string rid, const responder& reply,
               response (*answer)(const View&), Ts... xs) {
  env.handles.sys->spawn([region = env.handles.stock_region, sku = std::move(sku),
                          rid = std::move(rid), reply, answer,
                          ... xs = std::move(xs)](caf::event_based_actor* self) {
    runtime::request_entity(self, region, sku, caf::infinite, xs...)
      .then([reply, answer](const View& v) { reply(answer(v)); },
            [reply, rid](const caf::error& err) { reply(error_response(err, rid)); });
  });
}

// Role, then path, then body, as for every route: a bad token is answered 401/403 before any
// 400 about what the request carries. The command is then stamped with the request id.
template <class Cmd, class Parse>
bool read_command(const route_env& env, const request& req, const responder& reply, uint8_t allowed,
                  std::string& sku, Cmd& cmd, Parse parse) {
  if (!authorize(env, req, reply, allowed) || !sku_param(req, reply, sku))
    return false;
  if (auto v = parse(req.body, cmd); !v.ok()) {
    reply(v.to_response());
    return false;
  }
  cmd.request_id = std::string{req.request_id};
  return true;
}

// Commit and release take the same path parameters and roles; only the message and the answer
// differ.
template <class Atom>
void add_hold_route(router& r, const std::shared_ptr<const route_env>& env, http_method method,
                    std::string_view pattern, Atom op, response (*answer)(const stock_view&)) {
  r.add(method, pattern, [env, op, answer](const request& req, const responder& reply) {
    if (!authorize(*env, req, reply, allow_service | allow_admin))
      return;
    std::string sku;
    hold_cmd cmd;
    if (!sku_param(req, reply, sku) || !reservation_param(req, reply, cmd.reservation_id))
      return;
    cmd.request_id = std::string{req.request_id};
    ask_stock(*env, std::move(sku), std::string{req.request_id}, reply, answer, op, std::move(cmd));
  });
}

} // namespace

void add_stock_routes(router& r, const std::shared_ptr<const route_env>& env) {
  // GET /v1/stock/{sku} (public)
  r.add(http_method::get, "/v1/stock/{sku}", [env](const request& req, const responder& reply) {
    std::string sku;
    if (!sku_param(req, reply, sku))
      return;
    ask_stock(*env, std::move(sku), std::string{req.request_id}, reply, stock_response,
              atom::get_v);
  });

  // PUT /v1/stock/{sku} (admin): the product must exist, then on_hand is set.
  r.add(http_method::put, "/v1/stock/{sku}", [env](const request& req, const responder& reply) {
    std::string sku;
    stock_set_cmd cmd;
    if (!read_command(*env, req, reply, allow_admin, sku, cmd, parse_stock_set))
      return;
    env->handles.sys->spawn([region = env->handles.stock_region, products = env->handles.products,
                             sku = std::move(sku), cmd = std::move(cmd), timeout = env->timeout,
                             reply](caf::event_based_actor* self) {
      self->request(products, timeout, atom::get_v, sku)
        .then(
          [self, region, sku, cmd, timeout, reply](const product&) {
            runtime::request_entity(self, region, sku, timeout, atom::set_v, cmd)
              .then([reply](const stock_view& v) { reply(stock_response(v)); },
                    [reply, rid = cmd.request_id](const caf::error& err) {
                      reply(error_response(err, rid));
                    });
          },
          [reply, rid = cmd.request_id](const caf::error& err) {
            reply(error_response(err, rid));
          });
    });
  });

  // POST /v1/stock/{sku}/adjustments (admin)
  r.add(http_method::post, "/v1/stock/{sku}/adjustments",
        [env](const request& req, const responder& reply) {
          std::string sku;
          stock_adjust_cmd cmd;
          if (!read_command(*env, req, reply, allow_admin, sku, cmd, parse_stock_adjust))
            return;
          ask_stock(*env, std::move(sku), std::string{req.request_id}, reply, stock_response,
                    atom::adjust_v, std::move(cmd));
        });

  // POST /v1/stock/{sku}/reservations (service, admin) -> 201 reservation + Location
  auto max_ttl_s
    = std::clamp<int64_t>(env->handles.cfg.entity.max_hold_ttl_ms / 1000, 1, limits::max_ttl_s);
  r.add(http_method::post, "/v1/stock/{sku}/reservations",
        [env, max_ttl_s](const request& req, const responder& reply) {
          auto parse = [max_ttl_s](std::string_view body, reserve_cmd& out) {
            return parse_reserve(body, out, max_ttl_s);
          };
          std::string sku;
          reserve_cmd cmd;
          if (!read_command(*env, req, reply, allow_service | allow_admin, sku, cmd, parse))
            return;
          ask_stock(*env, std::move(sku), std::string{req.request_id}, reply, reservation_created,
                    atom::reserve_v, std::move(cmd));
        });

  // POST /v1/stock/{sku}/reservations/{id}/commit (service, admin) -> 200 stock
  add_hold_route(r, env, http_method::post, "/v1/stock/{sku}/reservations/{id}/commit",
                 atom::commit_v, stock_response);

  // DELETE /v1/stock/{sku}/reservations/{id} (service, admin) -> 204
  add_hold_route(r, env, http_method::delete_, "/v1/stock/{sku}/reservations/{id}", atom::release_v,
                 released);

  // POST /v1/admin/actors/stock/{sku}/fault (admin; test-only): the fault makes the entity throw,
  // so the request fails by design; any outcome means the fault was delivered.
  if (env->handles.cfg.testing.fault_injection) {
    r.add(
      http_method::post, "/v1/admin/actors/stock/{sku}/fault",
      [env](const request& req, const responder& reply) {
        if (!authorize(*env, req, reply, allow_admin))
          return;
        std::string sku;
        if (!sku_param(req, reply, sku))
          return;
        env->handles.sys->spawn([region = env->handles.stock_region, sku = std::move(sku),
                                 timeout = env->timeout, reply](caf::event_based_actor* self) {
          auto injected = [reply] { reply(json_response(202, R"({"status":"fault injected"})")); };
          runtime::request_entity(self, region, sku, timeout, atom::fault_v)
            .then([injected](bool) { injected(); }, [injected](const caf::error&) { injected(); });
        });
      });
  }
}

} // namespace mercato::api
