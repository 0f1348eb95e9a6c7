#include "tests/support/fake_marketplace.hpp"

#include "runtime/util/crypto.hpp"
#include "runtime/util/encoding.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace mercato::test {

namespace http = boost::beast::http;
using json = nlohmann::json;

namespace {

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    auto eq = item.find('=');
    std::string k, v;
    util::percent_decode(item.substr(0, eq), k, true);
    if (eq != std::string_view::npos)
      util::percent_decode(item.substr(eq + 1), v, true);
    out[k] = v;
  }
  return out;
}

// {key}{value} of the sorted parameters, without `skip`: std::map is sorted already.
std::string concat(const std::map<std::string, std::string>& q,
                   std::initializer_list<std::string_view> skip) {
  std::string out;
  for (const auto& [k, v] : q)
    if (std::find(skip.begin(), skip.end(), k) == skip.end())
      out += k + v;
  return out;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

int64_t parse_iso8601_utc(const std::string& s) {
  std::tm tm{};
  if (!strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm))
    return -1;
  return static_cast<int64_t>(timegm(&tm));
}

std::string text_of(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

loopback_http_server::answer json_answer(const json& body, int status = 200) {
  return {static_cast<http::status>(status), "application/json", body.dump(), {}};
}

} // namespace

fake_marketplace::fake_marketplace(std::string platform) : platform_(std::move(platform)) {
  server_ = std::make_unique<loopback_http_server>([this](const auto& req) { return serve(req); });
}

fake_marketplace::~fake_marketplace() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  released_.notify_all();
  server_.reset();
}

std::string fake_marketplace::code_of(const json& order) const {
  if (platform_ == "tiktok")
    return text_of(order.at("id"));
  if (platform_ == "shopee")
    return text_of(order.at("order_sn"));
  return text_of(order.at("order_id"));
}

void fake_marketplace::put(json order, int64_t update_s) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto code = code_of(order);
  orders_[code] = stored{std::move(order), update_s, code};
}

void fake_marketplace::fail_next_lists(int n, int status, int retry_after_s) {
  std::lock_guard<std::mutex> guard{mtx_};
  fail_count_ = n;
  fail_status_ = status;
  retry_after_s_ = retry_after_s;
}

void fake_marketplace::hold_lists_after(size_t n) {
  std::lock_guard<std::mutex> guard{mtx_};
  hold_after_ = n;
}

void fake_marketplace::release() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    hold_after_.reset();
  }
  released_.notify_all();
}

std::vector<fake_marketplace::call> fake_marketplace::calls() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return calls_;
}

std::vector<fake_marketplace::call> fake_marketplace::list_calls() const {
  std::vector<call> out;
  for (auto& c : calls())
    if (is_list(c.path))
      out.push_back(std::move(c));
  return out;
}

void fake_marketplace::expire_access_token() {
  std::lock_guard<std::mutex> guard{mtx_};
  access_expired_ = true;
}

std::string fake_marketplace::reauthorise() {
  std::lock_guard<std::mutex> guard{mtx_};
  current_refresh_ = refresh_token + "-authorised-" + std::to_string(++authorisations_);
  issued_.push_back(current_refresh_);
  access_expired_ = true;
  return current_refresh_;
}

int fake_marketplace::refreshes() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return refreshes_;
}

std::vector<std::string> fake_marketplace::issued_tokens() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return issued_;
}

std::string fake_marketplace::current_refresh_token() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return current_refresh_;
}

std::vector<fake_marketplace::call> fake_marketplace::refresh_calls() const {
  std::vector<call> out;
  for (auto& c : calls())
    if (is_refresh(c.path))
      out.push_back(std::move(c));
  return out;
}

std::string fake_marketplace::base_url() const {
  return "http://127.0.0.1:" + std::to_string(server_->port());
}

bool fake_marketplace::is_list(const std::string& path) const {
  return path == "/order/202309/orders/search" || path == "/api/v2/order/get_order_list"
         || path == "/orders/get";
}

bool fake_marketplace::is_refresh(const std::string& path) const {
  if (platform_ == "tiktok")
    return path == "/api/v2/token/refresh";
  if (platform_ == "shopee")
    return path == "/api/v2/auth/access_token/get";
  return path == "/auth/token/refresh";
}

