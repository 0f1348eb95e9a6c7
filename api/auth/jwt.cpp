#include "api/auth/jwt.hpp"

#include <nlohmann/json.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace mercato::api {

namespace {

constexpr char b64url_alphabet[]
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int b64url_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-')
    return 62;
  if (c == '_')
    return 63;
  return -1;
}

constexpr size_t sha256_len = 32;
constexpr size_t max_token_length = 8192;

bool hmac_sha256(const std::string& key, std::string_view data,
                 std::array<unsigned char, sha256_len>& out) {
  unsigned int len = 0;
  auto* res
    = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return res != nullptr && len == sha256_len;
}

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
  }
  return "invalid token";
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (uint32_t{byte(i)} << 16) | (uint32_t{byte(i + 1)} << 8) | byte(i + 2);
    out.push_back(b64url_alphabet[(v >> 18) & 63]);
    out.push_back(b64url_alphabet[(v >> 12) & 63]);
    out.push_back(b64url_alphabet[(v >> 6) & 63]);
    out.push_back(b64url_alphabet[v & 63]);
  }
  if (bytes.size() - i == 1) {
    uint32_t v = uint32_t{byte(i)} << 16;
    out.push_back(b64url_alphabet[(v >> 18) & 63]);
    out.push_back(b64url_alphabet[(v >> 12) & 63]);
  } else if (bytes.size() - i == 2) {
    uint32_t v = (uint32_t{byte(i)} << 16) | (uint32_t{byte(i + 1)} << 8);
    out.push_back(b64url_alphabet[(v >> 18) & 63]);
    out.push_back(b64url_alphabet[(v >> 12) & 63]);
    out.push_back(b64url_alphabet[(v >> 6) & 63]);
  }
  return out;
}

bool base64url_decode(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 == 1)
    return false;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = b64url_value(c);
    if (v < 0)
      return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

jwt_verifier::jwt_verifier(std::string secret, int64_t leeway_s)
    : secret_(std::move(secret)), leeway_s_(leeway_s < 0 ? 0 : leeway_s),
      instance_(next_instance.fetch_add(1, std::memory_order_relaxed)) {}

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
    if (exp != no_time && exp <= now_s - leeway_s_)
      return jwt_error::expired;
    if (nbf != no_time && nbf > now_s + leeway_s_)
      return jwt_error::not_yet_valid;
    return jwt_error::none;
  };
  thread_local std::array<cache_entry, cache_slots> cache;
  auto& slot = cache[std::hash<std::string_view>{}(token) % cache_slots];
  if (slot.instance == instance_ && slot.token == token) {
    auto err = check_times(slot.exp, slot.nbf);
    if (err != jwt_error::none)
      return {err, {}};
    return {jwt_error::none, slot.who};
  }
  int64_t exp = no_time;
  int64_t nbf = no_time;
  auto res = verify_uncached(token, exp, nbf, now_s);
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
  return res;
}

verify_result jwt_verifier::verify_uncached(std::string_view token, int64_t& exp, int64_t& nbf,
                                            int64_t) const {
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
  if (header_b64.empty() || !base64url_decode(header_b64, buf))
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
  if (!base64url_decode(sig_b64, buf) || buf.size() != sha256_len)
    return {jwt_error::bad_signature, {}};
  std::array<unsigned char, sha256_len> mac{};
  if (!hmac_sha256(secret_, token.substr(0, dot2), mac))
    return {jwt_error::bad_signature, {}};
  if (CRYPTO_memcmp(mac.data(), buf.data(), sha256_len) != 0)
    return {jwt_error::bad_signature, {}};
  // 3. Claims.
  if (!base64url_decode(payload_b64, buf))
    return {jwt_error::malformed, {}};
  auto claims = nlohmann::json::parse(buf, nullptr, false);
  if (claims.is_discarded() || !claims.is_object())
    return {jwt_error::malformed, {}};
  verify_result res;
  auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string() || sub->get_ref<const std::string&>().empty()
      || sub->get_ref<const std::string&>().size() > 256)
    return {jwt_error::invalid_claims, {}};
  res.who.sub = sub->get<std::string>();
  auto r = claims.find("role");
  if (r == claims.end() || !r->is_string()
      || !parse_role(r->get_ref<const std::string&>(), res.who.who))
    return {jwt_error::invalid_claims, {}};
  if (auto it = claims.find("exp"); it != claims.end())
    if (!numeric_date(*it, exp))
      return {jwt_error::invalid_claims, {}};
  if (auto it = claims.find("nbf"); it != claims.end())
    if (!numeric_date(*it, nbf))
      return {jwt_error::invalid_claims, {}};
  return res;
}

std::string mint_hs256(const nlohmann::json& claims, const std::string& secret) {
  if (!claims.is_object())
    throw std::invalid_argument("mint_hs256: claims must be a JSON object");
  if (secret.empty())
    throw std::invalid_argument("mint_hs256: empty secret");
  std::string token = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  token.push_back('.');
  token += base64url_encode(claims.dump());
  std::array<unsigned char, sha256_len> mac{};
  if (!hmac_sha256(secret, token, mac))
    throw std::runtime_error("mint_hs256: HMAC failed");
  token.push_back('.');
  token
    += base64url_encode(std::string_view{reinterpret_cast<const char*>(mac.data()), mac.size()});
  return token;
}

} // namespace mercato::api
