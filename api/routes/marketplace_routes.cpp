// Marketplace orders and the daily statistics: POST /v1/marketplaces/{platform}/orders maps a
// batch of a platform's own payloads (the importer the composition root hands over) and upserts
// each good record into its order entity; GET /v1/stats/daily reads the statistics read model.

#include "actors/protocol/interfaces.hpp"
#include "api/json/codec.hpp"
#include "api/json/fields.hpp"
#include "api/json/writer.hpp"
#include "api/routes/ask.hpp"
#include "runtime/logging.hpp"

#include <algorithm>
#include <memory>
#include <vector>

namespace mercato::api {

namespace {

namespace jw = mercato::api::json;

// What the upserts of one batch came to.
struct batch_tally {
  int64_t imported = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
  std::vector<import_rejection> rejected;
  size_t pending = 0;
};

std::string batch_json(batch_tally& t) {
  std::sort(t.rejected.begin(), t.rejected.end(),
            [](const auto& a, const auto& b) { return a.index < b.index; });
  std::string out;
  jw::object_writer w{out};
  w.field("imported", t.imported).field("updated", t.updated).field("unchanged", t.unchanged);
  w.raw_key("rejected");
  out.push_back('[');
  for (size_t i = 0; i < t.rejected.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    const auto& r = t.rejected[i];
    jw::object_writer e{out};
    e.field("index", static_cast<uint64_t>(r.index))
      .field("code", r.code)
      .field("detail", r.detail)
      .close();
  }
  out.push_back(']');
  w.close();
  return out;
}

// `num / den` with four decimals, rounded half up, as JSON number text (0 when den is 0).
std::string ratio_text(int64_t num, int64_t den) {
  if (den <= 0 || num <= 0)
    return "0";
  auto bp = (num * 20000 + den) / (2 * den); // basis points of 1/10000
  auto frac = std::to_string(bp % 10000);
  return std::to_string(bp / 10000) + "." + std::string(4 - frac.size(), '0') + frac;
}

int64_t rounded_div(int64_t num, int64_t den) {
  return den <= 0 ? 0 : (num * 2 + den) / (2 * den);
}

std::string stats_json(const std::vector<daily_stat>& rows) {
  std::string out = "[";
  for (const auto& s : rows) {
    if (out.size() > 1)
      out.push_back(',');
    jw::object_writer w{out};
    w.field("stat_date", s.stat_date)
      .field("platform", s.platform)
      .field("currency", s.currency)
      .field("total_orders", s.total_orders)
      .field("completed_orders", s.completed_orders)
      .field("cancelled_orders", s.cancelled_orders)
      .field("returned_orders", s.returned_orders)
      .field("pending_orders", s.pending_orders)
      .field("gross_merchandise_value_minor", s.gross_merchandise_value_minor)
      .field("total_revenue_minor", s.total_revenue_minor)
      .field("total_discount_minor", s.total_discount_minor)
      .field("avg_order_value_minor", rounded_div(s.total_revenue_minor, s.completed_orders))
      .raw_key("cancellation_rate");
    out += ratio_text(s.cancelled_orders, s.total_orders);
    w.field("is_final", s.is_final).close();
  }
  out += "]";
  return out;
}

bool is_currency(const std::string& s) {
  return s.size() == 3
         && std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool is_day(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-')
    return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
      return false;
  return true;
}

} // namespace

void add_marketplace_routes(router& r, const std::shared_ptr<const route_env>& env) {
  // POST /v1/marketplaces/{platform}/orders (service, admin): a JSON array of the platform's own
  // order payloads -> 200 {imported, updated, unchanged, rejected:[{index, code, detail}]}.
  r.add(http_method::post, "/v1/marketplaces/{platform}/orders",
        [env](const request& req, const responder& reply) {
          if (!authorize(*env, req, reply, allow_service | allow_admin))
            return;
          sales_platform platform = sales_platform::web;
          if (!from_string(std::string{req.params.get("platform")}, platform)
              || platform == sales_platform::web)
            return reply(
              problem_response(404, "not_found", "platform must be tiktok, shopee or lazada"));
          import_options opts;
          validation v;
          detail::for_each_query_param(
            req.query, v, [&](const std::string& key, const std::string& value) {
              if (key != "currency")
                return;
              if (!is_currency(value))
                v.add("currency", "must be an ISO 4217 code such as MYR");
              else
                opts.lazada_currency = value;
            });
          if (!v.ok())
            return reply(v.to_response());
          if (!env->handles.import_orders || !env->handles.order_region)
            return reply(problem_response(503, "unavailable", "imports are not configured"));
          auto res = env->handles.import_orders(platform, req.body, opts);
          if (!res.error.empty()) {
            v.add("body", res.error);
            return reply(v.to_response());
          }
          auto tally = std::make_shared<batch_tally>();
          tally->rejected = std::move(res.batch.rejected);
          tally->pending = res.batch.orders.size();
          auto log = runtime::logger("api");
          auto rid = std::string{req.request_id};
          if (tally->pending == 0) {
            log->info("[{}] {} orders: all {} rejected", rid, to_string(platform),
                      tally->rejected.size());
            return reply(json_response(200, batch_json(*tally)));
          }
          env->handles.sys->spawn([region = env->handles.order_region, timeout = env->timeout,
                                   orders = std::move(res.batch.orders), tally, reply, rid, log,
                                   platform](caf::event_based_actor* self) mutable {
            auto done = [tally, reply, rid, log, platform] {
              if (--tally->pending > 0)
                return;
              log->info("[{}] {} orders: {} imported, {} updated, {} unchanged, {} rejected", rid,
                        to_string(platform), tally->imported, tally->updated, tally->unchanged,
                        tally->rejected.size());
              reply(json_response(200, batch_json(*tally)));
            };
            for (auto& rec : orders) {
              auto index = rec.index;
              auto key = rec.order.order_id;
              runtime::request_entity(self, region, key, timeout, atom::upsert_v,
                                      std::move(rec.order))
                .then(
                  [tally, done](import_outcome outcome) {
                    if (outcome == import_outcome::imported)
                      ++tally->imported;
                    else if (outcome == import_outcome::updated)
                      ++tally->updated;
                    else
                      ++tally->unchanged;
                    done();
                  },
                  [tally, done, index, rid](const caf::error& err) {
                    auto m = map_error(err);
                    if (m.is_internal)
                      runtime::logger("api")->error("[{}] import of record {} failed: {}", rid,
                                                    index, caf::to_string(err));
                    tally->rejected.push_back(
                      {index, std::string{m.code}, m.is_internal ? "internal error" : m.detail});
                    done();
                  });
            }
          });
        });

  // GET /v1/stats/daily?from=&to=&platform= (admin): the statistics per day, platform and
  // currency.
  r.add(http_method::get, "/v1/stats/daily", [env](const request& req, const responder& reply) {
    if (!authorize(*env, req, reply, allow_admin))
      return;
    daily_stats_query q;
    validation v;
    detail::for_each_query_param(req.query, v,
                                 [&](const std::string& key, const std::string& value) {
                                   if (key == "from" || key == "to") {
                                     if (!is_day(value))
                                       v.add(key, "must be a date YYYY-MM-DD");
                                     else
                                       (key == "from" ? q.from : q.to) = value;
                                   } else if (key == "platform") {
                                     sales_platform p;
                                     if (!from_string(value, p))
                                       v.add("platform", "must be web, tiktok, shopee or lazada");
                                     else
                                       q.platform = value;
                                   }
                                 });
    if (v.ok() && q.from.empty())
      v.add("from", "required");
    if (v.ok() && q.to.empty())
      v.add("to", "required");
    if (!v.ok())
      return reply(v.to_response());
    if (!env->handles.stats)
      return reply(problem_response(503, "unavailable", "statistics are not configured"));
    env->handles.sys->spawn([stats = env->handles.stats, q = std::move(q), reply,
                             timeout = env->timeout,
                             rid = std::string{req.request_id}](caf::event_based_actor* self) {
      self->request(stats, timeout, atom::search_v, q)
        .then(
          [reply](const std::vector<daily_stat>& rows) {
            reply(json_response(200, stats_json(rows)));
          },
          [reply, rid](const caf::error& err) { reply(error_response(err, rid)); });
    });
  });
}

} // namespace mercato::api
