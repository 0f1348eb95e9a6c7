#include "api/auth/hmac.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace mercato::api {

namespace {

constexpr size_t sha256_len = 32;

bool mac_of(std::string_view key, std::string_view body,
            std::array<unsigned char, sha256_len>& out) {
  unsigned int len = 0;
  auto* res
    = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), out.data(), &len);
  return res != nullptr && len == sha256_len;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view body) {
  static constexpr char hex[] = "0123456789abcdef";
  std::array<unsigned char, sha256_len> mac{};
  if (!mac_of(key, body, mac))
    return {};
  std::string out;
  for (auto b : mac) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

bool verify_hmac_sha256_hex(std::string_view key, std::string_view body,
                            std::string_view signature) {
  if (key.empty())
    return false;
  if (signature.substr(0, 7) == "sha256=")
    signature.remove_prefix(7);
  if (signature.size() != 2 * sha256_len)
    return false;
  std::array<unsigned char, sha256_len> given{};
  for (size_t i = 0; i < sha256_len; ++i) {
    int hi = hex_value(signature[2 * i]);
    int lo = hex_value(signature[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return false;
    given[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  std::array<unsigned char, sha256_len> mac{};
  if (!mac_of(key, body, mac))
    return false;
  return CRYPTO_memcmp(mac.data(), given.data(), sha256_len) == 0;
}

} // namespace mercato::api
