#pragma once

// HMAC-SHA256 signatures of webhook bodies (X-Signature).

#include <string>
#include <string_view>

namespace mercato::api {

/// Lower-case hex of HMAC-SHA256(`key`, `body`).
std::string hmac_sha256_hex(std::string_view key, std::string_view body);

/// True if `signature` is the hex HMAC-SHA256 of `body` under `key` (either case, optionally
/// prefixed "sha256="). Compares in constant time; an empty key verifies nothing.
bool verify_hmac_sha256_hex(std::string_view key, std::string_view body,
                            std::string_view signature);

} // namespace mercato::api
