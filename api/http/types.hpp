#pragma once

// The HTTP vocabulary shared by the server (Beast) and the route handlers (CAF). Free of Beast and
// CAF headers on purpose: route TUs include this, not Beast.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mercato::api {

/// Request methods the router knows; anything else is `other` (answered 405 or 404).
enum class http_method : uint8_t { get, head, post, put, delete_, patch, options, other };

/// Number of `http_method` values (for tables indexed by method).
inline constexpr size_t http_method_count = 8;

/// Upper-case name of `m` ("OTHER" for `other`).
std::string_view to_string(http_method m) noexcept;

/// Parses an upper-case method name; `other` if unknown.
http_method parse_method(std::string_view name) noexcept;

/// Values of the `{param}` segments of a matched route, percent-decoded, in template order.
class path_params {
public:
  static constexpr size_t max_params = 6;

  /// The value of `name`, or an empty view if the route has no such parameter.
  std::string_view get(std::string_view name) const noexcept;

  size_t size() const noexcept {
    return size_;
  }
  const std::pair<std::string_view, std::string>& operator[](size_t i) const noexcept {
    return items_[i];
  }

  /// Appends a parameter (the router does this); false when full.
  bool push(std::string_view name, std::string value);

  void clear() noexcept;

private:
  std::array<std::pair<std::string_view, std::string>, max_params> items_;
  size_t size_ = 0;
};

/// One parsed request as a handler sees it. Views point into the session's buffers and are valid
/// only during the handler call: copy what an actor needs.
struct request {
  http_method method = http_method::get;
  std::string_view target;          ///< raw request target, e.g. "/v1/products?q=x"
  std::string_view path;            ///< target up to '?'
  std::string_view query;           ///< after '?', without it ("" if none)
  std::string_view authorization;   ///< value of the Authorization header ("" if none)
  std::string_view idempotency_key; ///< value of the Idempotency-Key header ("" if none)
  std::string_view signature;       ///< value of the X-Signature header ("" if none; webhooks)
  std::string_view if_none_match;   ///< value of the If-None-Match header ("" if none; pages)
  std::string_view body;
  std::string_view request_id; ///< the X-Request-ID of the response (validated or generated)
  path_params params;
};

/// A field-level validation problem (the `errors` extension of a 400 problem).
struct field_error {
  std::string field;
  std::string message;
};

/// An RFC 9457 problem before rendering: the session renders it once it knows the request id.
struct problem {
  std::string code;   ///< one of API.md's codes, e.g. "invalid_request"
  std::string detail; ///< human text for this occurrence
  std::vector<field_error> errors;
  std::vector<std::string> skus = {}; ///< `skus` extension (insufficient_stock at checkout)
};

/// A response as handlers build it. The session serialises it once, adding Date, Content-Length,
/// X-Request-ID and Connection.
struct response {
  uint16_t status = 200;
  std::string_view content_type = "application/json"; ///< must point to static storage
  std::string body;
  bool is_problem = false; ///< if set, `prob` is rendered as the body (application/problem+json)
  problem prob;
  std::string location;       ///< Location header, if not empty
  std::string allow;          ///< Allow header (405), if not empty
  uint32_t retry_after_s = 0; ///< Retry-After header, if not zero
  std::string extra_headers;  ///< preformatted "Name: value\r\n" lines (WWW-Authenticate...)
};

/// Builds a JSON response.
response json_response(uint16_t status, std::string body);

/// Builds a problem response with `status` and API.md `code`.
response problem_response(uint16_t status, std::string code, std::string detail,
                          std::vector<field_error> errors = {});

/// Where a response goes: implemented by the session, which posts it onto its strand.
class response_sink {
public:
  virtual ~response_sink() = default;
  /// Thread-safe; `seq` identifies the request being answered (stale answers are dropped).
  virtual void post_response(uint64_t seq, response&& res) = 0;
};

/// Hands the answer of one request back to its connection. Cheap to copy (a weak pointer and a
/// number), safe to call from any thread (CAF workers included); the first call wins, later ones
/// and calls after the connection closed are dropped.
class responder {
public:
  responder() = default;
  responder(std::weak_ptr<response_sink> sink, uint64_t seq) noexcept
      : sink_(std::move(sink)), seq_(seq) {}

  void operator()(response&& res) const;

private:
  std::weak_ptr<response_sink> sink_;
  uint64_t seq_ = 0;
};

} // namespace mercato::api
