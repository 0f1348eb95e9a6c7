// api/auth/jwt: token verification. The first byte picks what the rest is:
//   0: a whole token (or Authorization header value), as a client sends it;
//   1: the claims of a token signed with the right secret, so that every claim rule is reached;
//   2: header and claims (split at the first newline), signed with the right secret.
// A verified token must name a subject and an unexpired `exp` (and, when it tracks an order, be a
// customer's naming an order id); verification must not depend on the per-thread cache or on the
// header's form; a token with a changed signature must be refused.

#include "api/auth/jwt.hpp"
#include "api/json/commerce_codec.hpp"
#include "api/routes/common.hpp"
#include "runtime/util/crypto.hpp"
#include "runtime/util/encoding.hpp"
#include "runtime/util/text.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace mercato;
using namespace mercato::api;
using mercato::fuzz::check;

namespace {

const std::string secret = "fuzz-secret-of-at-least-thirty-two-bytes";
constexpr int64_t now_s = 1'700'000'000;

const jwt_verifier& plain() {
  static const jwt_verifier v{secret};
  return v;
}

const jwt_verifier& strict() {
  static const jwt_verifier v{secret, jwt_policy{30, "mercato", "api"}};
  return v;
}

void check_result(const verify_result& r) {
  if (!r.ok()) {
    check(r.error != jwt_error::none, "a refusal has a reason");
    auto res = unauthorized_response(r.error);
    fuzz::check_refusal(res);
    check(res.status == 401, "a refused token is 401");
    return;
  }
  check(!r.who.sub.empty() && r.who.sub.size() <= 256 && util::is_storable_text(r.who.sub),
        "a verified subject is 1 to 256 bytes of storable text");
  check(r.expires_at_s > now_s - 30, "a verified token has not expired");
  check(!r.who.is_scoped()
          || (r.who.who == role::customer && is_valid_entity_id(r.who.order_scope)),
        "a tracking token is a customer's and names an order id");
}

bool same(const verify_result& a, const verify_result& b) {
  return a.error == b.error && a.who.sub == b.who.sub && a.who.who == b.who.who
         && a.who.order_scope == b.who.order_scope && a.expires_at_s == b.expires_at_s;
}

void verify_token(const std::string& token) {
  for (const auto* v : {&plain(), &strict()}) {
    auto first = v->verify(token, now_s);
    check_result(first);
    check(same(first, v->verify(token, now_s)), "a cached verification answers the same");
    auto header = v->verify_header("Bearer " + token, now_s);
    check(token.empty() || token.front() == ' ' || token.back() == ' ' || token.back() == '\t'
            || same(first, header),
          "the Authorization header answers as the token does");
    if (first.ok()) {
      // Flip one bit of the signature's last full character: the token must be refused.
      auto tampered = token;
      auto dot = tampered.rfind('.');
      check(dot != std::string::npos && dot + 1 < tampered.size(), "a verified token is signed");
      auto& c = tampered[dot + 1];
      c = c == 'A' ? 'B' : 'A';
      check(!v->verify(tampered, now_s).ok(), "a tampered signature is refused");
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  std::string rest{reinterpret_cast<const char*>(data) + 1, size - 1};
  switch (data[0] % 3) {
  case 0: {
    verify_token(rest);
    auto r = plain().verify_header(rest, now_s);
    if (!r.ok())
      check_result(r);
    break;
  }
  case 1:
    verify_token(util::sign_jwt_hs256(secret, rest));
    break;
  default: {
    auto nl = rest.find('\n');
    auto header = rest.substr(0, nl);
    auto claims = nl == std::string::npos ? std::string{} : rest.substr(nl + 1);
    auto signing_input = util::base64url_encode(header) + "." + util::base64url_encode(claims);
    verify_token(signing_input + "."
                 + util::base64url_encode(util::hmac_sha256(secret, signing_input)));
  }
  }
  return 0;
}
