#include "api/json/commerce_codec.hpp"

#include "api/json/fields.hpp"
#include "api/json/problem.hpp"
#include "api/json/writer.hpp"
#include "runtime/util/crypto.hpp"
#include "runtime/util/time.hpp"

namespace mercato::api {

namespace jw = mercato::api::json;
using namespace detail;

void append_json(std::string& out, const cart_line& l) {
  jw::object_writer w{out};
  w.field("sku", l.sku)
    .field("name", l.name)
    .field("quantity", l.quantity)
    .field("unit_price_minor", l.unit_price_minor)
    .field("line_total_minor", l.quantity * l.unit_price_minor)
    .close();
}

void append_json(std::string& out, const timeline_entry& f) {
  jw::object_writer w{out};
  w.field("seq", f.seq)
    .field("type", f.type)
    .field("source", f.source)
    .field("external_id", f.external_id)
    .time_field("occurred_at", f.occurred_at_ms)
    .time_field("recorded_at", f.recorded_at_ms)
    .field("label", f.label);
  w.raw_key("data");
  out += f.data.empty() ? "{}" : f.data; // stored as the JSON object the API accepted
  w.close();
}

namespace {

void append_totals(std::string& out, const totals& t) {
  jw::object_writer w{out};
  w.field("subtotal_minor", t.subtotal_minor)
    .field("discount_minor", t.discount_minor)
    .field("shipping_minor", t.shipping_minor)
    .field("total_minor", t.total_minor)
    .field("currency", t.currency)
    .close();
}

void append_lines(std::string& out, const std::vector<cart_line>& lines) {
  out.push_back('[');
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    append_json(out, lines[i]);
  }
  out.push_back(']');
}

void optional_string(jw::object_writer& w, std::string_view name, const std::string& v) {
  if (v.empty())
    w.null_field(name);
  else
    w.field(name, v);
}

void optional_time(jw::object_writer& w, std::string_view name, int64_t ms) {
  if (ms == 0)
    w.null_field(name);
  else
    w.time_field(name, ms);
}

// An optional RFC 3339 field; absent or null leaves `out` at 0.
void get_time(const njson& obj, const char* name, int64_t& out, validation& v) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null())
    return;
  if (!it->is_string() || !util::parse_rfc3339_ms(it->get_ref<const std::string&>(), out))
    v.add(name, "must be an RFC 3339 date-time");
}

// An object-valued field; records an error unless it is an object (or absent and optional).
const njson* get_object(const njson& obj, const char* name, bool required, validation& v) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) {
    if (required)
      v.add(name, "is required");
    return nullptr;
  }
  if (!it->is_object()) {
    v.add(name, "must be an object");
    return nullptr;
  }
  return &*it;
}

// Nested field errors are reported as "parent.field".
void prefix_errors(validation& nested, const char* parent, validation& v) {
  for (auto& e : nested.errors)
    v.add(std::string{parent} + "." + e.field, std::move(e.message));
}

} // namespace

// -- responses -----------------------------------------------------------------------------------

std::string to_json(const cart_view& x) {
  std::string out;
  out.reserve(256 + x.lines.size() * 128);
  jw::object_writer w{out};
  w.field("cart_id", x.cart_id)
    .field("customer_id", x.customer_id)
    .field("currency", x.sums.currency);
  w.raw_key("lines");
  append_lines(out, x.lines);
  optional_string(w, "coupon_code", x.coupon_code);
  w.raw_key("totals");
  append_totals(out, x.sums);
  optional_string(w, "checkout_id", x.checkout_id);
  w.time_field("expires_at", x.expires_at_ms).field("version", x.version).close();
  return out;
}

std::string to_json(const coupon_view& x) {
  std::string out;
  jw::object_writer w{out};
  const auto& t = x.terms;
  w.field("code", t.code)
    .field("kind", t.kind)
    .field("value", t.value)
    .field("min_subtotal_minor", t.min_subtotal_minor)
    .field("usage_limit", t.usage_limit)
    .field("per_customer_limit", t.per_customer_limit);
  optional_time(w, "starts_at", t.starts_at_ms);
  optional_time(w, "ends_at", t.ends_at_ms);
  w.field("used", x.used).field("reserved", x.reserved).field("version", x.version).close();
  return out;
}

