#include "api/auth/jwt.hpp"

#include "api/json/commerce_codec.hpp"
#include "runtime/util/crypto.hpp"
#include "runtime/util/encoding.hpp"
#include "runtime/util/text.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace mercato::api {

namespace {

constexpr size_t max_token_length = 8192;

// A NumericDate claim as whole seconds (fractions truncated); false if not a number.
bool numeric_date(const nlohmann::json& v, int64_t& out) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned()) {
      auto u = v.get<uint64_t>();
      out = u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
              ? std::numeric_limits<int64_t>::max()
              : static_cast<int64_t>(u);
    } else {
      out = v.get<int64_t>();
    }
    return true;
  }
  if (v.is_number_float()) {
    auto d = v.get<double>();
    if (!std::isfinite(d))
      return false;
    if (d >= 9.2e18)
      out = std::numeric_limits<int64_t>::max();
    else if (d <= -9.2e18)
      out = std::numeric_limits<int64_t>::min();
    else
      out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}

constexpr int64_t no_time = std::numeric_limits<int64_t>::min();

// RFC 7519 §4.1.3: `aud` is one string or an array of them.
bool names_audience(const nlohmann::json& claims, const std::string& audience) {
  auto aud = claims.find("aud");
  if (aud == claims.end())
    return false;
  if (aud->is_string())
    return aud->get_ref<const std::string&>() == audience;
  if (!aud->is_array())
    return false;
  for (const auto& a : *aud)
    if (a.is_string() && a.get_ref<const std::string&>() == audience)
      return true;
  return false;
}

// Per-thread cache of verified tokens: direct-mapped, no locks, bounded memory.
struct cache_entry {
  uint64_t instance = 0;
  std::string token;
  principal who;
  int64_t exp = no_time;
  int64_t nbf = no_time;
};

constexpr size_t cache_slots = 64;

std::atomic<uint64_t> next_instance{1};

} // namespace

std::string_view to_string(role r) noexcept {
  switch (r) {
  case role::customer:
    return "customer";
  case role::service:
    return "service";
  case role::admin:
    return "admin";
  }
  return "customer";
}

bool parse_role(std::string_view name, role& out) noexcept {
  if (name == "customer")
    out = role::customer;
  else if (name == "service")
    out = role::service;
  else if (name == "admin")
    out = role::admin;
  else
    return false;
  return true;
}

std::string_view to_string(jwt_error e) noexcept {
  switch (e) {
  case jwt_error::none:
    return "ok";
  case jwt_error::missing:
    return "a bearer token is required";
  case jwt_error::malformed:
    return "the bearer token is malformed";
  case jwt_error::unsupported_alg:
    return "the token's algorithm is not supported (HS256 only)";
  case jwt_error::bad_signature:
    return "the token's signature is invalid";
  case jwt_error::expired:
    return "the token has expired";
  case jwt_error::not_yet_valid:
    return "the token is not valid yet";
  case jwt_error::invalid_claims:
    return "the token's claims are invalid (sub and role are required)";
  case jwt_error::no_expiry:
    return "the token has no expiry (exp is required)";
  case jwt_error::wrong_issuer:
    return "the token's issuer is not trusted";
  case jwt_error::wrong_audience:
    return "the token is meant for another audience";
  case jwt_error::invalid_scope:
    return "the token's order claim is invalid (an order id, on a customer token only)";
  }
  return "invalid token";
}

jwt_verifier::jwt_verifier(std::string secret, jwt_policy policy)
    : secret_(std::move(secret)), policy_(std::move(policy)),
      instance_(next_instance.fetch_add(1, std::memory_order_relaxed)) {
  if (policy_.leeway_s < 0)
    policy_.leeway_s = 0;
}

int64_t jwt_verifier::now() noexcept {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

verify_result jwt_verifier::verify_header(std::string_view authorization, int64_t now_s) const {
  // "Bearer" 1*SP token, scheme case-insensitive (RFC 7235 §2.1).
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size())
    return {jwt_error::missing, {}};
  for (size_t i = 0; i < scheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    if (c != scheme[i])
      return {jwt_error::missing, {}};
  }
  auto rest = authorization.substr(scheme.size());
  if (rest.front() != ' ')
    return {jwt_error::missing, {}};
  auto start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos)
    return {jwt_error::missing, {}};
  rest.remove_prefix(start);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t'))
    rest.remove_suffix(1);
  return verify(rest, now_s);
}

