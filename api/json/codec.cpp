#include "api/json/codec.hpp"

#include "api/http/router.hpp"
#include "api/json/fields.hpp"
#include "api/json/writer.hpp"
#include "runtime/util/encoding.hpp"
#include "runtime/util/text.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <functional>
#include <optional>

namespace mercato::api {

namespace jw = mercato::api::json;

namespace detail {

bool is_id_char(char c, bool allow_colon) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
         || c == '_' || c == '-' || (allow_colon && c == ':');
}

bool is_id(std::string_view s, size_t max_len, bool allow_colon) noexcept {
  if (s.empty() || s.size() > max_len)
    return false;
  for (char c : s)
    if (!is_id_char(c, allow_colon))
      return false;
  return true;
}

bool has_control_chars(std::string_view s) noexcept {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return true;
  return false;
}

bool is_storable_json(const njson& value) noexcept {
  if (value.is_string())
    return util::is_storable_text(value.get_ref<const std::string&>());
  if (value.is_object()) {
    for (const auto& [key, item] : value.items())
      if (!util::is_storable_text(key) || !is_storable_json(item))
        return false;
  } else if (value.is_array()) {
    for (const auto& item : value)
      if (!is_storable_json(item))
        return false;
  }
  return true;
}

// Nesting depth of a JSON text, ignoring brackets inside strings; stops counting past `limit`.
// Guards the parser and the DOM's destructor against pathological nesting.
bool depth_within(std::string_view s, int limit) noexcept {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit)
        return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

// Parses `body` into an object; on failure records the problem under "body".
std::optional<njson> parse_object(std::string_view body, validation& v) {
  if (body.empty()) {
    v.add("body", "a JSON object is required");
    return std::nullopt;
  }
  if (!depth_within(body, max_depth)) {
    v.add("body", "JSON nesting is deeper than " + std::to_string(max_depth));
    return std::nullopt;
  }
  njson doc;
  try {
    doc = njson::parse(body.begin(), body.end());
  } catch (const njson::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: ...";
    // keep the part after the id.
    std::string what = e.what();
    auto pos = what.find("] ");
    v.add("body", "malformed JSON: " + (pos == std::string::npos ? what : what.substr(pos + 2)));
    return std::nullopt;
  } catch (const njson::out_of_range&) {
    // A number beyond what a double holds (1e400): the lexer gives up with out_of_range.
    v.add("body", "malformed JSON: a number is out of range");
    return std::nullopt;
  }
  if (!doc.is_object()) {
    v.add("body", "must be a JSON object");
    return std::nullopt;
  }
  return doc;
}

std::string range_text(int64_t lo, int64_t hi) {
  return "must be an integer between " + std::to_string(lo) + " and " + std::to_string(hi);
}

// Reads an integer field within [lo, hi]. Absent or null: error if required, else false.
bool get_int(const njson& obj, const char* name, int64_t lo, int64_t hi, bool required,
             int64_t& out, validation& v) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) {
    if (required)
      v.add(name, "is required");
    return false;
  }
  if (!it->is_number_integer()) {
    v.add(name, it->is_number() ? range_text(lo, hi) : "must be an integer");
    return false;
  }
  if (it->is_number_unsigned()) {
    auto u = it->get<uint64_t>();
    if (hi < 0 || u > static_cast<uint64_t>(hi)) {
      v.add(name, range_text(lo, hi));
      return false;
    }
    out = static_cast<int64_t>(u);
  } else {
    out = it->get<int64_t>();
  }
  if (out < lo || out > hi) {
    v.add(name, range_text(lo, hi));
    return false;
  }
  return true;
}