std::string to_json(const checkout_view& x) {
  std::string out;
  out.reserve(512);
  jw::object_writer w{out};
  w.field("checkout_id", x.checkout_id)
    .field("order_id", x.order_id)
    .field("status", x.status)
    .field("cart_id", x.cmd.cart_id)
    .field("attempt", static_cast<int64_t>(x.attempt));
  auto sums = x.cart.sums;
  if (x.status == "completed") {
    sums.discount_minor = x.discount_minor;
    sums.total_minor = sums.subtotal_minor - sums.discount_minor + sums.shipping_minor;
  }
  w.raw_key("totals");
  append_totals(out, sums);
  w.raw_key("steps");
  out.push_back('[');
  for (size_t i = 0; i < x.steps.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    const auto& s = x.steps[i];
    jw::object_writer sw{out};
    sw.field("name", s.name).field("status", s.status);
    optional_string(sw, "detail", s.detail);
    sw.time_field("at", s.at_ms).close();
  }
  out.push_back(']');
  if (x.status == "failed") {
    w.raw_key("error");
    jw::object_writer ew{out};
    ew.field("code", x.code).field("detail", x.detail).field("retryable", x.retryable);
    if (!x.skus.empty()) {
      ew.raw_key("skus");
      out.push_back('[');
      for (size_t i = 0; i < x.skus.size(); ++i) {
        if (i > 0)
          out.push_back(',');
        jw::append_string(out, x.skus[i]);
      }
      out.push_back(']');
    }
    ew.close();
  }
  w.time_field("created_at", x.created_at_ms)
    .time_field("updated_at", x.updated_at_ms)
    .field("version", x.version)
    .close();
  return out;
}

std::string to_json(const order_view& x, order_audience audience) {
  const auto& o = x.order;
  const auto& p = o.placement;
  std::string out;
  out.reserve(768 + p.lines.size() * 128);
  jw::object_writer w{out};
  w.field("order_id", p.order_id).field("customer_id", p.customer_id).field("status", o.status);
  w.field("platform", to_string(o.market.platform));
  if (o.market.platform
      != sales_platform::web) // what the marketplace calls the order and its state
    w.field("order_code", o.market.order_code).field("platform_status", o.market.native_status);
  w.raw_key("lines");
  append_lines(out, p.lines);
  w.raw_key("totals");
  append_totals(out, p.sums);
  if (audience == order_audience::full) {
    w.raw_key("shipping_address");
    {
      jw::object_writer a{out};
      a.field("name", p.ship_to.name)
        .field("line1", p.ship_to.line1)
        .field("city", p.ship_to.city)
        .field("postal_code", p.ship_to.postal_code)
        .field("country", p.ship_to.country);
      optional_string(a, "phone", p.ship_to.phone);
      a.close();
    }
    optional_string(w, "email", p.email);
    optional_string(w, "cancel_reason", o.cancel_reason); // the customer's own words
  }
  optional_string(w, "coupon_code", p.coupon_code);
  w.field("checkout_id", p.checkout_id).field("payment_id", p.payment_id);
  optional_time(w, "eta", o.eta_ms);
  w.time_field("created_at", o.created_at_ms)
    .time_field("updated_at", o.updated_at_ms)
    .field("version", x.version)
    .close();
  return out;
}

std::string to_json(const order_page& x) {
  std::string out;
  out.reserve(64 + x.items.size() * 256);
  jw::object_writer w{out};
  w.raw_key("items");
  out.push_back('[');
  for (size_t i = 0; i < x.items.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    const auto& o = x.items[i];
    jw::object_writer ow{out};
    ow.field("order_id", o.order_id).field("customer_id", o.customer_id).field("status", o.status);
    ow.raw_key("totals");
    {
      jw::object_writer t{out};
      t.field("total_minor", o.total_minor).field("currency", o.currency).close();
    }
    ow.field("line_count", o.lines)
      .time_field("created_at", o.created_at_ms)
      .time_field("updated_at", o.updated_at_ms)
      .field("version", o.version)
      .close();
  }
  out.push_back(']');
  optional_string(w, "next_cursor", x.next_cursor);
  w.close();
  return out;
}

std::string to_json(const customer_view& x) {
  std::string out;
  jw::object_writer w{out};
  w.field("customer_id", x.customer.customer_id);
  w.raw_key("orders");
  out.push_back('[');
  for (size_t i = 0; i < x.customer.orders.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    const auto& o = x.customer.orders[i];
    jw::object_writer ow{out};
    ow.field("order_id", o.order_id)
      .field("status", o.status)
      .field("order_seq", o.order_seq)
      .time_field("updated_at", o.updated_at_ms)
      .close();
  }
  out.push_back(']');
  w.raw_key("inbox");
  out.push_back('[');
  for (size_t i = 0; i < x.customer.inbox.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    append_json(out, x.customer.inbox[i]);
  }
  out.push_back(']');
  w.field("version", x.version);
  w.close();
  return out;
}

