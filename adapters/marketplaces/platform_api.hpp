#pragma once

// The order-list side of each platform's seller API, for the pull sync: which calls list the
// orders updated in a time window (and fetch the details a list leaves out), how each call is
// signed, and how its answers read. One page of a window is one attempt: its list call and its
// detail calls succeed together or the page is tried again (imports are idempotent).
// README.md ("Pulling marketplace orders") documents the calls.

#include "actors/protocol/commerce.hpp"
#include "adapters/net/http_call.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mercato::marketplaces {

/// What a call needs to know of one shop.
struct api_shop {
  sales_platform platform = sales_platform::tiktok;
  std::string base_url; ///< without a trailing slash
  std::string app_key;
  std::string app_secret;
  std::string access_token;
  std::string shop_id;
  int page_size = 50;
};

/// Orders whose update time is in [from_s, to_s), unix seconds.
struct update_window {
  int64_t from_s = 0;
  int64_t to_s = 0;
};

/// The longest window one list call may ask for (Shopee refuses more than 15 days).
inline constexpr int64_t max_window_s = 15 * 86400;

/// How one page came out.
struct page_result {
  /// unauthorized: the platform refused the access token (expired or revoked); a fresh one may
  /// pass where another attempt with the same one cannot.
  enum class outcome { ok, rate_limited, unauthorized, failed };
  outcome result = outcome::failed;
  std::string error;                               ///< failed, unauthorized: why (no secrets)
  std::optional<std::chrono::seconds> retry_after; ///< rate_limited: the platform's wait
  nlohmann::json orders = nlohmann::json::array(); ///< ok: the page's native orders
  std::string next_token;                          ///< ok: where the next page starts
  bool more = false;                               ///< ok: another page follows
};

/// Performs one HTTP call (net::http_call; tests may pass another).
using http_fn = std::function<net::http_call_result(const net::http_call_request&)>;

/// Fetches the page of `window` that starts at `page_token` ("" = the first), signing each call
/// with `now` (unix ms). Never throws.
page_result fetch_page(const api_shop& shop, const update_window& window,
                       const std::string& page_token, const http_fn& http, int64_t now_ms,
                       std::chrono::milliseconds timeout);

/// What a token refresh came to.
struct token_result {
  bool ok = false;
  std::string error;         ///< !ok: what went wrong (no secrets)
  std::string access_token;  ///< ok: the new access token
  std::string refresh_token; ///< ok: the refresh token that replaces the one used
  int64_t expires_at_s = 0;  ///< ok: when the new access token expires (unix s)
};

/// Trades `refresh` for a new token pair at the platform's auth root `auth_url` (no trailing
/// slash), signing with `now_ms` (unix ms). The platforms rotate refresh tokens: once this
/// succeeds, `refresh` is spent. Never throws.
token_result refresh_token(const api_shop& shop, const std::string& auth_url,
                           const std::string& refresh, const http_fn& http, int64_t now_ms,
                           std::chrono::milliseconds timeout);

// -- signatures, as each platform documents them (exposed for tests and the fake platform) --

/// TikTok Shop: hex HMAC-SHA256 under the app secret of
/// `secret + path + {key}{value} of the sorted query (without sign and access_token) + body +
/// secret`.
std::string tiktok_sign(const std::string& secret, const std::string& path,
                        const std::vector<std::pair<std::string, std::string>>& query,
                        const std::string& body);

/// Shopee v2: hex HMAC-SHA256 under the partner key of
/// `partner_id + path + timestamp + access_token + shop_id` (the token refresh call, which is
/// not a shop's call, signs with both empty).
std::string shopee_sign(const std::string& partner_key, const std::string& partner_id,
                        const std::string& path, int64_t timestamp_s,
                        const std::string& access_token, const std::string& shop_id);

/// Lazada: upper-case hex HMAC-SHA256 under the app secret of
/// `path + {key}{value} of the sorted parameters (without sign)`.
std::string lazada_sign(const std::string& secret, const std::string& path,
                        const std::vector<std::pair<std::string, std::string>>& params);

} // namespace mercato::marketplaces
