// Marketplace orders and the daily statistics: POST /v1/marketplaces/{platform}/orders maps a
// batch of a platform's own payloads (the importer the composition root hands over) and upserts
// each good record into its order entity; GET /v1/stats/daily reads the statistics read model.

#include "actors/protocol/interfaces.hpp"
#include "api/json/codec.hpp"
#include "api/json/fields.hpp"
#include "api/json/writer.hpp"
#include "api/routes/ask.hpp"
#include "runtime/logging.hpp"
#include "runtime/util/time.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
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

// Writes what every statistics row has after its key: platform, currency, the sums and what
// derives from them (recomputed from the sums, never averaged), is_final.
void stat_fields(jw::object_writer& w, std::string& out, const daily_stat& s) {
  w.field("platform", s.platform)
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
  w.field("is_final", s.is_final);
}

// A JSON array of `rows`, each written by `write(out, row)`.
template <class Row, class Write>
std::string rows_json(const std::vector<Row>& rows, Write write) {
  std::string out = "[";
  for (const auto& row : rows) {
    if (out.size() > 1)
      out.push_back(',');
    write(out, row);
  }
  out += "]";
  return out;
}

// The bodies of recent GET /v1/stats/daily answers, by query, with the version of their rows: a
// dashboard that polls a year that has not changed gets the same bytes again, without the rows
// being read and rendered again. Shared by the HTTP threads; a few entries, least recently used
// out first.
class stats_body_cache {
public:
  struct entry {
    std::string version;
    std::shared_ptr<const std::string> body;
    uint64_t used = 0;
  };

  std::optional<entry> find(const std::string& key) {
    std::lock_guard<std::mutex> guard{mutex_};
    auto i = entries_.find(key);
    if (i == entries_.end())
      return std::nullopt;
    i->second.used = ++clock_;
    return i->second;
  }

  void put(const std::string& key, std::string version, std::shared_ptr<const std::string> body) {
    std::lock_guard<std::mutex> guard{mutex_};
    if (entries_.size() >= capacity && entries_.count(key) == 0)
      entries_.erase(std::min_element(entries_.begin(), entries_.end(), [](auto& a, auto& b) {
        return a.second.used < b.second.used;
      }));
    entries_[key] = {std::move(version), std::move(body), ++clock_};
  }

private:
  static constexpr size_t capacity = 16; // a year of every platform is about 0.5 MB
  std::mutex mutex_;
  std::map<std::string, entry> entries_;
  uint64_t clock_ = 0;
};