std::string fake_marketplace::access_token_of(const call& c,
                                              const std::string& token_header) const {
  if (platform_ == "tiktok")
    return token_header;
  auto i = c.query.find("access_token");
  return i == c.query.end() ? std::string{} : i->second;
}

bool fake_marketplace::signature_matches(const call& c, const std::string& token_header) const {
  auto get = [&c](const char* k) {
    auto i = c.query.find(k);
    return i == c.query.end() ? std::string{} : i->second;
  };
  if (platform_ == "tiktok") {
    // secret + path + sorted {key}{value} without sign and access_token + body + secret
    auto base
      = app_secret + c.path + concat(c.query, {"sign", "access_token"}) + c.body + app_secret;
    return !token_header.empty() && get("app_key") == app_key
           && get("sign") == util::hmac_sha256_hex(app_secret, base);
  }
  if (platform_ == "shopee") {
    // partner_id + path + timestamp + access_token + shop_id
    auto base = app_key + c.path + get("timestamp") + get("access_token") + shop_id;
    return get("partner_id") == app_key && !get("access_token").empty() && get("shop_id") == shop_id
           && get("sign") == util::hmac_sha256_hex(app_secret, base);
  }
  // path + sorted {key}{value} without sign, upper-case hex
  auto base = c.path + concat(c.query, {"sign"});
  return get("app_key") == app_key && !get("access_token").empty()
         && get("sign") == upper(util::hmac_sha256_hex(app_secret, base));
}

bool fake_marketplace::refresh_signature_matches(const call& c) const {
  auto get = [&c](const char* k) {
    auto i = c.query.find(k);
    return i == c.query.end() ? std::string{} : i->second;
  };
  if (platform_ == "tiktok")
    // No signature: the app secret itself travels in the query.
    return c.method == "GET" && get("app_key") == app_key && get("app_secret") == app_secret
           && get("grant_type") == "refresh_token";
  if (platform_ == "shopee") {
    // partner_id + path + timestamp: no access token or shop id in a refresh's base string;
    // partner_id and shop_id also travel in the body, as numbers.
    auto body = json::parse(c.body, nullptr, false);
    auto number_is = [&body](const char* key, const std::string& want) {
      auto i = body.find(key);
      return i != body.end() && i->is_number_integer() && std::to_string(i->get<int64_t>()) == want;
    };
    return c.method == "POST" && get("partner_id") == app_key
           && get("sign") == util::hmac_sha256_hex(app_secret, app_key + c.path + get("timestamp"))
           && body.is_object() && number_is("partner_id", app_key) && number_is("shop_id", shop_id)
           && body.contains("refresh_token") && body["refresh_token"].is_string();
  }
  auto base = c.path + concat(c.query, {"sign"});
  return c.method == "GET" && get("app_key") == app_key && get("sign_method") == "sha256"
         && get("sign") == upper(util::hmac_sha256_hex(app_secret, base));
}

// The platform's answer to a call with an expired or unknown access token.
loopback_http_server::answer fake_marketplace::auth_error() const {
  if (platform_ == "tiktok")
    return json_answer({{"code", 105002}, {"message", "Access token is expired"}});
  if (platform_ == "shopee")
    return json_answer({{"error", "invalid_access_token"}, {"message", "Invalid access_token."}},
                       403);
  return json_answer({{"code", "IllegalAccessToken"},
                      {"type", "ISV"},
                      {"message", "The specified access token is invalid or expired"}});
}

