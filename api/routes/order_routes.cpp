// Order routes: a customer sees and cancels only their own orders (404 for anyone else's).

#include "actors/protocol/interfaces.hpp"
#include "api/json/commerce_codec.hpp"
#include "api/routes/ask.hpp"

namespace mercato::api {

namespace {

response order_ok(const order_view& v) {
  return json_response(200, to_json(v));
}

} // namespace

void add_order_routes(router& r, const std::shared_ptr<const route_env>& env) {
  // GET /v1/orders?status=&limit=&cursor= : the caller's orders; an admin sees all, or one
  // customer's with customer_id=.
  r.add(http_method::get, "/v1/orders", [env](const request& req, const responder& reply) {
    principal p;
    if (!authorize(*env, req, reply, allow_customer | allow_admin, &p))
      return;
    order_query q;
    if (auto v = parse_order_query(req.query, q); !v.ok())
      return reply(v.to_response());
    if (p.who != role::admin) {
      if (!q.customer_id.empty() && q.customer_id != p.sub)
        return reply(problem_response(403, "forbidden", "customers see only their own orders"));
      q.customer_id = p.sub;
    }
    env->handles.sys->spawn([orders = env->handles.orders, q = std::move(q), reply,
                             rid = std::string{req.request_id}](caf::event_based_actor* self) {
      self->request(orders, caf::infinite, atom::search_v, q)
        .then([reply](const order_page& page) { reply(json_response(200, to_json(page))); },
              [reply, rid](const caf::error& err) { reply(error_response(err, rid)); });
    });
  });

  // GET /v1/orders/{id}
  r.add(http_method::get, "/v1/orders/{id}", [env](const request& req, const responder& reply) {
    principal p;
    std::string id;
    if (!authorize(*env, req, reply, allow_customer | allow_admin, &p)
        || !id_param(req, reply, "id", id))
      return;
    ask_entity<order_view>(*env, env->handles.order_region, std::move(id), req, reply, order_ok,
                           atom::get_v, caller_of(p, req));
  });

  // POST /v1/orders/{id}/cancel {reason?} -> order; 409 once shipped
  r.add(http_method::post, "/v1/orders/{id}/cancel",
        [env](const request& req, const responder& reply) {
          principal p;
          std::string id;
          if (!authorize(*env, req, reply, allow_customer | allow_admin, &p)
              || !id_param(req, reply, "id", id))
            return;
          order_status_cmd cmd;
          cmd.who = caller_of(p, req);
          cmd.status = "cancelled";
          if (auto v = parse_cancel(req.body, cmd.reason); !v.ok())
            return reply(v.to_response());
          ask_entity<order_view>(*env, env->handles.order_region, std::move(id), req, reply,
                                 order_ok, atom::cancel_v, std::move(cmd));
        });
}

} // namespace mercato::api