verify_result jwt_verifier::verify(std::string_view token, int64_t now_s) const {
  if (secret_.empty())
    return {jwt_error::bad_signature, {}};
  if (token.empty())
    return {jwt_error::missing, {}};
  if (token.size() > max_token_length)
    return {jwt_error::malformed, {}};
  auto check_times = [&](int64_t exp, int64_t nbf) {
    if (exp <= now_s - policy_.leeway_s)
      return jwt_error::expired;
    if (nbf != no_time && nbf > now_s + policy_.leeway_s)
      return jwt_error::not_yet_valid;
    return jwt_error::none;
  };
  thread_local std::array<cache_entry, cache_slots> cache;
  auto& slot = cache[std::hash<std::string_view>{}(token) % cache_slots];
  if (slot.instance == instance_ && slot.token == token) {
    auto err = check_times(slot.exp, slot.nbf);
    if (err != jwt_error::none)
      return {err, {}};
    return {jwt_error::none, slot.who, slot.exp};
  }
  int64_t exp = no_time;
  int64_t nbf = no_time;
  auto res = verify_uncached(token, exp, nbf);
  if (res.error != jwt_error::none)
    return res;
  auto err = check_times(exp, nbf);
  // Cache even when expired/not yet valid: the signature is what is costly to check.
  slot.instance = instance_;
  slot.token.assign(token);
  slot.who = res.who;
  slot.exp = exp;
  slot.nbf = nbf;
  if (err != jwt_error::none)
    return {err, {}};
  res.expires_at_s = exp;
  return res;
}

verify_result jwt_verifier::verify_uncached(std::string_view token, int64_t& exp,
                                            int64_t& nbf) const {
  auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos)
    return {jwt_error::malformed, {}};
  auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return {jwt_error::malformed, {}};
  auto header_b64 = token.substr(0, dot1);
  auto payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  auto sig_b64 = token.substr(dot2 + 1);
  std::string buf;
  // 1. Header: alg must be HS256 before anything is trusted.
  if (header_b64.empty() || !util::base64url_decode(header_b64, buf))
    return {jwt_error::malformed, {}};
  {
    auto header = nlohmann::json::parse(buf, nullptr, false);
    if (header.is_discarded() || !header.is_object())
      return {jwt_error::malformed, {}};
    auto alg = header.find("alg");
    if (alg == header.end() || !alg->is_string())
      return {jwt_error::malformed, {}};
    if (alg->get_ref<const std::string&>() != "HS256" || header.contains("crit"))
      return {jwt_error::unsupported_alg, {}};
  }
  // 2. Signature over "header.payload", compared in constant time.
  if (!util::base64url_decode(sig_b64, buf))
    return {jwt_error::bad_signature, {}};
  if (!util::equal_in_constant_time(util::hmac_sha256(secret_, token.substr(0, dot2)), buf))
    return {jwt_error::bad_signature, {}};
  // 3. Claims.
  if (!util::base64url_decode(payload_b64, buf))
    return {jwt_error::malformed, {}};
  auto claims = nlohmann::json::parse(buf, nullptr, false);
  if (claims.is_discarded() || !claims.is_object())
    return {jwt_error::malformed, {}};
  verify_result res;
  auto sub = claims.find("sub");
  // `sub` is journaled as a customer id: text the journal cannot store would fail its batch.
  if (sub == claims.end() || !sub->is_string() || sub->get_ref<const std::string&>().empty()
      || sub->get_ref<const std::string&>().size() > 256
      || !util::is_storable_text(sub->get_ref<const std::string&>()))
    return {jwt_error::invalid_claims, {}};
  res.who.sub = sub->get<std::string>();
  auto r = claims.find("role");
  if (r == claims.end() || !r->is_string()
      || !parse_role(r->get_ref<const std::string&>(), res.who.who))
    return {jwt_error::invalid_claims, {}};
  auto e = claims.find("exp");
  if (e == claims.end())
    return {jwt_error::no_expiry, {}};
  if (!numeric_date(*e, exp))
    return {jwt_error::invalid_claims, {}};
  if (auto it = claims.find("nbf"); it != claims.end())
    if (!numeric_date(*it, nbf))
      return {jwt_error::invalid_claims, {}};
  // A tracking link's token: only a customer can own an order, and an id the routes would refuse
  // could never match one.
  if (auto it = claims.find("order"); it != claims.end()) {
    if (!it->is_string() || !is_valid_entity_id(it->get_ref<const std::string&>())
        || res.who.who != role::customer)
      return {jwt_error::invalid_scope, {}};
    res.who.order_scope = it->get<std::string>();
  }
  if (!policy_.issuer.empty()) {
    auto iss = claims.find("iss");
    if (iss == claims.end() || !iss->is_string()
        || iss->get_ref<const std::string&>() != policy_.issuer)
      return {jwt_error::wrong_issuer, {}};
  }
  if (!policy_.audience.empty() && !names_audience(claims, policy_.audience))
    return {jwt_error::wrong_audience, {}};
  return res;
}

std::shared_ptr<const jwt_verifier> make_verifier(const config::auth_settings& auth) {
  jwt_policy policy;
  policy.issuer = auth.jwt_issuer;
  policy.audience = auth.jwt_audience;
  return std::make_shared<const jwt_verifier>(auth.jwt_secret, std::move(policy));
}

std::string mint_hs256(const nlohmann::json& claims, const std::string& secret) {
  if (!claims.is_object())
    throw std::invalid_argument("mint_hs256: claims must be a JSON object");
  if (secret.empty())
    throw std::invalid_argument("mint_hs256: empty secret");
  return util::sign_jwt_hs256(secret, claims.dump());
}

} // namespace mercato::api
