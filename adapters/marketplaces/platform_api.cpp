#include "adapters/marketplaces/platform_api.hpp"

#include "adapters/marketplaces/native.hpp"
#include "runtime/util/crypto.hpp"
#include "runtime/util/encoding.hpp"
#include "runtime/util/time.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

namespace mercato::marketplaces {

namespace {

using json = nlohmann::json;
using params = std::vector<std::pair<std::string, std::string>>;
using outcome = page_result::outcome;

// Shopee's detail and escrow calls take at most 50 orders.
constexpr size_t shopee_detail_max = 50;

std::string query_string(const params& q) {
  std::string out;
  for (const auto& [k, v] : q) {
    if (!out.empty())
      out.push_back('&');
    out += util::percent_encode(k);
    out.push_back('=');
    out += util::percent_encode(v);
  }
  return out;
}

std::string sorted_concat(params q, std::initializer_list<std::string_view> skip) {
  std::sort(q.begin(), q.end());
  std::string out;
  for (const auto& [k, v] : q)
    if (std::find(skip.begin(), skip.end(), k) == skip.end())
      out += k + v;
  return out;
}

page_result ok_page() {
  page_result r;
  r.result = outcome::ok;
  return r;
}

page_result failure(std::string why) {
  page_result r;
  r.result = outcome::failed;
  r.error = std::move(why);
  return r;
}

// The parsed body of a 200 answer, or the page_result that ends the attempt.
struct answer {
  std::optional<json> doc;
  page_result stop;
};

answer read_answer(const net::http_call_result& res, const std::string& path) {
  answer a;
  if (res.status == 429) {
    a.stop.result = outcome::rate_limited;
    a.stop.retry_after = res.retry_after;
    a.stop.error = "429 from " + path;
    return a;
  }
  if (res.status == 0) {
    a.stop = failure(path + ": " + res.error);
    return a;
  }
  if (res.status == 401 || res.status == 403) {
    a.stop = failure("HTTP " + std::to_string(res.status) + " from " + path);
    a.stop.result = outcome::unauthorized;
    return a;
  }
  if (res.status != 200) {
    a.stop = failure("HTTP " + std::to_string(res.status) + " from " + path);
    return a;
  }
  try {
    a.doc = parse_exact(res.body);
  } catch (const json::exception&) {
    a.stop = failure("not JSON from " + path);
  }
  if (a.doc && !a.doc->is_object()) {
    a.doc.reset();
    a.stop = failure("not a JSON object from " + path);
  }
  return a;
}

std::string text_of(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string iso8601_utc(int64_t unix_s) {
  return util::format_utc(unix_s, "%Y-%m-%dT%H:%M:%S+00:00");
}

// -- TikTok Shop: one search call returns whole orders --

page_result tiktok_page(const api_shop& shop, const update_window& w, const std::string& token,
                        const http_fn& http, int64_t now_ms, std::chrono::milliseconds timeout) {
  const std::string path = "/order/202309/orders/search";
  params q{{"app_key", shop.app_key},     {"page_size", std::to_string(shop.page_size)},
           {"shop_cipher", shop.shop_id}, {"sort_field", "update_time"},
           {"sort_order", "ASC"},         {"timestamp", std::to_string(now_ms / 1000)}};
  if (!token.empty())
    q.emplace_back("page_token", token);
  json filter{{"update_time_ge", w.from_s}, {"update_time_lt", w.to_s}};
  net::http_call_request req;
  req.method = "POST";
  req.body = filter.dump();
  req.url = shop.base_url + path + "?" + query_string(q)
            + "&sign=" + tiktok_sign(shop.app_secret, path, q, req.body);
  req.headers = {{"Content-Type", "application/json"}, {"x-tts-access-token", shop.access_token}};
  req.timeout = timeout;
  auto a = read_answer(http(req), path);
  if (!a.doc)
    return a.stop;
  auto& doc = *a.doc;
  if (auto code = text_of(doc.value("code", json(0))); code != "0") {
    auto r = failure("TikTok Shop error " + code + ": " + doc.value("message", std::string{}));
    // The access-token errors: invalid, expired, and the one of the 202309 APIs.
    if (code == "105001" || code == "105002" || code == "36004004")
      r.result = outcome::unauthorized;
    return r;
  }
  auto data = doc.find("data");
  if (data == doc.end() || !data->is_object())
    return failure("no data in the answer of " + path);
  auto r = ok_page();
  auto orders = data->find("orders");
  if (orders != data->end() && orders->is_array())
    r.orders = std::move(*orders);
  r.next_token = data->value("next_page_token", std::string{});
  r.more = !r.next_token.empty() && !r.orders.empty();
  return r;
}

// -- Shopee: a list of order numbers, then their details and their escrow (voucher split) --

params shopee_common(const api_shop& shop, const std::string& path, int64_t now_s) {
  return {{"partner_id", shop.app_key},
          {"timestamp", std::to_string(now_s)},
          {"access_token", shop.access_token},
          {"shop_id", shop.shop_id},
          {"sign", shopee_sign(shop.app_secret, shop.app_key, path, now_s, shop.access_token,
                               shop.shop_id)}};
}

page_result shopee_error(const json& doc, const std::string& path) {
  auto err = doc.value("error", std::string{});
  if (err.empty())
    return ok_page();
  if (err == "error_busi_rate_limit" || err.find("too_many") != std::string::npos) {
    page_result r;
    r.result = outcome::rate_limited;
    r.error = "Shopee " + err + " from " + path;
    return r;
  }
  auto r
    = failure("Shopee error " + err + " from " + path + ": " + doc.value("message", std::string{}));
  // Shopee spells the second one both ways.
  if (err == "error_auth" || err == "invalid_access_token" || err == "invalid_acceess_token")
    r.result = outcome::unauthorized;
  return r;
}

// One signed Shopee call: its answer, or what ends the attempt.
answer shopee_call(const api_shop& shop, const std::string& method, const std::string& path,
                   const params& extra, std::string body, int64_t now_s, const http_fn& http,
                   std::chrono::milliseconds timeout) {
  auto q = shopee_common(shop, path, now_s);
  q.insert(q.end(), extra.begin(), extra.end());
  net::http_call_request req;
  req.method = method;
  req.url = shop.base_url + path + "?" + query_string(q);
  req.body = std::move(body);
  if (!req.body.empty())
    req.headers = {{"Content-Type", "application/json"}};
  req.timeout = timeout;
  auto a = read_answer(http(req), path);
  if (a.doc)
    if (auto e = shopee_error(*a.doc, path); e.result != outcome::ok) {
      a.doc.reset();
      a.stop = std::move(e);
    }
  return a;
}

page_result shopee_page(const api_shop& shop, const update_window& w, const std::string& token,
                        const http_fn& http, int64_t now_ms, std::chrono::milliseconds timeout) {
  const int64_t now_s = now_ms / 1000;
  auto a = shopee_call(shop, "GET", "/api/v2/order/get_order_list",
                       {{"time_range_field", "update_time"},
                        {"time_from", std::to_string(w.from_s)},
                        {"time_to", std::to_string(w.to_s - 1)}, // Shopee's range is inclusive
                        {"page_size", std::to_string(shop.page_size)},
                        {"cursor", token}},
                       "", now_s, http, timeout);
  if (!a.doc)
    return a.stop;
  auto resp = a.doc->value("response", json::object());
  std::vector<std::string> numbers;
  for (const auto& o : resp.value("order_list", json::array()))
    if (o.is_object() && o.contains("order_sn"))
      numbers.push_back(text_of(o["order_sn"]));
  auto r = ok_page();
  r.more = resp.value("more", false);
  r.next_token = text_of(resp.value("next_cursor", json("")));
  json orders = json::array();
  for (size_t at = 0; at < numbers.size(); at += shopee_detail_max) {
    std::vector<std::string> chunk(
      numbers.begin() + static_cast<ptrdiff_t>(at),
      numbers.begin() + static_cast<ptrdiff_t>(std::min(numbers.size(), at + shopee_detail_max)));
    std::string joined;
    for (const auto& n : chunk)
      joined += (joined.empty() ? "" : ",") + n;
    auto d = shopee_call(shop, "GET", "/api/v2/order/get_order_detail",
                         {{"order_sn_list", joined},
                          {"response_optional_fields",
                           "buyer_user_id,buyer_username,estimated_shipping_fee,"
                           "actual_shipping_fee,item_list,total_amount,cancel_reason,currency"}},
                         "", now_s, http, timeout);
    if (!d.doc)
      return d.stop;
    auto details = d.doc->value("response", json::object()).value("order_list", json::array());
    // The escrow detail splits vouchers between seller and Shopee (README's mapping).
    auto e = shopee_call(shop, "POST", "/api/v2/payment/get_escrow_detail_batch", {},
                         json{{"order_sn_list", chunk}}.dump(), now_s, http, timeout);
    if (!e.doc)
      return e.stop;
    std::map<std::string, json> income;
    for (const auto& x : e.doc->value("response", json::array()))
      if (x.is_object() && x.contains("escrow_detail")) {
        const auto& ed = x["escrow_detail"];
        if (ed.is_object() && ed.contains("order_sn") && ed.contains("order_income"))
          income[text_of(ed["order_sn"])] = ed["order_income"];
      }
    for (auto& o : details) {
      if (o.is_object() && o.contains("order_sn"))
        if (auto i = income.find(text_of(o["order_sn"])); i != income.end())
          o["order_income"] = i->second;
      orders.push_back(std::move(o));
    }
  }
  if (orders.size() != numbers.size())
    return failure("Shopee listed " + std::to_string(numbers.size()) + " orders but detailed "
                   + std::to_string(orders.size()));
  r.more = r.more && !orders.empty();
  r.orders = std::move(orders);
  return r;
}

// -- Lazada: a list of orders, then their items --

params lazada_common(const api_shop& shop, int64_t now_ms) {
  return {{"app_key", shop.app_key},
          {"timestamp", std::to_string(now_ms)},
          {"sign_method", "sha256"},
          {"access_token", shop.access_token}};
}

std::string lazada_url(const std::string& root, const std::string& secret, const std::string& path,
                       params q) {
  auto sign = lazada_sign(secret, path, q);
  q.emplace_back("sign", sign);
  return root + path + "?" + query_string(q);
}

page_result lazada_error(const json& doc, const std::string& path) {
  auto code = text_of(doc.value("code", json("0")));
  if (code == "0")
    return ok_page();
  if (code == "ApiCallLimit" || code == "AppCallLimit" || code == "SellerCallLimit") {
    page_result r;
    r.result = outcome::rate_limited;
    r.error = "Lazada " + code + " from " + path;
    return r;
  }
  auto r = failure("Lazada error " + code + " from " + path + ": "
                   + doc.value("message", std::string{}));
  if (code == "IllegalAccessToken")
    r.result = outcome::unauthorized;
  return r;
}

// One signed Lazada call: its answer, or what ends the attempt.
answer lazada_call(const api_shop& shop, const std::string& path, const params& extra,
                   int64_t now_ms, const http_fn& http, std::chrono::milliseconds timeout) {
  auto q = lazada_common(shop, now_ms);
  q.insert(q.end(), extra.begin(), extra.end());
  net::http_call_request req;
  req.url = lazada_url(shop.base_url, shop.app_secret, path, q);
  req.timeout = timeout;
  auto a = read_answer(http(req), path);
  if (a.doc)
    if (auto e = lazada_error(*a.doc, path); e.result != outcome::ok) {
      a.doc.reset();
      a.stop = std::move(e);
    }
  return a;
}

// Where a Lazada page starts: orders updated at or after `after` (Lazada's `update_after` is
// inclusive), less the first `skip` of them, which earlier pages had. Offsets alone would move
// under our feet: an order updated while its window is paged leaves the window, and every order
// after it would shift one place towards pages already read. Keyed on the update time, a page
// after such a change starts where the last one ended.
struct lazada_position {
  int64_t after = 0;
  int64_t skip = 0;
};

// "t<unix s>:<skip>", as lazada_page writes it; "" is the window's start.
std::optional<lazada_position> lazada_token(const std::string& token, int64_t window_from) {
  if (token.empty())
    return lazada_position{window_from, 0};
  lazada_position p;
  const char* end = token.data() + token.size();
  auto colon = token.find(':');
  if (token[0] != 't' || colon == std::string::npos)
    return std::nullopt;
  auto a = std::from_chars(token.data() + 1, token.data() + colon, p.after);
  auto b = std::from_chars(token.data() + colon + 1, end, p.skip);
  if (a.ec != std::errc{} || a.ptr != token.data() + colon || b.ec != std::errc{} || b.ptr != end
      || p.after < window_from || p.skip < 0)
    return std::nullopt;
  return p;
}

page_result lazada_page(const api_shop& shop, const update_window& w, const std::string& token,
                        const http_fn& http, int64_t now_ms, std::chrono::milliseconds timeout) {
  auto at = lazada_token(token, w.from_s);
  if (!at)
    return failure("bad Lazada page token " + token);
  const std::string list_path = "/orders/get";
  auto a = lazada_call(shop, list_path,
                       {{"update_after", iso8601_utc(at->after)},
                        {"update_before", iso8601_utc(w.to_s)},
                        {"sort_by", "updated_at"},
                        {"sort_direction", "ASC"},
                        {"offset", std::to_string(at->skip)},
                        {"limit", std::to_string(shop.page_size)}},
                       now_ms, http, timeout);
  if (!a.doc)
    return a.stop;
  auto data = a.doc->value("data", json::object());
  json orders = data.value("orders", json::array());
  auto r = ok_page();
  r.more = !orders.empty() && orders.size() >= static_cast<size_t>(shop.page_size);
  if (orders.empty())
    return r;
  // The next page starts at the newest update time of this one, past its orders of that time.
  int64_t last_ms = 0;
  int64_t ties = 0;
  for (const auto& o : orders) {
    int64_t ms = 0;
    int32_t offset = 0;
    if (!o.is_object() || !o.contains("updated_at") || !o["updated_at"].is_string()
        || !parse_lazada_time(o["updated_at"].get<std::string>(), ms, offset))
      return failure("an order without a readable updated_at from " + list_path);
    if (ms < last_ms)
      return failure("orders not sorted by updated_at from " + list_path);
    ties = ms == last_ms ? ties + 1 : 1;
    last_ms = ms;
  }
  const int64_t last_s = last_ms / 1000;
  r.next_token = "t" + std::to_string(last_s) + ":"
                 + std::to_string((last_s == at->after ? at->skip : 0) + ties);
  std::string ids;
  for (const auto& o : orders)
    ids += (ids.empty() ? "" : ",") + text_of(o.value("order_id", json()));
  auto i = lazada_call(shop, "/orders/items/get", {{"order_ids", "[" + ids + "]"}}, now_ms, http,
                       timeout);
  if (!i.doc)
    return i.stop;
  std::map<std::string, json> items;
  for (const auto& x : i.doc->value("data", json::array()))
    if (x.is_object() && x.contains("order_id"))
      items[text_of(x["order_id"])] = x.value("order_items", json::array());
  for (auto& o : orders)
    if (auto it = items.find(text_of(o.value("order_id", json()))); it != items.end())
      o["items"] = it->second;
  r.orders = std::move(orders);
  return r;
}

// -- token refresh: one call per platform, none of them signed with the access token --

token_result token_failure(std::string why) {
  token_result r;
  r.error = std::move(why);
  return r;
}

// The new pair of an answer, or why there is none. Errors name the path only: a TikTok refresh
// carries the app secret and the refresh token in its query.
token_result token_pair(const json& at, const char* access_key, const char* refresh_key,
                        int64_t expires_at_s, const std::string& path) {
  token_result r;
  r.access_token = at.value(access_key, std::string{});
  r.refresh_token = at.value(refresh_key, std::string{});
  r.expires_at_s = expires_at_s;
  if (r.access_token.empty() || r.refresh_token.empty())
    return token_failure("no token pair in the answer of " + path);
  if (r.expires_at_s <= 0)
    return token_failure("no expiry in the answer of " + path);
  r.ok = true;
  return r;
}

token_result tiktok_refresh(const api_shop& shop, const std::string& auth_url,
                            const std::string& refresh, const http_fn& http,
                            std::chrono::milliseconds timeout) {
  const std::string path = "/api/v2/token/refresh";
  net::http_call_request req;
  req.url = auth_url + path + "?"
            + query_string({{"app_key", shop.app_key},
                            {"app_secret", shop.app_secret},
                            {"refresh_token", refresh},
                            {"grant_type", "refresh_token"}});
  req.timeout = timeout;
  auto a = read_answer(http(req), path);
  if (!a.doc)
    return token_failure(a.stop.error);
  const auto& doc = *a.doc;
  if (auto code = text_of(doc.value("code", json(0))); code != "0")
    return token_failure("TikTok Shop error " + code + " from " + path + ": "
                         + doc.value("message", std::string{}));
  auto data = doc.value("data", json::object());
  // access_token_expire_in is the expiry itself (unix s), not a duration.
  return token_pair(data, "access_token", "refresh_token",
                    data.value("access_token_expire_in", int64_t{0}), path);
}

std::optional<int64_t> unsigned_number(const std::string& text) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n < 0)
    return std::nullopt;
  return n;
}

token_result shopee_refresh(const api_shop& shop, const std::string& auth_url,
                            const std::string& refresh, const http_fn& http, int64_t now_ms,
                            std::chrono::milliseconds timeout) {
  const std::string path = "/api/v2/auth/access_token/get";
  auto partner = unsigned_number(shop.app_key);
  auto shop_no = unsigned_number(shop.shop_id);
  if (!partner || !shop_no)
    return token_failure("Shopee's partner_id and shop_id must be numbers");
  const int64_t now_s = now_ms / 1000;
  params q{{"partner_id", shop.app_key},
           {"timestamp", std::to_string(now_s)},
           {"sign", shopee_sign(shop.app_secret, shop.app_key, path, now_s, "", "")}};
  net::http_call_request req;
  req.method = "POST";
  req.url = auth_url + path + "?" + query_string(q);
  req.body
    = json{{"refresh_token", refresh}, {"partner_id", *partner}, {"shop_id", *shop_no}}.dump();
  req.headers = {{"Content-Type", "application/json"}};
  req.timeout = timeout;
  auto a = read_answer(http(req), path);
  if (!a.doc)
    return token_failure(a.stop.error);
  const auto& doc = *a.doc;
  if (auto err = doc.value("error", std::string{}); !err.empty())
    return token_failure("Shopee error " + err + " from " + path + ": "
                         + doc.value("message", std::string{}));
  const auto expire_in = doc.value("expire_in", int64_t{0});
  return token_pair(doc, "access_token", "refresh_token", expire_in > 0 ? now_s + expire_in : 0,
                    path);
}

token_result lazada_refresh(const api_shop& shop, const std::string& auth_url,
                            const std::string& refresh, const http_fn& http, int64_t now_ms,
                            std::chrono::milliseconds timeout) {
  const std::string path = "/auth/token/refresh";
  params q{{"app_key", shop.app_key},
           {"timestamp", std::to_string(now_ms)},
           {"sign_method", "sha256"},
           {"refresh_token", refresh}};
  net::http_call_request req;
  req.url = lazada_url(auth_url, shop.app_secret, path, q);
  req.timeout = timeout;
  auto a = read_answer(http(req), path);
  if (!a.doc)
    return token_failure(a.stop.error);
  const auto& doc = *a.doc;
  if (auto code = text_of(doc.value("code", json("0"))); code != "0")
    return token_failure("Lazada error " + code + " from " + path + ": "
                         + doc.value("message", std::string{}));
  const auto expires_in = doc.value("expires_in", int64_t{0});
  return token_pair(doc, "access_token", "refresh_token",
                    expires_in > 0 ? now_ms / 1000 + expires_in : 0, path);
}

} // namespace

