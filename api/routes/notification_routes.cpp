// Notification routes: a customer's preferences and inbox (the customer's own token or an
// admin's), and the admin's delivery log with its retry. Plain requests to the notification
// store port through one-shot actors.

#include "actors/protocol/interfaces.hpp"
#include "api/json/notification_codec.hpp"
#include "api/json/problem.hpp"
#include "api/routes/ask.hpp"
#include "runtime/logging.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

namespace mercato::api {

namespace {

// The customer in the path, if the caller may act for them (403 otherwise).
bool customer_param(const route_env& env, const request& req, const responder& reply,
                    std::string& id) {
  principal p;
  if (!authorize(env, req, reply, allow_customer | allow_admin, &p)
      || !id_param(req, reply, "id", id))
    return false;
  if (p.who != role::admin && p.sub != id) {
    reply(problem_response(403, "forbidden", "customers see and change only their own"));
    return false;
  }
  return true;
}

// Asks the notification store and answers `status` with the JSON of the reply.
template <class Result, class... Ts>
void ask_store(const route_env& env, const request& req, const responder& reply, int status,
               Ts... xs) {
  env.handles.sys->spawn([store = env.handles.notifications, timeout = env.timeout, reply, status,
                          rid = std::string{req.request_id}, xs...](caf::event_based_actor* self) {
    self->request(store, timeout, xs...)
      .then([reply, status](const Result& r) { reply(json_response(status, to_json(r))); },
            [reply, rid](const caf::error& err) { reply(error_response(err, rid)); });
  });
}

} // namespace

void add_notification_routes(router& r, const std::shared_ptr<const route_env>& env) {
  // PUT /v1/customers/{id}/preferences: replaces them whole.
  r.add(http_method::put, "/v1/customers/{id}/preferences",
        [env](const request& req, const responder& reply) {
          std::string id;
          if (!customer_param(*env, req, reply, id))
            return;
          notification_preferences prefs;
          if (auto v = parse_preferences(req.body, id, prefs); !v.ok())
            return reply(v.to_response());
          runtime::logger("api")->info("request {} sets the notification preferences of {}",
                                       req.request_id, id);
          ask_store<notification_preferences>(*env, req, reply, 200, atom::put_v, std::move(prefs));
        });

  // GET /v1/customers/{id}/preferences: the defaults (version 0) until set.
  r.add(http_method::get, "/v1/customers/{id}/preferences",
        [env](const request& req, const responder& reply) {
          std::string id;
          if (!customer_param(*env, req, reply, id))
            return;
          ask_store<notification_preferences>(*env, req, reply, 200, atom::get_v, std::move(id));
        });

  // GET /v1/customers/{id}/notifications?status=&limit=&cursor=: the inbox (channel in_app)
  // and the delivery status of every other message, newest first.
  r.add(http_method::get, "/v1/customers/{id}/notifications",
        [env](const request& req, const responder& reply) {
          std::string id;
          if (!customer_param(*env, req, reply, id))
            return;
          notification_query q;
          if (auto v = parse_notification_query(req.query, q); !v.ok())
            return reply(v.to_response());
          q.customer_id = std::move(id);
          ask_store<notification_page>(*env, req, reply, 200, atom::list_v, std::move(q));
        });

  // GET /v1/admin/notifications?status=&limit=&cursor= (admin): the delivery log.
  r.add(http_method::get, "/v1/admin/notifications",
        [env](const request& req, const responder& reply) {
          if (!authorize(*env, req, reply, allow_admin))
            return;
          notification_query q;
          if (auto v = parse_notification_query(req.query, q); !v.ok())
            return reply(v.to_response());
          ask_store<notification_page>(*env, req, reply, 200, atom::list_v, std::move(q));
        });

  // POST /v1/admin/notifications/{id}/retry (admin): a failed or dead delivery goes again.
  r.add(http_method::post, "/v1/admin/notifications/{id}/retry",
        [env](const request& req, const responder& reply) {
          std::string id;
          if (!authorize(*env, req, reply, allow_admin) || !id_param(req, reply, "id", id))
            return;
          runtime::logger("api")->info("request {} retries notification {}", req.request_id, id);
          ask_store<notification_record>(*env, req, reply, 202, atom::retry_v, std::move(id));
        });
}

} // namespace mercato::api