void append_json(std::string& out, const inbox_item& x) {
  jw::object_writer w{out};
  w.field("id", x.id)
    .field("order_id", x.order_id)
    .field("kind", x.kind)
    .field("locale", x.locale)
    .field("subject", x.subject)
    .field("body", x.body)
    .time_field("created_at", x.created_at_ms)
    .close();
}

std::string timeline_json(const order_view& x) {
  const auto& o = x.order;
  std::string out;
  out.reserve(128 + o.timeline.size() * 256);
  jw::object_writer w{out};
  w.field("order_id", o.placement.order_id).field("status", o.status);
  optional_time(w, "eta", o.eta_ms);
  w.raw_key("events");
  out.push_back('[');
  for (size_t i = 0; i < o.timeline.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    append_json(out, o.timeline[i]);
  }
  out.push_back(']');
  w.close();
  return out;
}

response checkout_failure(const checkout_view& x) {
  uint16_t status = 409;
  if (x.code == "payment_declined")
    status = 402;
  else if (x.code == "unavailable")
    status = 503;
  auto res = problem_response(status, x.code, x.detail);
  res.prob.skus = x.skus;
  if (status == 503)
    res.retry_after_s = 1;
  return res;
}

// -- requests ------------------------------------------------------------------------------------

bool is_valid_entity_id(std::string_view id) noexcept {
  return is_id(id, commerce_limits::max_cart_id, false);
}

bool is_valid_idempotency_key(std::string_view key) noexcept {
  if (key.empty() || key.size() > commerce_limits::max_idempotency_key)
    return false;
  for (char c : key)
    if (c < 0x21 || c > 0x7e)
      return false;
  return true;
}

validation parse_cart_create(std::string_view body, std::string& currency) {
  validation v;
  currency = "USD";
  if (body.empty())
    return v;
  auto obj = parse_object(body, v);
  if (obj)
    get_string(*obj, "currency", 3, 3, charset::upper3, false, currency, v);
  return v;
}

validation parse_cart_line(std::string_view body, int64_t& quantity) {
  validation v;
  if (auto obj = parse_object(body, v))
    get_int(*obj, "quantity", 0, commerce_limits::max_line_quantity, true, quantity, v);
  return v;
}

validation parse_coupon_code(std::string_view body, std::string& code) {
  validation v;
  if (auto obj = parse_object(body, v))
    get_string(*obj, "code", 1, commerce_limits::max_coupon_code, charset::id, true, code, v);
  return v;
}