bool get_string(const njson& obj, const char* name, size_t min_len, size_t max_len, charset cs,
                bool required, std::string& out, validation& v) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) {
    if (required)
      v.add(name, "is required");
    return false;
  }
  if (!it->is_string()) {
    v.add(name, "must be a string");
    return false;
  }
  const auto& s = it->get_ref<const std::string&>();
  switch (cs) {
  case charset::id:
  case charset::id_colon:
    if (!is_id(s, max_len, cs == charset::id_colon) || s.size() < min_len) {
      v.add(name, "must be " + std::to_string(min_len) + " to " + std::to_string(max_len)
                    + " characters of "
                    + (cs == charset::id ? "[A-Za-z0-9._-]" : "[A-Za-z0-9._:-]"));
      return false;
    }
    break;
  case charset::upper3:
    if (s.size() != 3 || !(s[0] >= 'A' && s[0] <= 'Z') || !(s[1] >= 'A' && s[1] <= 'Z')
        || !(s[2] >= 'A' && s[2] <= 'Z')) {
      v.add(name, "must be an ISO 4217 code of 3 upper-case letters");
      return false;
    }
    break;
  case charset::no_control:
  case charset::any: {
    // The lexer refuses invalid UTF-8 but decodes "\u0000", which the journal cannot store.
    if (!util::is_storable_text(s)) {
      v.add(name, unstorable_text);
      return false;
    }
    auto n = utf8_length(s);
    if (n < min_len || n > max_len) {
      v.add(name, min_len > 0 ? "must be " + std::to_string(min_len) + " to "
                                  + std::to_string(max_len) + " characters"
                              : "must be at most " + std::to_string(max_len) + " characters");
      return false;
    }
    if (cs == charset::no_control && has_control_chars(s)) {
      v.add(name, "must not contain control characters");
      return false;
    }
    break;
  }
  }
  out = s;
  return true;
}

// A free-text query parameter (`q`, `category`): at most `max_len` characters, none of them a
// control character. Percent-decoding may yield any byte, so UTF-8 is checked here.
void get_query_text(const std::string& key, const std::string& value, size_t max_len,
                    std::string& out, validation& v) {
  if (!util::is_storable_text(value))
    v.add(key, unstorable_text);
  else if (utf8_length(value) > max_len || has_control_chars(value))
    v.add(key,
          "must be at most " + std::to_string(max_len) + " characters without control characters");
  else
    out = value;
}

void for_each_query_param(std::string_view query, validation& v,
                          const std::function<void(const std::string&, const std::string&)>& fn) {
  std::string key;
  std::string value;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty())
      continue;
    auto eq = pair.find('=');
    auto raw_key = pair.substr(0, eq);
    auto raw_value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (!util::percent_decode(raw_key, key, true))
      continue; // an undecodable key is ignored like any unknown key
    if (!util::percent_decode(raw_value, value, true)) {
      v.add(key, "malformed percent-encoding");
      continue;
    }
    fn(key, value);
  }
}

void get_page_limit(const std::string& value, int32_t& out, validation& v) {
  int32_t n = 0;
  auto res = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || res.ec != std::errc{} || res.ptr != value.data() + value.size() || n < 1
      || n > limits::max_page)
    v.add("limit", range_text(1, limits::max_page));
  else
    out = n;
}

void get_cursor(const std::string& value, std::string& out, validation& v) {
  if (value.size() > limits::max_cursor || has_control_chars(value)
      || !util::is_storable_text(value))
    v.add("cursor", "is not a cursor returned by this API");
  else
    out = value;
}

} // namespace detail

using namespace detail;

// -- validation --------------------------------------------------------------------------------

response validation::to_response() const {
  std::string detail;
  if (errors.empty()) {
    detail = "invalid request";
  } else {
    detail = errors.front().field + ": " + errors.front().message;
    if (errors.size() > 1)
      detail += " (and " + std::to_string(errors.size() - 1) + " more, see errors)";
  }
  return problem_response(400, "invalid_request", std::move(detail), errors);
}

bool is_valid_sku(std::string_view sku) noexcept {
  return is_id(sku, limits::max_sku, false);
}

bool is_valid_reservation_id(std::string_view id) noexcept {
  return is_id(id, limits::max_reservation_id, true);
}

size_t utf8_length(std::string_view s) noexcept {
  size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
      ++n;
  return n;
}

// -- responses ---------------------------------------------------------------------------------

std::string to_json(const stock_view& x) {
  std::string out;
  out.reserve(96 + x.sku.size());
  jw::object_writer w{out};
  w.field("sku", x.sku)
    .field("on_hand", x.on_hand)
    .field("reserved", x.reserved)
    .field("available", x.available)
    .field("version", x.version)
    .close();
  return out;
}

std::string to_json(const reservation_view& x) {
  std::string out;
  out.reserve(96 + x.sku.size() + x.reservation_id.size());
  jw::object_writer w{out};
  w.field("reservation_id", x.reservation_id)
    .field("sku", x.sku)
    .field("quantity", x.quantity)
    .time_field("expires_at", x.expires_at_ms)
    .close();
  return out;
}

