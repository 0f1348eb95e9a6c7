#pragma once

// Method + path routing with `{param}` segments. Built once at start, then read-only (shared by
// all I/O threads without locks).

#include "api/http/types.hpp"

#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mercato::api {

/// Maps (method, path) to a handler. Patterns are absolute paths whose segments are literals or
/// `{name}` parameters that match one non-empty segment. When several patterns match a path, the
/// one with a literal at the first position where they differ wins, so `/a/b` beats `/a/{x}`.
/// `HEAD` falls back to the `GET` handler.
class router {
public:
  /// Answers one request, on the connection's strand. Must not block; the reply may come later
  /// from any thread through `reply`.
  using handler = std::function<void(const request& req, const responder& reply)>;

  enum class outcome : uint8_t { found, not_found, method_not_allowed };

  struct match_result {
    outcome result = outcome::not_found;
    const handler* fn = nullptr; ///< set when found
    /// Index of the matched pattern in `patterns()`; `patterns().size()` when nothing matched.
    size_t pattern_id = 0;
    /// The matched pattern (a metrics label), or "unmatched".
    std::string_view pattern = "unmatched";
    /// For `method_not_allowed` (and for OPTIONS): the methods the pattern serves, e.g.
    /// "GET, HEAD, PUT".
    std::string allow;
    /// The route's own deadline; zero = the server's request timeout.
    std::chrono::milliseconds deadline{0};
  };

  /// Registers `h` for `method` on `pattern`; `deadline` (if not zero) replaces the server's
  /// request timeout for this route (e.g. a checkout that waits for a payment provider). Throws
  /// `std::invalid_argument` for a malformed pattern, a duplicate (method, pattern), or a pattern
  /// with the same shape as another one but different parameter names.
  void add(http_method method, std::string_view pattern, handler h,
           std::chrono::milliseconds deadline = std::chrono::milliseconds{0});

  /// Finds the handler of (method, path) and fills `params` with the percent-decoded values.
  match_result match(http_method method, std::string_view path, path_params& params) const;

  /// Every registered pattern, in registration order (stable ids for metrics tables).
  std::vector<std::string_view> patterns() const;

  /// Every (method, pattern) pair, in registration order of the patterns.
  std::vector<std::pair<http_method, std::string_view>> routes() const;

private:
  struct segment {
    bool is_param = false;
    std::string_view text; ///< literal text or parameter name (views into `pattern`)
  };
  struct entry {
    std::string pattern;
    std::vector<segment> segments;
    std::array<handler, http_method_count> handlers;
    std::array<std::chrono::milliseconds, http_method_count> deadlines{};
    std::string allow;
  };

  std::deque<entry> entries_; // deque: views into `pattern` stay valid
};

/// The answer to a request that no handler takes, from its match: 404 `not_found`, or for a
/// pattern without the method 405 `invalid_request` with Allow (204 with Allow to OPTIONS).
/// `method_name` and `path` are the request's own, quoted (cut short) in the detail.
response unrouted_response(router::match_result&& m, http_method method,
                           std::string_view method_name, std::string_view path);

} // namespace mercato::api
