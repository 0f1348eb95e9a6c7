#pragma once

// A fake marketplace seller API on loopback (TikTok Shop, Shopee or Lazada, as
// adapters/marketplaces/platform_api.cpp speaks to it): it lists the orders it holds by update
// time, page by page, checks every call's signature as the platform documents it, records each
// call, and fails, rate-limits or hangs when told to. It also serves the platform's token refresh
// call: each refresh issues a new access token and a new refresh token and spends the old ones,
// and a test may expire the access token in use (list and detail calls then answer the
// platform's auth error).

#include "tests/support/loopback_http_server.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mercato::test {

class fake_marketplace {
public:
  /// Credentials the fake expects (what the shops file names).
  static inline const std::string app_key = "1000123";
  static inline const std::string app_secret = "fake-marketplace-secret";
  static inline const std::string access_token = "fake-access-token";
  static inline const std::string shop_id = "7000123";
  /// The refresh token the fake starts with (spent by the first refresh).
  static inline const std::string refresh_token = "fake-refresh-token";

  struct call {
    std::string method;
    std::string path;
    std::map<std::string, std::string> query;
    std::string body;
    int status = 0;         ///< what the fake answered (0: held and never answered)
    bool signed_ok = false; ///< the signature (and credentials) matched
    bool token_ok = false;  ///< the access token (refresh call: refresh token) was the current one
    std::chrono::steady_clock::time_point at;
  };

  /// `platform`: tiktok, shopee or lazada.
  explicit fake_marketplace(std::string platform);
  ~fake_marketplace();

  /// Adds or replaces (by its order code) a native order updated at `update_s` (unix seconds).
  /// Lazada orders carry their lines in `items`; the fake serves them from the items call.
  /// Shopee orders may carry `order_income`; the fake serves it from the escrow call.
  void put(nlohmann::json order, int64_t update_s);

  /// The next `n` list calls are answered `status` (with Retry-After: `retry_after_s` for 429).
  void fail_next_lists(int n, int status, int retry_after_s = 0);

  /// List calls after the first `n` are recorded and held, unanswered, until release().
  void hold_lists_after(size_t n);
  void release();

  std::vector<call> calls() const;
  /// The list calls only (the first call of each page).
  std::vector<call> list_calls() const;

  /// From now on the current access token is refused, until a refresh issues a new one.
  void expire_access_token();
  /// The seller authorises the app again: returns the new refresh token, which replaces the
  /// current one; the access token in use stops working.
  std::string reauthorise();
  /// Successful refreshes so far.
  int refreshes() const;
  /// Every token the fake has issued, spent or not, the configured ones included.
  std::vector<std::string> issued_tokens() const;
  /// The refresh token a refresh must present now.
  std::string current_refresh_token() const;
  /// The token refresh calls only.
  std::vector<call> refresh_calls() const;

  /// "http://127.0.0.1:<port>"
  std::string base_url() const;

private:
  struct stored {
    nlohmann::json order;
    int64_t update_s = 0;
    std::string code;
  };

  loopback_http_server::answer serve(const loopback_http_server::request& req);
  loopback_http_server::answer list(call& c);
  loopback_http_server::answer refresh(call& c);
  loopback_http_server::answer auth_error() const;
  bool is_list(const std::string& path) const;
  bool is_refresh(const std::string& path) const;
  bool signature_matches(const call& c, const std::string& token_header) const;
  bool refresh_signature_matches(const call& c) const;
  std::string access_token_of(const call& c, const std::string& token_header) const;
  // Orders updated in [from, to), by update time then code.
  std::vector<const stored*> window(int64_t from, int64_t to) const;
  std::string code_of(const nlohmann::json& order) const;

  std::string platform_;
  mutable std::mutex mtx_;
  std::condition_variable released_;
  std::map<std::string, stored> orders_;
  std::vector<call> calls_;
  int fail_count_ = 0;
  int fail_status_ = 500;
  int retry_after_s_ = 0;
  std::optional<size_t> hold_after_;
  size_t lists_seen_ = 0;
  bool stopping_ = false;
  std::string current_access_ = access_token;
  std::string current_refresh_ = refresh_token;
  bool access_expired_ = false;
  int refreshes_ = 0;
  int authorisations_ = 1;
  std::vector<std::string> issued_{access_token, refresh_token};
  std::unique_ptr<loopback_http_server> server_; // last: stops before the state it reads goes
};

} // namespace mercato::test
