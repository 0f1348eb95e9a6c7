#pragma once

// Test tool: mints HS256 JWTs with the shared utilities, so that the end-to-end tests do not
// link the api layer they are testing.

#include "runtime/util/crypto.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

namespace mercato::test {

/// Signs `claims` as a compact HS256 JWT with `secret`.
inline std::string mint_hs256(const nlohmann::json& claims, const std::string& secret) {
  return util::sign_jwt_hs256(secret, claims.dump());
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
