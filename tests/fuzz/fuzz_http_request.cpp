// The HTTP request path up to the handlers, as api/http/session.cpp takes it: raw bytes through
// Beast's request parser with the server's limits, then the request id, the trace context, the
// split of the target, the router of the whole API (make_router) with its path parameters, and
// the bearer token check that most handlers start with. No actor system: handlers are not called.
// Every refusal must be a 4xx problem that renders as JSON.

#include "api/http/request_id.hpp"
#include "api/http/router.hpp"
#include "api/http/session.hpp"
#include "api/routes/common.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

using namespace mercato;
using namespace mercato::api;
using mercato::fuzz::check;
namespace http = boost::beast::http;

namespace {

// As session_shared has them by default.
constexpr uint64_t max_body = 1 << 20;
constexpr uint32_t header_limit = 16 * 1024;

const router& routes() {
  static const auto r = [] {
    runtime::node_handles handles;
    handles.cfg.auth.jwt_secret = "fuzz-secret-of-at-least-thirty-two-bytes";
    return make_router(handles);
  }();
  return *r;
}

const jwt_verifier& verifier() {
  static const jwt_verifier v{"fuzz-secret-of-at-least-thirty-two-bytes"};
  return v;
}

size_t param_count(std::string_view pattern) {
  size_t n = 0;
  for (char c : pattern)
    n += c == '{' ? 1 : 0;
  return n;
}

void route(const http::request<http::string_body>& msg) {
  auto method = parse_method(msg.method_string());
  auto rid = msg["X-Request-ID"];
  check(!is_valid_request_id(rid) || (!rid.empty() && rid.size() <= max_request_id_length),
        "a kept request id is 1 to 128 characters");
  check(is_valid_request_id(new_request_id()), "a generated request id is valid");
  if (auto tp = msg["traceparent"]; !tp.empty()) {
    trace_context tc;
    if (parse_traceparent(tp, tc))
      check(tc.trace_id.size() == 32 && tc.parent_id.size() == 16 && tc.flags.size() == 2,
            "a trace context has its sizes");
  }
  auto req = request_of(msg, method);
  auto m = routes().match(method, req.path, req.params);
  if (m.result != router::outcome::found) {
    check(m.fn == nullptr, "no handler without a match");
    auto res = unrouted_response(std::move(m), method, msg.method_string(), req.path);
    if (res.status != 204)
      fuzz::check_refusal(res);
    check(res.status != 405 || !res.allow.empty(), "a 405 says what is allowed");
    return;
  }
  check(m.fn != nullptr && *m.fn, "a match has a handler");
  check(req.params.size() == param_count(m.pattern), "every parameter of the pattern is filled");
  for (size_t i = 0; i < req.params.size(); ++i)
    check(!req.params[i].second.empty(), "a path parameter is not empty");
  // Most handlers start by checking the token: a refusal is a 401 problem.
  auto v = verifier().verify_header(req.authorization, 1'700'000'000);
  if (!v.ok()) {
    auto res = unauthorized_response(v.error);
    check(res.status == 401, "a refused token is 401");
    fuzz::check_refusal(res);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.eager(true);
  parser.body_limit(max_body);
  parser.header_limit(header_limit);
  boost::beast::error_code ec;
  std::string_view in{reinterpret_cast<const char*>(data), size};
  while (!in.empty() && !parser.is_done()) {
    auto n = parser.put(boost::asio::const_buffer(in.data(), in.size()), ec);
    if (ec == http::error::need_more) {
      ec = {};
      break; // the whole input is here: what follows is the end of the connection
    }
    if (ec || n == 0)
      break;
    in.remove_prefix(n);
  }
  if (!ec && !parser.is_done()) {
    if (!parser.got_some())
      return 0; // the connection ended before a request began: nothing to answer
    parser.put_eof(ec);
  }
  if (ec) {
    if (auto res = read_error_response(ec, max_body, header_limit))
      fuzz::check_refusal(*res);
    return 0;
  }
  check(parser.is_done(), "a request without an error is complete");
  route(parser.get());
  return 0;
}
