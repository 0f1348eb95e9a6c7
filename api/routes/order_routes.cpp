// Order routes: a customer sees and cancels only their own orders (404 for anyone else's); a
// tracking token only reads the one order it names, which must still be its customer's.

#include "actors/protocol/interfaces.hpp"
#include "api/json/commerce_codec.hpp"
#include "api/json/writer.hpp"
#include "api/routes/ask.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

namespace mercato::api {

namespace {

response order_ok(const order_view& v) {
  return json_response(200, to_json(v));
}

response fact_accepted(bool recorded) {
  return json_response(202, recorded ? R"({"accepted":true,"duplicate":false})"
                                     : R"({"accepted":true,"duplicate":true})");
}

// Puts back the label and data of the entries an order keeps only in the journal.
void fill_trimmed(order_view& v, recovery_data& journal) {
  std::map<uint64_t, timeline_entry*> wanted; // by the entry's seq in the timeline
  for (auto& f : v.order.timeline)
    if (is_trimmed(f))
      wanted.emplace(f.seq, &f);
  for (auto& m : journal.events) {
    if (!m.match_elements<order_event>())
      continue;
    auto& e = m.get_mutable_as<order_event>(0);
    if (e.type != "fact_recorded")
      continue;
    if (auto i = wanted.find(e.fact.seq); i != wanted.end()) {
      i->second->label = std::move(e.fact.label);
      i->second->data = std::move(e.fact.data);
    }
  }
}

// GET /v1/orders/{id}/timeline: the order's answer, plus, when it holds entries outside its
// in-memory window, the order's journal up to the version it answered at.
void answer_timeline(const route_env& env, std::string id, const request& req,
                     const responder& reply, caller who) {
  env.handles.sys->spawn([region = env.handles.order_region, journal = env.handles.recovery,
                          timeout = env.timeout, id = std::move(id),
                          rid = std::string{req.request_id}, reply,
                          who = std::move(who)](caf::event_based_actor* self) mutable {
    auto fail = [reply, rid](const caf::error& err) { reply(error_response(err, rid)); };
    runtime::request_entity(self, region, id, caf::infinite, atom::get_v, std::move(who))
      .then(
        [=](order_view& v) {
          const auto& t = v.order.timeline;
          if (std::none_of(t.begin(), t.end(), [](const auto& f) { return is_trimmed(f); }))
            return reply(json_response(200, timeline_json(v)));
          auto version = v.version;
          self
            ->request(journal, timeout, atom::read_v, std::string{"order"}, id, uint64_t{0},
                      version)
            .then(
              [reply, v = std::move(v)](recovery_data& data) mutable {
                fill_trimmed(v, data);
                reply(json_response(200, timeline_json(v)));
              },
              fail);
        },
        fail);
  });
}

// One result of POST /v1/events: {index, status, code?}.
struct batch_result {
  int status = 0;
  std::string code;
};

std::string batch_json(const std::vector<batch_result>& results) {
  std::string out = R"({"results":[)";
  for (size_t i = 0; i < results.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    json::object_writer w{out};
    w.field("index", static_cast<uint64_t>(i))
      .field("status", static_cast<int64_t>(results[i].status));
    if (!results[i].code.empty())
      w.field("code", results[i].code);
    w.close();
  }
  out += "]}";
  return out;
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

  // GET /v1/orders/{id} (also a tracking token of this order)
  r.add(http_method::get, "/v1/orders/{id}", [env](const request& req, const responder& reply) {
    principal p;
    std::string id;
    if (!authorize(*env, req, reply, allow_customer | allow_admin | allow_tracking, &p)
        || !id_param(req, reply, "id", id))
      return;
    ask_entity<order_view>(*env, env->handles.order_region, std::move(id), req, reply, order_ok,
                           atom::get_v, caller_of(p, req));
  });

  // GET /v1/orders/{id}/timeline: the merged timeline (the order's customer, also through a
  // tracking token of this order; service or admin)
  r.add(http_method::get, "/v1/orders/{id}/timeline",
        [env](const request& req, const responder& reply) {
          principal p;
          std::string id;
          if (!authorize(*env, req, reply,
                         allow_customer | allow_service | allow_admin | allow_tracking, &p)
              || !id_param(req, reply, "id", id))
            return;
          auto who = caller_of(p, req);
          who.admin = who.admin || p.who == role::service; // partners read what they post to
          answer_timeline(*env, std::move(id), req, reply, std::move(who));
        });

  // POST /v1/orders/{id}/events (service, admin): one partner fact -> 202
  r.add(http_method::post, "/v1/orders/{id}/events",
        [env](const request& req, const responder& reply) {
          std::string id;
          if (!authorize(*env, req, reply, allow_service | allow_admin)
              || !id_param(req, reply, "id", id))
            return;
          order_fact_cmd cmd;
          if (auto v = parse_order_fact(req.body, cmd); !v.ok())
            return reply(v.to_response());
          cmd.request_id = std::string{req.request_id};
          ask_entity<bool>(*env, env->handles.order_region, std::move(id), req, reply,
                           fact_accepted, atom::append_v, std::move(cmd));
        });

  // POST /v1/events (service, admin): many facts, each answered on its own -> 207
  r.add(http_method::post, "/v1/events", [env](const request& req, const responder& reply) {
    if (!authorize(*env, req, reply, allow_service | allow_admin))
      return;
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(req.body.begin(), req.body.end());
    } catch (const nlohmann::json::exception&) {
      validation v;
      v.add("body", "malformed JSON");
      return reply(v.to_response());
    }
    if (!doc.is_array() || doc.empty() || doc.size() > commerce_limits::max_batch) {
      validation v;
      v.add("body",
            "must be an array of 1 to " + std::to_string(commerce_limits::max_batch) + " events");
      return reply(v.to_response());
    }
    std::vector<batch_result> results(doc.size());
    std::vector<std::pair<std::string, order_fact_cmd>> valid; // order id, fact
    std::vector<size_t> index_of;
    for (size_t i = 0; i < doc.size(); ++i) {
      const auto& item = doc[i];
      order_fact_cmd cmd;
      std::string order_id;
      if (!item.is_object()) {
        results[i] = {400, "invalid_request"};
        continue;
      }
      auto v = read_order_fact(item, cmd);
      auto oid = item.find("order_id");
      if (oid == item.end() || !oid->is_string() || !is_valid_entity_id(oid->get<std::string>()))
        v.add("order_id", "must be 1 to 64 characters of [A-Za-z0-9._-]");
      else
        order_id = oid->get<std::string>();
      if (!v.ok()) {
        results[i] = {400, "invalid_request"};
        continue;
      }
      cmd.request_id = std::string{req.request_id};
      valid.emplace_back(std::move(order_id), std::move(cmd));
      index_of.push_back(i);
    }
    if (valid.empty())
      return reply(json_response(207, batch_json(results)));
    env->handles.sys->spawn([region = env->handles.order_region, valid = std::move(valid),
                             index_of = std::move(index_of), results = std::move(results),
                             reply](caf::event_based_actor* self) mutable {
      auto shared = std::make_shared<std::vector<batch_result>>(std::move(results));
      auto pending = std::make_shared<size_t>(valid.size());
      auto finish = [reply, shared, pending] {
        if (--*pending == 0)
          reply(json_response(207, batch_json(*shared)));
      };
      for (size_t k = 0; k < valid.size(); ++k) {
        auto i = index_of[k];
        runtime::request_entity(self, region, valid[k].first, caf::infinite, atom::append_v,
                                valid[k].second)
          .then(
            [shared, i, finish](bool) {
              (*shared)[i] = {202, {}};
              finish();
            },
            [shared, i, finish](const caf::error& err) {
              auto m = map_error(err);
              (*shared)[i] = {m.status, std::string{m.code}};
              finish();
            });
      }
    });
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
