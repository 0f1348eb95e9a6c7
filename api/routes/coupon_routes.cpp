// Coupon routes (admin): define and read the terms and usage of a code.

#include "actors/protocol/interfaces.hpp"
#include "api/json/commerce_codec.hpp"
#include "api/routes/ask.hpp"

namespace mercato::api {

void add_coupon_routes(router& r, const std::shared_ptr<const route_env>& env) {
  // PUT /v1/coupons/{code} -> 201 when new, else 200
  r.add(http_method::put, "/v1/coupons/{code}", [env](const request& req, const responder& reply) {
    if (!authorize(*env, req, reply, allow_admin))
      return;
    coupon_terms terms;
    if (auto v = parse_coupon(req.body, req.params.get("code"), terms); !v.ok())
      return reply(v.to_response());
    auto code = terms.code;
    ask_entity<coupon_view>(
      *env, env->handles.coupon_region, std::move(code), req, reply,
      [](const coupon_view& v) {
        auto res = json_response(v.version == 1 ? 201 : 200, to_json(v));
        if (v.version == 1)
          res.location = "/v1/coupons/" + v.terms.code;
        return res;
      },
      atom::put_v, terms);
  });

  // GET /v1/coupons/{code}
  r.add(http_method::get, "/v1/coupons/{code}", [env](const request& req, const responder& reply) {
    if (!authorize(*env, req, reply, allow_admin))
      return;
    std::string code;
    if (!id_param(req, reply, "code", code))
      return;
    ask_entity<coupon_view>(
      *env, env->handles.coupon_region, std::move(code), req, reply,
      [](const coupon_view& v) { return json_response(200, to_json(v)); }, atom::get_v);
  });
}

} // namespace mercato::api
