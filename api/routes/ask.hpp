#pragma once

// Asking an entity from a route: a one-shot actor sends the request through the entity's region
// and hands the answer to the responder, so no I/O thread ever waits. Include only from
// routes/*.cpp (it pulls in CAF's behaviour machinery).

#include "api/json/problem.hpp"
#include "api/routes/common.hpp"
#include "runtime/shard_region.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include <string>
#include <utility>

namespace mercato::api {

/// The identity an entity sees: the token's subject, whether it is an admin, the request id.
inline caller caller_of(const principal& who, const request& req) {
  return caller{who.sub, who.who == role::admin, std::string{req.request_id}};
}

/// Sends `xs...` to entity `key` behind `region` and answers with `answer(view)` or with the
/// problem of the error. The route's deadline is enforced by the connection (session.cpp), so
/// the request itself carries no CAF timeout; every entity answers every request.
template <class View, class Answer, class... Ts>
void ask_entity(const route_env& env, const caf::actor& region, std::string key, const request& req,
                const responder& reply, Answer answer, Ts... xs) {
  env.handles.sys->spawn([region, key = std::move(key), rid = std::string{req.request_id}, reply,
                          answer = std::move(answer),
                          ... xs = std::move(xs)](caf::event_based_actor* self) mutable {
    runtime::request_entity(self, region, key, caf::infinite, std::move(xs)...)
      .then([reply, answer](const View& v) { reply(answer(v)); },
            [reply, rid](const caf::error& err) { reply(error_response(err, rid)); });
  });
}

/// Reads the path parameter `name` as an entity id; answers 400 and returns false if invalid.
bool id_param(const request& req, const responder& reply, const char* name, std::string& out);

} // namespace mercato::api