// Rows of GET /v1/stats/daily and /v1/stats/summary.
std::string stats_json(const std::vector<daily_stat>& rows) {
  return rows_json(rows, [](std::string& out, const daily_stat& s) {
    jw::object_writer w{out};
    w.field("stat_date", s.stat_date);
    stat_fields(w, out, s);
    w.close();
  });
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

// -- the statistics' aggregates --------------------------------------------------------------

using sys_day = std::chrono::sys_days;

// The longest range an aggregate reads: 366 days, or 36 months.
constexpr int max_range_days = 366;
constexpr int max_range_months = 36;

// "YYYY-MM-DD" (a real calendar day) -> `out`.
bool parse_day(const std::string& text, sys_day& out) {
  if (!is_day(text))
    return false;
  std::chrono::year_month_day ymd{
    std::chrono::year{std::stoi(text.substr(0, 4))},
    std::chrono::month{static_cast<unsigned>(std::stoi(text.substr(5, 2)))},
    std::chrono::day{static_cast<unsigned>(std::stoi(text.substr(8, 2)))}};
  if (!ymd.ok())
    return false;
  out = sys_day{ymd};
  return true;
}

// "YYYY-MM" -> the month's first day.
bool parse_month(const std::string& text, sys_day& out) {
  return text.size() == 7 && parse_day(text + "-01", out);
}

std::string day_text(sys_day d) {
  return util::format_rfc3339_ms(
           std::chrono::duration_cast<std::chrono::milliseconds>(d.time_since_epoch()).count())
    .substr(0, 10);
}

sys_day utc_today() {
  return std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
}

sys_day last_day_of_month(sys_day first) {
  std::chrono::year_month_day ymd{first};
  return sys_day{
    std::chrono::year_month_day_last{ymd.year(), std::chrono::month_day_last{ymd.month()}}};
}

// The query parameters of the statistics routes, as given (platform checked).
struct stats_params {
  std::string from;
  std::string to;
  std::string days;
  std::string platform;
};

stats_params read_stats_params(const request& req, validation& v) {
  stats_params p;
  detail::for_each_query_param(req.query, v, [&](const std::string& key, const std::string& value) {
    if (key == "from")
      p.from = value;
    else if (key == "to")
      p.to = value;
    else if (key == "days")
      p.days = value;
    else if (key == "platform") {
      sales_platform x;
      if (!from_string(value, x))
        v.add("platform", "must be web, tiktok, shopee or lazada");
      else
        p.platform = value;
    }
  });
  return p;
}

// Reads the day (or month, `by_month`) parameter `key` into `out`; records a missing or bad one.
void day_param(validation& v, const char* key, const std::string& text, bool by_month,
               sys_day& out) {
  if (text.empty())
    v.add(key, "required");
  else if (!(by_month ? parse_month(text, out) : parse_day(text, out)))
    v.add(key, by_month ? "must be a month YYYY-MM" : "must be a date YYYY-MM-DD");
}

// Checks `from` <= `to` and the range's length (in days, or months `by_month`).
void range_check(validation& v, sys_day from, sys_day to, bool by_month) {
  if (to < from) {
    v.add("to", "must not be before from");
  } else if (by_month) {
    std::chrono::year_month_day a{from}, b{to};
    if ((b.year() - a.year()).count() * 12
          + (static_cast<int>(static_cast<unsigned>(b.month()))
             - static_cast<int>(static_cast<unsigned>(a.month())))
        >= max_range_months)
      v.add("to", "must be within " + std::to_string(max_range_months)
                    + " months of from (both included)");
  } else if ((to - from).count() >= max_range_days) {
    v.add("to",
          "must be within " + std::to_string(max_range_days) + " days of from (both included)");
  }
}

// Asks the statistics store for the days `from` to `to` in pieces it accepts (a year each), then
// hands `done` every row in date order; a failure answers the request instead.
void search_days(const route_env& env, sys_day from, sys_day to, std::string platform,
                 std::string rid, responder reply,
                 std::function<void(std::vector<daily_stat>)> done) {
  std::vector<daily_stats_query> pieces;
  for (auto first = from; first <= to; first += std::chrono::days{max_range_days}) {
    auto last = std::min(to, first + std::chrono::days{max_range_days - 1});
    pieces.push_back({day_text(first), day_text(last), platform, {}});
  }
  env.handles.sys->spawn([stats = env.handles.stats, timeout = env.timeout,
                          pieces = std::move(pieces), rid = std::move(rid),
                          reply = std::move(reply),
                          done = std::move(done)](caf::event_based_actor* self) {
    struct gather {
      std::vector<std::vector<daily_stat>> parts;
      size_t pending = 0;
      bool failed = false;
    };
    auto g = std::make_shared<gather>();
    g->parts.resize(pieces.size());
    g->pending = pieces.size();
    for (size_t i = 0; i < pieces.size(); ++i)
      self->request(stats, timeout, atom::search_v, pieces[i])
        .then(
          [g, i, done](daily_stats_page page) {
            g->parts[i] = std::move(page.rows);
            if (--g->pending > 0 || g->failed)
              return;
            std::vector<daily_stat> all;
            for (auto& part : g->parts)
              all.insert(all.end(), std::make_move_iterator(part.begin()),
                         std::make_move_iterator(part.end()));
            done(std::move(all));
          },
          [g, reply, rid](const caf::error& err) {
            if (std::exchange(g->failed, true))
              return;
            reply(error_response(err, rid));
          });
  });
}

// One aggregate row: the sums of its daily rows under `stat_date` = the row's label (a day, a
// month, or "" over the whole range), with the days that had orders.
struct stat_sum {
  daily_stat s;
  int64_t days = 0;
  std::string counted; // the last day counted in `days`
};

using stat_key = std::tuple<std::string, std::string, std::string>; // label, platform, currency

// A day is final once it ended stats_final_after_days (30, adapters/pg/stats_store.hpp; API.md's
// is_final) ago in the shop's zone, which is at most a day away from UTC.
constexpr int final_after_days = 30;

// The last day known to be final, every earlier one being final too: the latest final day of
// `rows`, or the last day final in any time zone by the clock, whichever is later.
std::string final_through(const std::vector<daily_stat>& rows) {
  auto last = day_text(utc_today() - std::chrono::days{final_after_days + 2});
  for (const auto& r : rows)
    if (r.is_final && r.stat_date > last)
      last = r.stat_date;
  return last;
}

// Sums `rows` by (label_of(row), `platform` or, when empty, the row's platform, currency); with
// `fill_labels`, every label of it appears for every currency seen, with zeros where no day had
// orders. A row is final when its last day (`last_of(label)`) is.
template <class LabelOf, class LastOf>
std::vector<stat_sum> sum_stats(const std::vector<daily_stat>& rows, LabelOf label_of,
                                const std::string& platform,
                                const std::vector<std::string>& fill_labels, LastOf last_of) {
  std::map<stat_key, stat_sum> sums;
  std::set<std::string> currencies;
  for (const auto& r : rows) {
    auto& x = sums[{label_of(r), platform.empty() ? r.platform : platform, r.currency}];
    x.s.total_orders += r.total_orders;
    x.s.completed_orders += r.completed_orders;
    x.s.cancelled_orders += r.cancelled_orders;
    x.s.returned_orders += r.returned_orders;
    x.s.pending_orders += r.pending_orders;
    x.s.gross_merchandise_value_minor += r.gross_merchandise_value_minor;
    x.s.total_revenue_minor += r.total_revenue_minor;
    x.s.total_discount_minor += r.total_discount_minor;
    if (x.counted != r.stat_date) { // the rows come in date order
      ++x.days;
      x.counted = r.stat_date;
    }
    currencies.insert(r.currency);
  }
  for (const auto& label : fill_labels)
    for (const auto& c : currencies)
      sums.try_emplace({label, platform, c});
  auto final_day = final_through(rows);
  std::vector<stat_sum> out;
  out.reserve(sums.size());
  for (auto& [key, x] : sums) {
    std::tie(x.s.stat_date, x.s.platform, x.s.currency) = key;
    x.s.is_final = last_of(x.s.stat_date) <= final_day;
    out.push_back(std::move(x));
  }
  return out;
}

// Orders summed over platforms are reported as platform "all".
constexpr const char* all_platforms = "all";

// The parameters and the from..to range (days, or months with `by_month`) of a statistics read;
// false once it has answered (a problem, or 503 without statistics).
bool read_range(const route_env& env, const request& req, const responder& reply, bool by_month,
                stats_params& p, sys_day& from, sys_day& to) {
  validation v;
  p = read_stats_params(req, v);
  day_param(v, "from", p.from, by_month, from);
  day_param(v, "to", p.to, by_month, to);
  if (v.ok())
    range_check(v, from, to, by_month);
  if (!v.ok()) {
    reply(v.to_response());
    return false;
  }
  if (!env.handles.stats) {
    reply(problem_response(503, "unavailable", "statistics are not configured"));
    return false;
  }
  return true;
}

} // namespace

