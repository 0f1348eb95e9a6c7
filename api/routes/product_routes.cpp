// Catalogue routes: plain requests to the product store port through one-shot actors.

#include "actors/protocol/interfaces.hpp"
#include "api/json/codec.hpp"
#include "api/json/problem.hpp"
#include "api/routes/common.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

namespace mercato::api {

void add_product_routes(router& r, const std::shared_ptr<const route_env>& env) {
  // GET /v1/products?q=&category=&limit=&cursor= (public)
  r.add(http_method::get, "/v1/products", [env](const request& req, const responder& reply) {
    product_query query;
    if (auto v = parse_product_query(req.query, query); !v.ok())
      return reply(v.to_response());
    env->handles.sys->spawn([products = env->handles.products, query = std::move(query),
                             timeout = env->timeout, reply,
                             rid = std::string{req.request_id}](caf::event_based_actor* self) {
      self->request(products, timeout, atom::search_v, query)
        .then([reply](const product_page& page) { reply(json_response(200, to_json(page))); },
              [reply, rid](const caf::error& err) { reply(error_response(err, rid)); });
    });
  });

  // GET /v1/products/{sku} (public)
  r.add(http_method::get, "/v1/products/{sku}", [env](const request& req, const responder& reply) {
    std::string sku;
    if (!sku_param(req, reply, sku))
      return;
    env->handles.sys->spawn([products = env->handles.products, sku = std::move(sku),
                             timeout = env->timeout, reply,
                             rid = std::string{req.request_id}](caf::event_based_actor* self) {
      self->request(products, timeout, atom::get_v, sku)
        .then([reply](const product& p) { reply(json_response(200, to_json(p))); },
              [reply, rid](const caf::error& err) { reply(error_response(err, rid)); });
    });
  });

  // PUT /v1/products/{sku} (admin) -> 201 created (with Location) or 200 replaced
  r.add(http_method::put, "/v1/products/{sku}", [env](const request& req, const responder& reply) {
    if (!authorize(*env, req, reply, allow_admin))
      return;
    std::string sku;
    if (!sku_param(req, reply, sku))
      return;
    product item;
    if (auto v = parse_product(req.body, sku, item); !v.ok())
      return reply(v.to_response());
    env->handles.sys->spawn([products = env->handles.products, item = std::move(item),
                             timeout = env->timeout, reply,
                             rid = std::string{req.request_id}](caf::event_based_actor* self) {
      self->request(products, timeout, atom::put_v, item)
        .then(
          [reply](const product_put_result& res) {
            auto out = json_response(res.created ? 201 : 200, to_json(res.item));
            if (res.created)
              out.location = "/v1/products/" + res.item.sku;
            reply(std::move(out));
          },
          [reply, rid](const caf::error& err) { reply(error_response(err, rid)); });
    });
  });
}

} // namespace mercato::api
