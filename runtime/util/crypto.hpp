#pragma once

// The few cryptographic operations Mercato needs, on OpenSSL: SHA-256 digests, HMAC-SHA256
// signatures (webhooks, JWT HS256) and their constant-time check.

#include <string>
#include <string_view>

namespace mercato::util {

/// The 32 raw bytes of HMAC-SHA256(`key`, `data`).
std::string hmac_sha256(std::string_view key, std::string_view data);

/// Lower-case hex of HMAC-SHA256(`key`, `data`).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

/// True if `signature` is the hex HMAC-SHA256 of `data` under `key` (either case, optionally
/// prefixed "sha256="). Compares in constant time; an empty key verifies nothing.
bool verify_hmac_sha256_hex(std::string_view key, std::string_view data,
                            std::string_view signature);

/// True if `a` and `b` are equal, in time that depends only on their lengths.
bool equal_in_constant_time(std::string_view a, std::string_view b);

/// Lower-case hex of SHA-256(`data`).
std::string sha256_hex(std::string_view data);

/// A JWT signed with HS256: base64url(header).base64url(`claims_json`).base64url(signature).
std::string sign_jwt_hs256(std::string_view secret, std::string_view claims_json);

} // namespace mercato::util
