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

} // namespace

void add_stock_routes(router& r, const std::shared_ptr<const route_env>& env) {
  // GET /v1/stock/{sku} (public)
  r.add(http_method::get, "/v1/stock/{sku}", [env](const request& req, const responder& reply) {
    std::string sku;
    if (!sku_param(req, reply, sku))
      return;
    env->handles.sys->spawn([region = env->handles.stock_region, sku = std::move(sku),
                             timeout = env->timeout, reply,
                             rid = std::string{req.request_id}](caf::event_based_actor* self) {
      runtime::request_entity(self, region, sku, timeout, atom::get_v)
        .then([reply](const stock_view& v) { reply(stock_response(v)); },
              [reply, rid](const caf::error& err) { reply(error_response(err, rid)); });
    });
  });

  // PUT /v1/stock/{sku} (admin): the product must exist, then on_hand is set.
  r.add(http_method::put, "/v1/stock/{sku}", [env](const request& req, const responder& reply) {
    if (!authorize(*env, req, reply, allow_admin))
      return;
    std::string sku;
    if (!sku_param(req, reply, sku))
      return;
    stock_set_cmd cmd;
    if (auto v = parse_stock_set(req.body, cmd); !v.ok())
      return reply(v.to_response());
    cmd.request_id = std::string{req.request_id};
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
          if (!authorize(*env, req, reply, allow_admin))
            return;
          std::string sku;
          if (!sku_param(req, reply, sku))
            return;
          stock_adjust_cmd cmd;
          if (auto v = parse_stock_adjust(req.body, cmd); !v.ok())
            return reply(v.to_response());
          cmd.request_id = std::string{req.request_id};
          env->handles.sys->spawn([region = env->handles.stock_region, sku = std::move(sku),
                                   cmd = std::move(cmd), timeout = env->timeout,
                                   reply](caf::event_based_actor* self) {
            runtime::request_entity(self, region, sku, timeout, atom::adjust_v, cmd)
              .then([reply](const stock_view& v) { reply(stock_response(v)); },
                    [reply, rid = cmd.request_id](const caf::error& err) {
                      reply(error_response(err, rid));
                    });
          });
        });

  // POST /v1/stock/{sku}/reservations (service, admin) -> 201 reservation + Location
  auto max_ttl_s = std::clamp<int64_t>(env->handles.cfg.entity.max_hold_ttl_ms / 1000, 1,
                                       limits::max_ttl_s);
  r.add(http_method::post, "/v1/stock/{sku}/reservations",
        [env, max_ttl_s](const request& req, const responder& reply) {
          if (!authorize(*env, req, reply, allow_service | allow_admin))
            return;
          std::string sku;
          if (!sku_param(req, reply, sku))
            return;
          reserve_cmd cmd;
          if (auto v = parse_reserve(req.body, cmd, max_ttl_s); !v.ok())
            return reply(v.to_response());
          cmd.request_id = std::string{req.request_id};
          env->handles.sys->spawn([region = env->handles.stock_region, sku = std::move(sku),
                                   cmd = std::move(cmd), timeout = env->timeout,
                                   reply](caf::event_based_actor* self) {
            runtime::request_entity(self, region, sku, timeout, atom::reserve_v, cmd)
              .then(
                [reply](const reservation_view& v) {
                  auto res = json_response(201, to_json(v));
                  res.location.reserve(32 + v.sku.size() + v.reservation_id.size());
                  res.location += "/v1/stock/";
                  res.location += v.sku;
                  res.location += "/reservations/";
                  res.location += v.reservation_id;
                  reply(std::move(res));
                },
                [reply, rid = cmd.request_id](const caf::error& err) {
                  reply(error_response(err, rid));
                });
          });
        });

  // POST /v1/stock/{sku}/reservations/{id}/commit (service, admin) -> 200 stock
  r.add(http_method::post, "/v1/stock/{sku}/reservations/{id}/commit",
        [env](const request& req, const responder& reply) {
          if (!authorize(*env, req, reply, allow_service | allow_admin))
            return;
          std::string sku;
          hold_cmd cmd;
          if (!sku_param(req, reply, sku) || !reservation_param(req, reply, cmd.reservation_id))
            return;
          cmd.request_id = std::string{req.request_id};
          env->handles.sys->spawn([region = env->handles.stock_region, sku = std::move(sku),
                                   cmd = std::move(cmd), timeout = env->timeout,
                                   reply](caf::event_based_actor* self) {
            runtime::request_entity(self, region, sku, timeout, atom::commit_v, cmd)
              .then([reply](const stock_view& v) { reply(stock_response(v)); },
                    [reply, rid = cmd.request_id](const caf::error& err) {
                      reply(error_response(err, rid));
                    });
          });
        });

  // DELETE /v1/stock/{sku}/reservations/{id} (service, admin) -> 204
  r.add(http_method::delete_, "/v1/stock/{sku}/reservations/{id}",
        [env](const request& req, const responder& reply) {
          if (!authorize(*env, req, reply, allow_service | allow_admin))
            return;
          std::string sku;
          hold_cmd cmd;
          if (!sku_param(req, reply, sku) || !reservation_param(req, reply, cmd.reservation_id))
            return;
          cmd.request_id = std::string{req.request_id};
          env->handles.sys->spawn([region = env->handles.stock_region, sku = std::move(sku),
                                   cmd = std::move(cmd), timeout = env->timeout,
                                   reply](caf::event_based_actor* self) {
            runtime::request_entity(self, region, sku, timeout, atom::release_v, cmd)
              .then(
                [reply](const stock_view&) {
                  response res;
                  res.status = 204;
                  reply(std::move(res));
                },
                [reply, rid = cmd.request_id](const caf::error& err) {
                  reply(error_response(err, rid));
                });
          });
        });

  // POST /v1/admin/actors/stock/{sku}/fault (admin; test-only): the fault makes the entity throw,
  // so the request fails by design; any outcome means the fault was delivered.
  if (env->handles.cfg.testing.fault_injection) {
    r.add(http_method::post, "/v1/admin/actors/stock/{sku}/fault",
          [env](const request& req, const responder& reply) {
            if (!authorize(*env, req, reply, allow_admin))
              return;
            std::string sku;
            if (!sku_param(req, reply, sku))
              return;
            env->handles.sys->spawn([region = env->handles.stock_region, sku = std::move(sku),
                                     timeout = env->timeout,
                                     reply](caf::event_based_actor* self) {
              auto injected = [reply] {
                reply(json_response(202, R"({"status":"fault injected"})"));
              };
              runtime::request_entity(self, region, sku, timeout, atom::fault_v)
                .then([injected](bool) { injected(); },
                      [injected](const caf::error&) { injected(); });
            });
          });
  }
}

} // namespace mercato::api
