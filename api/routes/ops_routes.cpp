// Operational routes: liveness, readiness, metrics, the OpenAPI document.

#include "actors/protocol/interfaces.hpp"
#include "api/json/openapi.hpp"
#include "api/json/problem.hpp"
#include "api/routes/common.hpp"
#include "runtime/cluster/cluster_state.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

namespace mercato::api {

void add_ops_routes(router& r, const std::shared_ptr<const route_env>& env) {
  // GET /healthz: the process is up and its I/O threads answer.
  r.add(http_method::get, "/healthz", [](const request&, const responder& reply) {
    reply(json_response(200, R"({"status":"ok"})"));
  });

  // GET /v1/ws without an upgrade (upgrades are taken over before routing: api/ws).
  r.add(http_method::get, "/v1/ws", [](const request&, const responder& reply) {
    auto res = problem_response(426, "invalid_request", "GET /v1/ws needs a WebSocket upgrade");
    res.extra_headers = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
    reply(std::move(res));
  });

  // GET /readyz: the product store (hence the database) answers a ping in time and, in a
  // cluster, this node is an up member whose lease is current.
  r.add(http_method::get, "/readyz", [env](const request&, const responder& reply) {
    if (const auto& cl = env->handles.cluster; cl && !(cl->is_up() && cl->lease_valid())) {
      auto res = problem_response(503, "unavailable",
                                  cl->is_up() ? "this node lost contact with the cluster"
                                              : "this node is joining the cluster");
      res.retry_after_s = 1;
      return reply(std::move(res));
    }
    env->handles.sys->spawn([products = env->handles.products, timeout = env->ready_timeout,
                             reply](caf::event_based_actor* self) {
      auto not_ready = [reply](std::string detail) {
        auto res = problem_response(503, "unavailable", std::move(detail));
        res.retry_after_s = 1;
        reply(std::move(res));
      };
      self->request(products, timeout, atom::ping_v)
        .then(
          [reply, not_ready](bool ok) {
            if (ok)
              reply(json_response(200, R"({"status":"ready"})"));
            else
              not_ready("the database is not reachable");
          },
          [not_ready](const caf::error&) {
            not_ready("the database did not answer the readiness check in time");
          });
    });
  });

  // GET /metrics: Prometheus text format 0.0.4.
  r.add(http_method::get, "/metrics", [env](const request&, const responder& reply) {
    response res;
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    if (env->handles.metrics != nullptr)
      res.body = env->handles.metrics->render();
    reply(std::move(res));
  });

  // GET /openapi.json
  r.add(http_method::get, "/openapi.json", [](const request&, const responder& reply) {
    reply(json_response(200, std::string{openapi_document()}));
  });
}

} // namespace mercato::api