std::string tiktok_sign(const std::string& secret, const std::string& path, const params& query,
                        const std::string& body) {
  return util::hmac_sha256_hex(
    secret, secret + path + sorted_concat(query, {"sign", "access_token"}) + body + secret);
}

std::string shopee_sign(const std::string& partner_key, const std::string& partner_id,
                        const std::string& path, int64_t timestamp_s,
                        const std::string& access_token, const std::string& shop_id) {
  return util::hmac_sha256_hex(partner_key, partner_id + path + std::to_string(timestamp_s)
                                              + access_token + shop_id);
}

std::string lazada_sign(const std::string& secret, const std::string& path, const params& q) {
  auto hex = util::hmac_sha256_hex(secret, path + sorted_concat(q, {"sign"}));
  std::transform(hex.begin(), hex.end(), hex.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return hex;
}

page_result fetch_page(const api_shop& shop, const update_window& window,
                       const std::string& page_token, const http_fn& http, int64_t now_ms,
                       std::chrono::milliseconds timeout) {
  try {
    switch (shop.platform) {
    case sales_platform::tiktok:
      return tiktok_page(shop, window, page_token, http, now_ms, timeout);
    case sales_platform::shopee:
      return shopee_page(shop, window, page_token, http, now_ms, timeout);
    case sales_platform::lazada:
      return lazada_page(shop, window, page_token, http, now_ms, timeout);
    default:
      return failure("no pull sync for " + to_string(shop.platform));
    }
  } catch (const std::exception& e) {
    // A field of an unexpected type (nlohmann type_error): the answer is not what we know.
    return failure(std::string{"unexpected answer: "} + e.what());
  }
}

token_result refresh_token(const api_shop& shop, const std::string& auth_url,
                           const std::string& refresh, const http_fn& http, int64_t now_ms,
                           std::chrono::milliseconds timeout) {
  try {
    switch (shop.platform) {
    case sales_platform::tiktok:
      return tiktok_refresh(shop, auth_url, refresh, http, timeout);
    case sales_platform::shopee:
      return shopee_refresh(shop, auth_url, refresh, http, now_ms, timeout);
    case sales_platform::lazada:
      return lazada_refresh(shop, auth_url, refresh, http, now_ms, timeout);
    default:
      return token_failure("no token refresh for " + to_string(shop.platform));
    }
  } catch (const std::exception& e) {
    // nlohmann's messages name the field, never its value.
    return token_failure(std::string{"unexpected answer to the token refresh: "} + e.what());
  }
}

} // namespace mercato::marketplaces
