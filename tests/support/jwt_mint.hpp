#pragma once

// Test tool: mints HS256 JWTs with OpenSSL directly, so that the end-to-end tests do not link
// the api layer they are testing.

#include <nlohmann/json.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mercato::test {

/// Base64url without padding (RFC 7515 §2).
inline std::string base64url(std::string_view in) {
  static constexpr char alphabet[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    auto n = (static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16)
             | (static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8)
             | static_cast<uint32_t>(static_cast<unsigned char>(in[i + 2]));
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  if (auto rest = in.size() - i; rest > 0) {
    auto n = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (rest == 2)
      n |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    if (rest == 2)
      out += alphabet[(n >> 6) & 63];
  }
  return out;
}

/// Signs `claims` as a compact HS256 JWT with `secret`.
inline std::string mint_hs256(const nlohmann::json& claims, const std::string& secret) {
  auto signing_input = base64url(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url(claims.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
           &mac_len)
      == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed");
  return signing_input + "."
         + base64url(std::string_view{reinterpret_cast<const char*>(mac), mac_len});
}

/// A token for `sub` with `role`, valid for `ttl` from now (negative: already expired).
inline std::string mint_token(const std::string& secret, const std::string& sub,
                              const std::string& role,
                              std::chrono::seconds ttl = std::chrono::hours{1}) {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
    std::chrono::system_clock::now().time_since_epoch());
  return mint_hs256({{"sub", sub}, {"role", role}, {"exp", (now + ttl).count()}}, secret);
}

} // namespace mercato::test