validation parse_coupon(std::string_view body, std::string_view code, coupon_terms& out) {
  validation v;
  if (!is_id(code, commerce_limits::max_coupon_code, false)) {
    v.add("code", "must be 1 to 64 characters of [A-Za-z0-9._-]");
    return v;
  }
  auto obj = parse_object(body, v);
  if (!obj)
    return v;
  out.code = std::string{code};
  if (get_string(*obj, "kind", 1, 16, charset::id, true, out.kind, v) && out.kind != "percent"
      && out.kind != "fixed")
    v.add("kind", "must be percent or fixed");
  if (out.kind == "percent")
    get_int(*obj, "value", 1, 100, true, out.value, v);
  else
    get_int(*obj, "value", 1, limits::max_price_minor, true, out.value, v);
  get_int(*obj, "min_subtotal_minor", 0, limits::max_price_minor, false, out.min_subtotal_minor, v);
  get_int(*obj, "usage_limit", 0, 1'000'000'000, false, out.usage_limit, v);
  get_int(*obj, "per_customer_limit", 0, 1'000'000'000, false, out.per_customer_limit, v);
  get_time(*obj, "starts_at", out.starts_at_ms, v);
  get_time(*obj, "ends_at", out.ends_at_ms, v);
  if (out.starts_at_ms != 0 && out.ends_at_ms != 0 && out.ends_at_ms <= out.starts_at_ms)
    v.add("ends_at", "must be after starts_at");
  return v;
}

validation parse_checkout(std::string_view body, checkout_cmd& out) {
  validation v;
  auto obj = parse_object(body, v);
  if (!obj)
    return v;
  get_string(*obj, "cart_id", 1, commerce_limits::max_cart_id, charset::id, true, out.cart_id, v);
  if (auto pay = get_object(*obj, "payment", true, v)) {
    validation pv;
    std::string method;
    if (get_string(*pay, "method", 1, 16, charset::id, true, method, pv) && method != "card")
      pv.add("method", "must be card");
    get_string(*pay, "token", 1, commerce_limits::max_token, charset::id_colon, true,
               out.payment_token, pv);
    prefix_errors(pv, "payment", v);
  }
  if (auto addr = get_object(*obj, "shipping_address", true, v)) {
    validation av;
    constexpr auto n = commerce_limits::max_address_field;
    auto& a = out.ship_to;
    get_string(*addr, "name", 1, n, charset::no_control, true, a.name, av);
    get_string(*addr, "line1", 1, n, charset::no_control, true, a.line1, av);
    get_string(*addr, "city", 1, n, charset::no_control, true, a.city, av);
    get_string(*addr, "postal_code", 1, 32, charset::no_control, true, a.postal_code, av);
    if (get_string(*addr, "country", 2, 2, charset::id, true, a.country, av)
        && !(std::isupper(static_cast<unsigned char>(a.country[0]))
             && std::isupper(static_cast<unsigned char>(a.country[1]))))
      av.add("country", "must be an ISO 3166-1 alpha-2 code");
    get_string(*addr, "phone", 1, 32, charset::no_control, false, a.phone, av);
    prefix_errors(av, "shipping_address", v);
  }
  if (get_string(*obj, "email", 3, commerce_limits::max_email, charset::no_control, false,
                 out.email, v)
      && out.email.find('@') == std::string::npos)
    v.add("email", "must be an email address");
  if (v.ok())
    out.body_digest = util::sha256_hex(obj->dump()); // std::map keys: sorted, canonical
  return v;
}

validation parse_order_query(std::string_view query, order_query& out) {
  validation v;
  out = order_query{};
  out.limit = limits::default_page;
  for_each_query_param(query, v, [&](const std::string& key, const std::string& value) {
    if (key == "status") {
      if (!is_id(value, 32, false))
        v.add("status", "must be an order status");
      else
        out.status = value;
    } else if (key == "customer_id") {
      if (!is_id(value, 128, true))
        v.add("customer_id", "must be 1 to 128 characters of [A-Za-z0-9._:-]");
      else
        out.customer_id = value;
    } else if (key == "limit") {
      get_page_limit(value, out.limit, v);
    } else if (key == "cursor") {
      get_cursor(value, out.cursor, v);
    }
  });
  return v;
}

validation read_order_fact(const njson& obj, order_fact_cmd& out) {
  validation v;
  if (get_string(obj, "source", 1, 32, charset::id, true, out.source, v)
      && !is_event_source(out.source))
    v.add("source", "must be payment, manufacturing, fulfillment, logistics or support");
  if (get_string(obj, "type", 1, 64, charset::id, true, out.type, v) && !is_event_type(out.type))
    v.add("type", "is not a known event type");
  get_string(obj, "external_id", 1, commerce_limits::max_external_id, charset::id_colon, true,
             out.external_id, v);
  auto at = obj.find("occurred_at");
  if (at == obj.end() || at->is_null())
    v.add("occurred_at", "is required");
  else
    get_time(obj, "occurred_at", out.occurred_at_ms, v);
  auto data = obj.find("data");
  if (data != obj.end() && !data->is_null()) {
    if (!data->is_object()) {
      v.add("data", "must be an object");
    } else if (!is_storable_json(*data)) {
      v.add("data", std::string{"keys and strings "} + unstorable_text);
    } else {
      out.data = data->dump();
      if (out.data.size() > commerce_limits::max_fact_data)
        v.add("data", "must be at most " + std::to_string(commerce_limits::max_fact_data)
                        + " bytes of JSON");
    }
  }
  if (out.type == "eta_updated") {
    int64_t eta = 0;
    if (data == obj.end() || !data->is_object() || !data->contains("eta")) {
      v.add("data.eta", "is required for eta_updated");
    } else {
      validation ev;
      get_time(*data, "eta", eta, ev);
      if (!ev.ok() || eta == 0)
        v.add("data.eta", "must be an RFC 3339 date-time");
      out.eta_ms = eta;
    }
  }
  return v;
}

validation parse_order_fact(std::string_view body, order_fact_cmd& out) {
  validation v;
  auto obj = parse_object(body, v);
  if (!obj)
    return v;
  return read_order_fact(*obj, out);
}

validation parse_cancel(std::string_view body, std::string& reason) {
  validation v;
  if (body.empty())
    return v;
  if (auto obj = parse_object(body, v))
    get_string(*obj, "reason", 1, limits::max_reason, charset::no_control, false, reason, v);
  return v;
}

} // namespace mercato::api
