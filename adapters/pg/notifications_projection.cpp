// The notification feeder: reads order events in commit order like a projection and, in the
// transaction that moves its offset, inserts one delivery per (order, milestone, channel) with
// ON CONFLICT DO NOTHING on that key. So an event is turned into deliveries exactly once, and a
// replay (a lost commit, a duplicated or repeated fact) never plans a message twice. In-app
// deliveries are the customer's inbox and are delivered by that insert, which also appends them
// to the customer's feed and announces them on customer:{id} once the round commits; the other
// channels are left pending for their senders.

#include "actors/protocol/commerce.hpp"
#include "actors/protocol/notification_rules.hpp"
#include "adapters/pg/array_literal.hpp"
#include "adapters/pg/customer_feed.hpp"
#include "adapters/pg/notification_store.hpp"
#include "adapters/pg/projection.hpp"
#include "adapters/pg/projections.hpp"
#include "runtime/logging.hpp"
#include "runtime/util/time.hpp"

#include <caf/make_message.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <set>

namespace mercato::pg {

namespace {

using nlohmann::json;

struct feeder_config {
  notify::rule_table rules = notify::default_rules();
  notify::template_table templates = notify::default_templates();
};

// Swapped whole by set_notification_rules; each batch reads one version.
std::shared_ptr<const feeder_config>& current_config() {
  static std::shared_ptr<const feeder_config> cfg = std::make_shared<feeder_config>();
  return cfg;
}

std::shared_ptr<const feeder_config> config_now() {
  return std::atomic_load(&current_config());
}

// What the feeder remembers of an order (table notification_orders).
struct order_info {
  std::string customer_id;
  std::string email;
  int64_t total_minor = 0;
  std::string currency;
  bool known = false;
};

std::string text_of(const json& j, const char* key) {
  auto i = j.find(key);
  return i != j.end() && i->is_string() ? i->get<std::string>() : std::string{};
}

// "12.34 USD"; currencies without minor units as whole numbers.
std::string money_text(int64_t minor, const std::string& currency) {
  if (currency.empty())
    return {};
  static const char* whole[] = {"VND", "JPY", "KRW", "CLP", "ISK"};
  for (const char* c : whole)
    if (currency == c)
      return std::to_string(minor) + " " + currency;
  auto sign = minor < 0 ? "-" : "";
  auto abs = minor < 0 ? -minor : minor;
  auto cents = std::to_string(abs % 100);
  return sign + std::to_string(abs / 100) + "." + (cents.size() < 2 ? "0" : "") + cents + " "
         + currency;
}

// "2026-12-03 14:00 UTC": customers read it, so no seconds and no T.
std::string eta_text(int64_t ms) {
  if (ms <= 0)
    return {};
  auto s = util::format_rfc3339_ms(ms);
  return s.size() >= 16 ? s.substr(0, 10) + " " + s.substr(11, 5) + " UTC" : s;
}

// What the feeder remembers of the orders of `events` placed in earlier rounds, in one query.
void load_orders(pqxx::work& txn, const std::vector<projection_event>& events,
                 std::map<std::string, order_info>& orders) {
  std::set<std::string> placed_here;
  array_literal wanted;
  bool any = false;
  for (const auto& ev : events)
    if (ev.type == "placed")
      placed_here.insert(ev.entity_id);
    else if (placed_here.count(ev.entity_id) == 0 && orders.count(ev.entity_id) == 0) {
      orders[ev.entity_id]; // looked up once
      wanted.add_quoted(ev.entity_id);
      any = true;
    }
  if (!any)
    return;
  auto rows = txn.exec_params("SELECT order_id, customer_id, email, total_minor, currency FROM "
                              "notification_orders WHERE order_id = ANY($1::text[])",
                              wanted.done());
  for (const auto& row : rows)
    orders[row[0].as<std::string>()] = {row[1].as<std::string>(), row[2].as<std::string>(),
                                        row[3].as<int64_t>(), row[4].as<std::string>(), true};
}

order_info order_of_placement(const json& placement) {
  order_info o;
  o.customer_id = text_of(placement, "customer_id");
  o.email = text_of(placement, "email");
  auto sums = placement.value("sums", json::object());
  o.total_minor = sums.value("total_minor", int64_t{0});
  o.currency = sums.value("currency", std::string{});
  o.known = !o.customer_id.empty();
  return o;
}

// Variables of the templates, from the order and the event.
std::map<std::string, std::string> variables_of(const std::string& order_id, const order_info& o,
                                                const json& payload) {
  std::map<std::string, std::string> vars;
  vars["order_id"] = order_id;
  vars["total"] = money_text(o.total_minor, o.currency);
  auto fact = payload.value("fact", json::object());
  json data = json::object();
  auto text = text_of(fact, "data");
  if (!text.empty()) {
    data = json::parse(text, nullptr, false);
    if (!data.is_object())
      data = json::object();
  }
  vars["carrier"] = text_of(data, "carrier");
  auto url = text_of(data, "tracking_url");
  // Only a web link goes into a message: anything else a partner sends stays out.
  if (url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0)
    vars["tracking_url"] = url;
  int64_t eta = 0;
  if (auto e = text_of(data, "eta"); !e.empty())
    util::parse_rfc3339_ms(e, eta);
  vars["eta"] = eta_text(eta);
  return vars;
}

// An inbox message planned by this round, on its way into the customer's feed.
struct new_message {
  std::string customer_id;
  int64_t order_seq = 0; ///< the order event's seq
  int64_t at_ms = 0;     ///< when that event became durable
  inbox_item item;
};

// One delivery planned by this round, inserted with the others in one statement.
struct planned {
  std::string key; ///< order_id '/' milestone '/' channel
  std::string customer_id;
  std::string order_id;
  std::string kind;
  std::string milestone;
  std::string channel;
  std::string priority;
  std::string address;
  notify::rendered text;
  int64_t order_seq = 0;
  int64_t recorded_ms = 0;
};

// What the round writes, gathered so that each table gets one statement.
struct round_writes {
  std::map<std::string, order_info> placed; ///< new rows of notification_orders
  std::vector<planned> deliveries;
  std::set<std::string> keys; ///< of `deliveries`: a repeat within the round plans nothing
};

void feed(const projection_event& ev, const feeder_config& cfg,
          std::map<std::string, order_info>& orders,
          const std::map<std::string, notification_preferences>& prefs, round_writes& out) {
  // apply() read every order of the round, from its placement or from notification_orders.
  const auto& o = orders[ev.entity_id];
  if (ev.type == "placed" && o.known)
    out.placed.emplace(ev.entity_id, o);
  notify::order_change c;
  c.type = ev.type;
  c.status = text_of(ev.payload, "status");
  auto fact = ev.payload.value("fact", json::object());
  c.fact_type = text_of(fact, "type");
  c.fact_id = text_of(fact, "external_id");
  c.status_after = text_of(ev.payload, "status_after");
  auto m = notify::milestone_of(c);
  if (m.kind.empty())
    return;
  if (!o.known) {
    // Placed before the feeder started (migration 0013 starts it at the journal's head).
    runtime::logger("pg")->debug("notifications skip {} of order {}: placed before the feeder",
                                 m.kind, ev.entity_id);
    return;
  }
  auto r = cfg.rules.find(m.kind);
  if (r == cfg.rules.end())
    return;
  auto p = prefs.find(o.customer_id);
  auto prefs_now = p != prefs.end() ? p->second : notification_preferences{};
  prefs_now.customer_id = o.customer_id;
  if (prefs_now.version == 0 && prefs_now.email.empty() && !o.email.empty()) {
    // Never set: the checkout's address gets the transactional email it expects.
    prefs_now.email = o.email;
    prefs_now.channels.email = true;
  }
  auto plan = notify::plan_deliveries(r->second, prefs_now);
  auto vars = variables_of(ev.entity_id, o, ev.payload);
  auto text = notify::render(cfg.templates, r->second.template_id, prefs_now.locale, vars);
  for (auto ch : plan.now) {
    auto channel = to_string(ch);
    auto key = ev.entity_id + "/" + m.key + "/" + channel;
    if (!out.keys.insert(key).second)
      continue;
    auto address = ch == notification_channel::email ? prefs_now.email
                   : ch == notification_channel::sms ? prefs_now.phone
                                                     : std::string{};
    out.deliveries.push_back({std::move(key), o.customer_id, ev.entity_id, m.kind, m.key, channel,
                              r->second.urgent ? "urgent" : "normal", std::move(address), text,
                              static_cast<int64_t>(ev.seq), ev.recorded_ms});
  }
}

void insert_orders(pqxx::work& txn, const std::map<std::string, order_info>& placed) {
  if (placed.empty())
    return;
  array_literal id, customer, email, total, currency;
  for (const auto& [order_id, o] : placed) {
    id.add_quoted(order_id);
    customer.add_quoted(o.customer_id);
    email.add_quoted(o.email);
    total.add_raw(std::to_string(o.total_minor));
    currency.add_quoted(o.currency);
  }
  txn.exec_params("INSERT INTO notification_orders (order_id, customer_id, email, total_minor, "
                  "currency) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], "
                  "$4::bigint[], $5::text[]) ON CONFLICT (order_id) DO NOTHING",
                  id.done(), customer.done(), email.done(), total.done(), currency.done());
}

// Inserts the round's deliveries, each keyed so that a replayed event inserts nothing; returns
// the new inbox messages, in the order their events came.
std::vector<new_message> insert_deliveries(pqxx::work& txn, const std::vector<planned>& rows) {
  std::vector<new_message> out;
  if (rows.empty())
    return out;
  array_literal key, customer, order, kind, milestone, channel, priority, address, locale,
    template_id, version, note, subject, body, recorded;
  for (const auto& d : rows) {
    key.add_quoted(d.key);
    customer.add_quoted(d.customer_id);
    order.add_quoted(d.order_id);
    kind.add_quoted(d.kind);
    milestone.add_quoted(d.milestone);
    channel.add_quoted(d.channel);
    priority.add_quoted(d.priority);
    address.add_quoted(d.address);
    locale.add_quoted(d.text.locale);
    template_id.add_quoted(d.text.template_id);
    version.add_raw(std::to_string(d.text.version));
    note.add_quoted(d.text.fallback);
    subject.add_quoted(d.text.subject);
    body.add_quoted(d.text.body);
    recorded.add_raw(std::to_string(d.recorded_ms));
  }
  // In-app deliveries are the inbox: delivered by this insert.
  auto inserted = txn.exec_params(
    "INSERT INTO notifications (delivery_key, customer_id, order_id, kind, milestone, channel, "
    "status, priority, address, locale, template_id, template_version, render_note, subject, "
    "body, event_recorded_at, delivered_at) SELECT k, c, o, kd, m, ch, CASE WHEN ch = 'in_app' "
    "THEN 'delivered' ELSE 'pending' END, pr, a, l, t, v, n, s, b, to_timestamp(r::double "
    "precision / 1000), CASE WHEN ch = 'in_app' THEN now() END FROM unnest($1::text[], "
    "$2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], "
    "$9::text[], $10::text[], $11::int[], $12::text[], $13::text[], $14::text[], $15::bigint[]) "
    "AS u(k, c, o, kd, m, ch, pr, a, l, t, v, n, s, b, r) ON CONFLICT (delivery_key) DO NOTHING "
    "RETURNING delivery_key, id::text, (extract(epoch FROM created_at) * 1000)::bigint",
    key.done(), customer.done(), order.done(), kind.done(), milestone.done(), channel.done(),
    priority.done(), address.done(), locale.done(), template_id.done(), version.done(), note.done(),
    subject.done(), body.done(), recorded.done());
  std::map<std::string, std::pair<std::string, int64_t>> new_ids;
  for (const auto& row : inserted)
    new_ids[row[0].as<std::string>()] = {row[1].as<std::string>(), row[2].as<int64_t>()};
  // A new inbox message joins the customer's feed (pushed on customer:{id}); a replayed event
  // inserted nothing and adds nothing.
  for (const auto& d : rows) {
    auto i = new_ids.find(d.key);
    if (d.channel != "in_app" || i == new_ids.end())
      continue;
    out.push_back({d.customer_id,
                   d.order_seq,
                   d.recorded_ms,
                   {i->second.first, d.order_id, d.kind, d.text.locale, d.text.subject, d.text.body,
                    i->second.second}});
  }
  return out;
}

// Appends the new inbox messages to their customers' feeds, numbered after what is there, and
// announces them once the round commits.
void append_to_feeds(pqxx::work& txn, std::vector<new_message>& messages,
                     std::vector<committed_event>& published) {
  if (messages.empty())
    return;
  std::set<std::string> customers;
  for (const auto& m : messages)
    customers.insert(m.customer_id);
  auto head = lock_feed_heads(txn, customers);
  array_literal f_customer, f_seq, f_order, f_order_seq, f_at, f_id;
  for (auto& m : messages) {
    auto seq = ++head[m.customer_id];
    f_customer.add_quoted(m.customer_id);
    f_seq.add_raw(std::to_string(seq));
    f_order.add_quoted(m.item.order_id);
    f_order_seq.add_raw(std::to_string(m.order_seq));
    f_at.add_raw(std::to_string(m.at_ms));
    f_id.add_raw(m.item.id);
    customer_event e{
      "notification", {m.item.order_id, "", static_cast<uint64_t>(m.order_seq), m.at_ms},
      "notification", "",
      m.at_ms,        std::move(m.item)};
    published.push_back(
      {"customer", m.customer_id, static_cast<uint64_t>(seq), caf::make_message(std::move(e))});
  }
  txn.exec_params("INSERT INTO customer_feed (customer_id, seq, order_id, order_seq, change, "
                  "status, at_ms, notification_id) SELECT c, s, o, os, 'notification', '', a, n "
                  "FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], "
                  "$6::bigint[]) AS t(c, s, o, os, a, n)",
                  f_customer.done(), f_seq.done(), f_order.done(), f_order_seq.done(), f_at.done(),
                  f_id.done());
}

void apply(pqxx::work& txn, const std::vector<projection_event>& events,
           std::vector<committed_event>& published) {
  auto cfg = config_now();
  // Reads first (the orders, then their customers' preferences), one query each; then every
  // event is planned in memory; then each table gets one statement.
  std::map<std::string, order_info> orders;
  load_orders(txn, events, orders);
  for (const auto& ev : events)
    if (ev.type == "placed")
      orders[ev.entity_id] = order_of_placement(ev.payload.value("placement", json::object()));
  std::set<std::string> customers;
  for (const auto& [id, o] : orders)
    if (o.known)
      customers.insert(o.customer_id);
  auto prefs = load_preferences(txn, customers);
  round_writes writes;
  for (const auto& ev : events)
    feed(ev, *cfg, orders, prefs, writes);
  insert_orders(txn, writes.placed);
  auto messages = insert_deliveries(txn, writes.deliveries);
  append_to_feeds(txn, messages, published);
}

} // namespace

const projection& notifications_projection() {
  // No tables to empty: a rebuild would tell customers again (rebuild_projection refuses it).
  // Imported orders have no Mercato customer to tell: the marketplace tells its buyers.
  static const projection p{"notifications", {"order"}, {}, apply, true, {}, {}};
  return p;
}

notify::rule notification_rule(const std::string& kind) {
  auto cfg = config_now();
  auto i = cfg->rules.find(kind);
  if (i != cfg->rules.end())
    return i->second;
  notify::rule r;
  r.kind = kind;
  r.template_id = kind;
  r.channels = {notification_channel::in_app, notification_channel::email};
  return r;
}

std::string set_notification_rules(const std::string& overrides) {
  auto cfg = std::make_shared<feeder_config>();
  if (auto err = notify::apply_rule_overrides(cfg->rules, overrides); !err.empty())
    return err;
  std::atomic_store(&current_config(), std::shared_ptr<const feeder_config>{std::move(cfg)});
  return {};
}

} // namespace mercato::pg