void append_json(std::string& out, const product& x) {
  jw::object_writer w{out};
  w.field("sku", x.sku)
    .field("name", x.name)
    .field("description", x.description)
    .field("category", x.category)
    .field("seller_id", x.seller_id)
    .field("price_minor", x.price_minor)
    .field("currency", x.currency)
    .time_field("created_at", x.created_at_ms)
    .time_field("updated_at", x.updated_at_ms)
    .field("version", x.version)
    .close();
}

std::string to_json(const product& x) {
  std::string out;
  out.reserve(256 + x.description.size());
  append_json(out, x);
  return out;
}

std::string to_json(const product_page& x) {
  return jw::page(
    x.items, x.next_cursor, [](std::string& out, const product& p) { append_json(out, p); }, 320);
}

// -- requests ----------------------------------------------------------------------------------

validation parse_stock_set(std::string_view body, stock_set_cmd& out) {
  validation v;
  auto doc = parse_object(body, v);
  if (!doc)
    return v;
  get_int(*doc, "on_hand", 0, limits::max_on_hand, true, out.on_hand, v);
  return v;
}

validation parse_stock_adjust(std::string_view body, stock_adjust_cmd& out) {
  validation v;
  auto doc = parse_object(body, v);
  if (!doc)
    return v;
  if (get_int(*doc, "delta", -limits::max_abs_delta, limits::max_abs_delta, true, out.delta, v)
      && out.delta == 0)
    v.add("delta", "must not be zero");
  get_string(*doc, "reason", 1, limits::max_reason, charset::no_control, true, out.reason, v);
  return v;
}

validation parse_reserve(std::string_view body, reserve_cmd& out, int64_t max_ttl_s) {
  validation v;
  auto doc = parse_object(body, v);
  if (!doc)
    return v;
  get_string(*doc, "reservation_id", 1, limits::max_reservation_id, charset::id_colon, true,
             out.reservation_id, v);
  get_int(*doc, "quantity", 1, limits::max_quantity, true, out.quantity, v);
  int64_t ttl_s = 0;
  if (max_ttl_s < 1 || max_ttl_s > limits::max_ttl_s)
    max_ttl_s = limits::max_ttl_s;
  if (get_int(*doc, "ttl_s", 1, max_ttl_s, false, ttl_s, v))
    out.ttl_ms = ttl_s * 1000;
  else
    out.ttl_ms = 0;
  return v;
}

validation parse_product(std::string_view body, std::string_view sku, product& out) {
  validation v;
  auto doc = parse_object(body, v);
  if (!doc)
    return v;
  out.sku = std::string{sku};
  if (auto it = doc->find("sku"); it != doc->end() && !it->is_null()) {
    if (!it->is_string() || it->get_ref<const std::string&>() != sku)
      v.add("sku", "must equal the SKU in the path (or be omitted)");
  }
  get_string(*doc, "name", 1, limits::max_name, charset::no_control, true, out.name, v);
  get_string(*doc, "description", 0, limits::max_description, charset::any, false, out.description,
             v);
  get_string(*doc, "category", 0, limits::max_category, charset::no_control, false, out.category,
             v);
  // "" is no seller, as GET renders a product without one: its JSON can be PUT back as it is.
  if (auto it = doc->find("seller_id");
      it != doc->end() && !it->is_null()
      && !(it->is_string() && it->get_ref<const std::string&>().empty()))
    get_string(*doc, "seller_id", 1, limits::max_seller_id, charset::id_colon, false, out.seller_id,
               v);
  get_int(*doc, "price_minor", 0, limits::max_price_minor, true, out.price_minor, v);
  get_string(*doc, "currency", 3, 3, charset::upper3, true, out.currency, v);
  return v;
}

validation parse_product_query(std::string_view query, product_query& out) {
  validation v;
  out = product_query{};
  out.limit = limits::default_page;
  for_each_query_param(query, v, [&](const std::string& key, const std::string& value) {
    if (key == "q")
      get_query_text(key, value, limits::max_query, out.q, v);
    else if (key == "category")
      get_query_text(key, value, limits::max_category, out.category, v);
    else if (key == "limit")
      get_page_limit(value, out.limit, v);
    else if (key == "cursor")
      get_cursor(value, out.cursor, v);
  });
  return v;
}

} // namespace mercato::api
