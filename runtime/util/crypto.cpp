#include "runtime/util/crypto.hpp"

#include "runtime/util/encoding.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

namespace mercato::util {

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len)
      == nullptr)
    return {};
  return std::string{reinterpret_cast<const char*>(mac), len};
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  return hex_encode(hmac_sha256(key, data));
}

bool equal_in_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool verify_hmac_sha256_hex(std::string_view key, std::string_view data,
                            std::string_view signature) {
  if (key.empty())
    return false;
  if (signature.substr(0, 7) == "sha256=")
    signature.remove_prefix(7);
  std::string given;
  if (signature.size() != 2 * SHA256_DIGEST_LENGTH || !hex_decode(signature, given))
    return false;
  auto mac = hmac_sha256(key, data);
  return mac.size() == SHA256_DIGEST_LENGTH && equal_in_constant_time(mac, given);
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return hex_encode(std::string_view{reinterpret_cast<const char*>(digest), sizeof digest});
}

std::string sign_jwt_hs256(std::string_view secret, std::string_view claims_json) {
  auto input
    = base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(claims_json);
  return input + "." + base64url_encode(hmac_sha256(secret, input));
}

} // namespace mercato::util