void add_marketplace_routes(router& r, const std::shared_ptr<const route_env>& env) {
  auto cache = std::make_shared<stats_body_cache>();
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

  // GET /v1/admin/marketplaces/sync (admin): where each shop's pull sync stands.
  r.add(http_method::get, "/v1/admin/marketplaces/sync",
        [env](const request& req, const responder& reply) {
          if (!authorize(*env, req, reply, allow_admin))
            return;
          if (!env->handles.stats)
            return reply(problem_response(503, "unavailable", "statistics are not configured"));
          env->handles.sys->spawn(
            [stats = env->handles.stats, reply, timeout = env->timeout,
             rid = std::string{req.request_id}](caf::event_based_actor* self) {
              self->request(stats, timeout, atom::list_v)
                .then(
                  [reply](const std::vector<marketplace_sync_status>& shops) {
                    std::string out;
                    jw::object_writer w{out};
                    w.raw_key("shops");
                    out += rows_json(shops, [](std::string& o, const marketplace_sync_status& x) {
                      jw::object_writer e{o};
                      e.field("shop", x.shop)
                        .field("platform", x.platform)
                        .time_field("synced_to", x.synced_to_s * 1000);
                      if (x.window_to_s > 0)
                        e.time_field("window_to", x.window_to_s * 1000);
                      else
                        e.null_field("window_to");
                      e.field("pages", x.pages).field("orders", x.orders);
                      if (x.last_error.empty())
                        e.null_field("last_error");
                      else
                        e.field("last_error", x.last_error);
                      e.time_field("updated_at", x.updated_at_ms).close();
                    });
                    w.close();
                    reply(json_response(200, std::move(out)));
                  },
                  [reply, rid](const caf::error& err) { reply(error_response(err, rid)); });
            });
        });

  // GET /v1/stats/daily?from=&to=&platform= (admin): the statistics per day, platform and
  // currency.
  r.add(http_method::get, "/v1/stats/daily",
        [env, cache](const request& req, const responder& reply) {
          if (!authorize(*env, req, reply, allow_admin))
            return;
          validation v;
          auto p = read_stats_params(req, v);
          sys_day from, to;
          day_param(v, "from", p.from, false, from);
          day_param(v, "to", p.to, false, to);
          if (!v.ok())
            return reply(v.to_response());
          if (!env->handles.stats)
            return reply(problem_response(503, "unavailable", "statistics are not configured"));
          // The store checks the range (it allows a little more than the aggregates' year).
          auto key = p.from + "/" + p.to + "/" + p.platform;
          auto cached = cache->find(key);
          daily_stats_query q{p.from, p.to, p.platform, cached ? cached->version : std::string{}};
          env->handles.sys->spawn(
            [stats = env->handles.stats, q = std::move(q), reply, cache, key = std::move(key),
             cached = std::move(cached), timeout = env->timeout,
             rid = std::string{req.request_id}](caf::event_based_actor* self) {
              self->request(stats, timeout, atom::search_v, q)
                .then(
                  [reply, cache, key, cached](daily_stats_page& page) {
                    if (page.unchanged && cached) // asked with its version: the rows still have it
                      return reply(json_response(200, *cached->body));
                    auto body = std::make_shared<const std::string>(stats_json(page.rows));
                    cache->put(key, std::move(page.version), body);
                    reply(json_response(200, *body));
                  },
                  [reply, rid](const caf::error& err) { reply(error_response(err, rid)); });
            });
        });

  // GET /v1/stats/summary?days=N&to=&platform= (admin): the N days (1..366, default 7) ending
  // `to` (default: the shop's date today, in the statistics' time zone), one row per day and
  // currency summed over the platforms (platform "all") or for one; a day without orders is a
  // row of zeros for each currency of the range.
  r.add(http_method::get, "/v1/stats/summary", [env](const request& req, const responder& reply) {
    if (!authorize(*env, req, reply, allow_admin))
      return;
    validation v;
    auto p = read_stats_params(req, v);
    int64_t n = 7;
    if (!p.days.empty()) {
      n = 0;
      if (p.days.size() > 3
          || !std::all_of(p.days.begin(), p.days.end(), [](char c) { return c >= '0' && c <= '9'; })
          || (n = std::stoi(p.days)) < 1 || n > max_range_days)
        v.add("days", "must be an integer 1.." + std::to_string(max_range_days));
    }
    sys_day to{};
    if (!p.to.empty())
      day_param(v, "to", p.to, false, to);
    if (!v.ok())
      return reply(v.to_response());
    if (!env->handles.stats)
      return reply(problem_response(503, "unavailable", "statistics are not configured"));
    auto rid = std::string{req.request_id};
    auto summary = [env, n, platform = p.platform, rid, reply](sys_day last) {
      auto from = last - std::chrono::days{n - 1};
      std::vector<std::string> labels;
      for (auto d = from; d <= last; d += std::chrono::days{1})
        labels.push_back(day_text(d));
      auto label = platform.empty() ? std::string{all_platforms} : platform;
      search_days(*env, from, last, platform, rid, reply,
                  [reply, labels = std::move(labels), label](std::vector<daily_stat> rows) {
                    auto sums = sum_stats(
                      rows, [](const daily_stat& r) { return r.stat_date; }, label, labels,
                      [](const std::string& day) { return day; });
                    std::vector<daily_stat> out;
                    out.reserve(sums.size());
                    for (auto& x : sums)
                      out.push_back(std::move(x.s));
                    reply(json_response(200, stats_json(out)));
                  });
    };
    if (!p.to.empty())
      return summary(to);
    // Today is the shop's: the store knows the zone its days are counted in.
    env->handles.sys->spawn([stats = env->handles.stats, timeout = env->timeout, summary, rid,
                             reply](caf::event_based_actor* self) {
      self->request(stats, timeout, atom::get_v)
        .then(
          [summary, rid, reply](const std::string& today) {
            validation check;
            sys_day day{};
            day_param(check, "today", today, false, day);
            if (!check.ok())
              return reply(error_response(
                caf::make_error(caf::sec::runtime_error, "the store's date is " + today), rid));
            summary(day);
          },
          [reply, rid](const caf::error& err) { reply(error_response(err, rid)); });
    });
  });

  // GET /v1/stats/platforms?from=&to= (admin): one row per platform and currency over the days
  // `from` to `to` (at most 366), with the days that had orders.
  r.add(http_method::get, "/v1/stats/platforms", [env](const request& req, const responder& reply) {
    if (!authorize(*env, req, reply, allow_admin))
      return;
    stats_params p;
    sys_day from, to;
    if (!read_range(*env, req, reply, false, p, from, to))
      return;
    search_days(*env, from, to, "", std::string{req.request_id}, reply,
                [reply, last = p.to](std::vector<daily_stat> rows) {
                  auto sums = sum_stats(
                    rows, [](const daily_stat&) { return std::string{}; }, "", {},
                    [&last](const std::string&) { return last; });
                  reply(json_response(200, rows_json(sums, [](std::string& out, const stat_sum& x) {
                                        jw::object_writer w{out};
                                        stat_fields(w, out, x.s);
                                        w.field("days", x.days).close();
                                      })));
                });
  });

  // GET /v1/stats/monthly?from=YYYY-MM&to=YYYY-MM&platform= (admin): one row per month and
  // currency (at most 36 months) summed over the platforms (platform "all") or for one; a month
  // without orders is a row of zeros for each currency of the range.
  r.add(http_method::get, "/v1/stats/monthly", [env](const request& req, const responder& reply) {
    if (!authorize(*env, req, reply, allow_admin))
      return;
    stats_params p;
    sys_day from, to;
    if (!read_range(*env, req, reply, true, p, from, to))
      return;
    std::vector<std::string> labels;
    for (auto m = from; m <= to; m = last_day_of_month(m) + std::chrono::days{1})
      labels.push_back(day_text(m).substr(0, 7));
    auto platform = p.platform.empty() ? std::string{all_platforms} : p.platform;
    search_days(*env, from, last_day_of_month(to), p.platform, std::string{req.request_id}, reply,
                [reply, labels = std::move(labels), platform](std::vector<daily_stat> rows) {
                  auto sums = sum_stats(
                    rows, [](const daily_stat& r) { return r.stat_date.substr(0, 7); }, platform,
                    labels,
                    [](const std::string& month) {
                      sys_day first;
                      parse_month(month, first);
                      return day_text(last_day_of_month(first));
                    });
                  reply(json_response(200, rows_json(sums, [](std::string& out, const stat_sum& x) {
                                        jw::object_writer w{out};
                                        w.field("month", x.s.stat_date);
                                        stat_fields(w, out, x.s);
                                        w.field("days", x.days).close();
                                      })));
                });
  });
}

} // namespace mercato::api