loopback_http_server::answer fake_marketplace::refresh(call& c) {
  std::string presented;
  if (platform_ == "shopee")
    presented = json::parse(c.body).at("refresh_token").get<std::string>();
  else
    presented = c.query["refresh_token"];
  c.token_ok = presented == current_refresh_;
  if (!c.token_ok) { // spent, or never issued
    if (platform_ == "tiktok")
      return json_answer({{"code", 36004005}, {"message", "refresh_token is invalid"}});
    if (platform_ == "shopee")
      return json_answer({{"error", "error_param"}, {"message", "Invalid refresh_token."}});
    return json_answer({{"code", "IllegalRefreshToken"},
                        {"message", "The specified refresh token is invalid or expired"}});
  }
  ++refreshes_;
  access_expired_ = false;
  current_access_ = access_token + "-" + std::to_string(refreshes_);
  current_refresh_ = refresh_token + "-" + std::to_string(refreshes_);
  issued_.push_back(current_access_);
  issued_.push_back(current_refresh_);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  const int64_t access_ttl = 4 * 3600;
  const int64_t refresh_ttl = 30 * 86400;
  if (platform_ == "tiktok")
    return json_answer({{"code", 0},
                        {"message", "success"},
                        {"data",
                         {{"access_token", current_access_},
                          {"access_token_expire_in", now + access_ttl},
                          {"refresh_token", current_refresh_},
                          {"refresh_token_expire_in", now + refresh_ttl},
                          {"open_id", "fake-open-id"},
                          {"seller_name", "Fake Shop"}}}});
  if (platform_ == "shopee")
    return json_answer({{"access_token", current_access_},
                        {"refresh_token", current_refresh_},
                        {"expire_in", access_ttl},
                        {"partner_id", std::stoll(app_key)},
                        {"shop_id", std::stoll(shop_id)},
                        {"request_id", "fake-" + std::to_string(refreshes_)},
                        {"error", ""},
                        {"message", ""}});
  return json_answer({{"code", "0"},
                      {"access_token", current_access_},
                      {"refresh_token", current_refresh_},
                      {"expires_in", access_ttl},
                      {"refresh_expires_in", refresh_ttl},
                      {"account_platform", "seller_center"},
                      {"request_id", "fake-" + std::to_string(refreshes_)}});
}

std::vector<const fake_marketplace::stored*> fake_marketplace::window(int64_t from,
                                                                      int64_t to) const {
  std::vector<const stored*> out;
  for (const auto& [code, s] : orders_)
    if (s.update_s >= from && s.update_s < to)
      out.push_back(&s);
  std::sort(out.begin(), out.end(), [](const stored* a, const stored* b) {
    return std::tie(a->update_s, a->code) < std::tie(b->update_s, b->code);
  });
  return out;
}

loopback_http_server::answer fake_marketplace::serve(const loopback_http_server::request& req) {
  std::unique_lock<std::mutex> lock{mtx_};
  call c;
  std::string target{req.target()};
  auto qm = target.find('?');
  c.method = std::string{req.method_string()};
  c.path = target.substr(0, qm);
  if (qm != std::string::npos)
    c.query = parse_query(std::string_view{target}.substr(qm + 1));
  c.body = req.body();
  c.at = std::chrono::steady_clock::now();
  const std::string token_header{req["x-tts-access-token"]};
  const bool refreshing = is_refresh(c.path);
  c.signed_ok = refreshing ? refresh_signature_matches(c) : signature_matches(c, token_header);
  c.token_ok
    = !refreshing && access_token_of(c, token_header) == current_access_ && !access_expired_;
  const size_t index = calls_.size();
  calls_.push_back(c);
  auto finish = [&](loopback_http_server::answer a) {
    calls_[index].status = static_cast<int>(a.status);
    return a;
  };
  if (!c.signed_ok)
    return finish(json_answer(
      {{"code", "IncompleteSignature"}, {"error", "error_sign"}, {"message", "signature mismatch"}},
      401));
  if (refreshing) {
    auto a = refresh(calls_[index]);
    return finish(std::move(a));
  }
  if (!c.token_ok)
    return finish(auth_error());
  if (is_list(c.path)) {
    ++lists_seen_;
    if (hold_after_ && lists_seen_ > *hold_after_) {
      released_.wait(lock, [this] { return !hold_after_ || stopping_; });
      return {http::status::service_unavailable, "application/json", "{}", {}}; // never seen
    }
    if (fail_count_ > 0) {
      --fail_count_;
      loopback_http_server::answer a{
        static_cast<http::status>(fail_status_), "application/json", R"({"code":"busy"})", {}};
      if (retry_after_s_ > 0)
        a.headers.emplace_back("Retry-After", std::to_string(retry_after_s_));
      return finish(a);
    }
    return finish(list(c));
  }
  // Detail calls of Shopee and Lazada.
  if (c.path == "/api/v2/order/get_order_detail") {
    json list = json::array();
    std::string_view numbers = c.query["order_sn_list"];
    while (!numbers.empty()) {
      auto comma = numbers.find(',');
      auto sn = std::string{numbers.substr(0, comma)};
      numbers = comma == std::string_view::npos ? std::string_view{} : numbers.substr(comma + 1);
      if (auto i = orders_.find(sn); i != orders_.end()) {
        auto o = i->second.order;
        o.erase("order_income"); // that is the escrow call's
        list.push_back(std::move(o));
      }
    }
    return finish(json_answer({{"error", ""}, {"response", {{"order_list", list}}}}));
  }
  if (c.path == "/api/v2/payment/get_escrow_detail_batch") {
    json out = json::array();
    auto asked = json::parse(c.body); // kept: the loop reads into it
    for (const auto& sn : asked.at("order_sn_list"))
      if (auto i = orders_.find(sn.get<std::string>()); i != orders_.end())
        if (i->second.order.contains("order_income"))
          out.push_back({{"escrow_detail",
                          {{"order_sn", sn}, {"order_income", i->second.order["order_income"]}}}});
    return finish(json_answer({{"error", ""}, {"response", out}}));
  }
  if (c.path == "/orders/items/get") {
    json data = json::array();
    for (const auto& id : json::parse(c.query["order_ids"]))
      if (auto i = orders_.find(text_of(id)); i != orders_.end())
        data.push_back(
          {{"order_id", id}, {"order_items", i->second.order.value("items", json::array())}});
    return finish(json_answer({{"code", "0"}, {"data", data}}));
  }
  return finish(json_answer({{"code", "NotFound"}}, 404));
}

