#pragma once

// Signs test webhooks the way payment providers do: hex HMAC-SHA256 of the raw body.

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

namespace mercato::test {

inline std::string hmac_sha256_hex(const std::string& body, const std::string& key) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 15];
  }
  return out;
}

} // namespace mercato::test