loopback_http_server::answer fake_marketplace::list(call& c) {
  auto& q = c.query;
  auto num = [&q](const char* k, int64_t fallback) {
    auto i = q.find(k);
    return i == q.end() || i->second.empty() ? fallback : std::stoll(i->second);
  };
  if (platform_ == "tiktok") {
    auto filter = json::parse(c.body);
    auto rows = window(filter.at("update_time_ge").get<int64_t>(),
                       filter.at("update_time_lt").get<int64_t>());
    auto offset = static_cast<size_t>(num("page_token", 0));
    auto size = static_cast<size_t>(num("page_size", 20));
    json orders = json::array();
    for (size_t i = offset; i < rows.size() && i < offset + size; ++i)
      orders.push_back(rows[i]->order);
    auto next = offset + size < rows.size() ? std::to_string(offset + size) : std::string{};
    return json_answer(
      {{"code", 0},
       {"message", "Success"},
       {"data", {{"orders", orders}, {"next_page_token", next}, {"total_count", rows.size()}}}});
  }
  if (platform_ == "shopee") {
    // time_to is inclusive on Shopee.
    auto rows = window(num("time_from", 0), num("time_to", 0) + 1);
    auto offset = static_cast<size_t>(num("cursor", 0));
    auto size = static_cast<size_t>(num("page_size", 20));
    json list = json::array();
    for (size_t i = offset; i < rows.size() && i < offset + size; ++i)
      list.push_back({{"order_sn", rows[i]->code}});
    bool more = offset + size < rows.size();
    return json_answer({{"error", ""},
                        {"message", ""},
                        {"response",
                         {{"more", more},
                          {"next_cursor", more ? std::to_string(offset + size) : ""},
                          {"order_list", list}}}});
  }
  auto rows = window(parse_iso8601_utc(q["update_after"]), parse_iso8601_utc(q["update_before"]));
  auto offset = static_cast<size_t>(num("offset", 0));
  auto size = static_cast<size_t>(num("limit", 20));
  json orders = json::array();
  for (size_t i = offset; i < rows.size() && i < offset + size; ++i) {
    auto o = rows[i]->order;
    o.erase("items"); // the items call's
    orders.push_back(std::move(o));
  }
  return json_answer(
    {{"code", "0"},
     {"data", {{"count", orders.size()}, {"countTotal", rows.size()}, {"orders", orders}}}});
}

} // namespace mercato::test
