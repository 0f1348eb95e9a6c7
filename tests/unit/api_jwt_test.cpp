#include "api/auth/jwt.hpp"
#include "runtime/util/encoding.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

using namespace mercato::api;
using mercato::util::base64url_encode;
using nlohmann::json;

namespace {

constexpr int64_t now = 1'700'000'000;
const std::string secret = "test-secret-0123456789";

std::string mint(json claims, const std::string& key = secret) {
  return mint_hs256(claims, key);
}

json claims(std::string role = "admin") {
  return {{"sub", "u-1"}, {"role", role}, {"exp", now + 60}};
}

jwt_policy no_leeway() {
  return jwt_policy{0, {}, {}};
}

// Builds a token with an arbitrary header and signature (attacks).
std::string forge(const json& header, const json& payload, std::string sig) {
  return base64url_encode(header.dump()) + "." + base64url_encode(payload.dump()) + "." + sig;
}

} // namespace

TEST(Jwt, MintedTokenVerifies) {
  jwt_verifier v{secret};
  auto res = v.verify(mint(claims("service")), now);
  ASSERT_TRUE(res.ok()) << to_string(res.error);
  EXPECT_EQ(res.who.sub, "u-1");
  EXPECT_EQ(res.who.who, role::service);
}

TEST(Jwt, MintMatchesOpenSslHmac) {
  auto token = mint(claims());
  auto dot = token.rfind('.');
  unsigned char mac[32];
  unsigned int len = 0;
  auto signing_input = token.substr(0, dot);
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
       &len);
  EXPECT_EQ(token.substr(dot + 1),
            base64url_encode(std::string_view{reinterpret_cast<char*>(mac), len}));
}

TEST(Jwt, VerifiesBearerHeader) {
  jwt_verifier v{secret};
  auto token = mint(claims());
  EXPECT_TRUE(v.verify_header("Bearer " + token, now).ok());
  EXPECT_TRUE(v.verify_header("bearer  " + token + " ", now).ok());
  EXPECT_EQ(v.verify_header("", now).error, jwt_error::missing);
  EXPECT_EQ(v.verify_header("Basic dXNlcjpwYXNz", now).error, jwt_error::missing);
  EXPECT_EQ(v.verify_header("Bearer", now).error, jwt_error::missing);
  EXPECT_EQ(v.verify_header("Bearer ", now).error, jwt_error::missing);
  EXPECT_EQ(v.verify_header("Bearertoken", now).error, jwt_error::missing);
}

TEST(Jwt, RejectsWrongSecret) {
  jwt_verifier v{"another-secret"};
  EXPECT_EQ(v.verify(mint(claims()), now).error, jwt_error::bad_signature);
}

TEST(Jwt, RejectsTamperedPayload) {
  jwt_verifier v{secret};
  auto token = mint(claims("customer"));
  auto parts_end = token.rfind('.');
  auto first_dot = token.find('.');
  auto evil = base64url_encode(json{{"sub", "u-1"}, {"role", "admin"}, {"exp", now + 60}}.dump());
  auto tampered = token.substr(0, first_dot + 1) + evil + token.substr(parts_end);
  EXPECT_EQ(v.verify(tampered, now).error, jwt_error::bad_signature);
}

TEST(Jwt, RejectsTamperedSignature) {
  jwt_verifier v{secret};
  auto token = mint(claims());
  token.back() = token.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(v.verify(token, now).error, jwt_error::bad_signature);
}

TEST(Jwt, RejectsAlgNone) {
  jwt_verifier v{secret};
  auto token = forge({{"alg", "none"}, {"typ", "JWT"}}, claims(), "");
  EXPECT_EQ(v.verify(token, now).error, jwt_error::unsupported_alg);
  auto upper = forge({{"alg", "NONE"}}, claims(), "");
  EXPECT_EQ(v.verify(upper, now).error, jwt_error::unsupported_alg);
}

TEST(Jwt, RejectsOtherAlgorithms) {
  jwt_verifier v{secret};
  // A valid HS256 MAC under a header that claims another algorithm must not pass either.
  auto header = json{{"alg", "HS512"}, {"typ", "JWT"}};
  auto signing_input = base64url_encode(header.dump()) + "." + base64url_encode(claims().dump());
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
       &len);
  auto token = signing_input + "." + base64url_encode(std::string_view{(char*)mac, len});
  EXPECT_EQ(v.verify(token, now).error, jwt_error::unsupported_alg);
  EXPECT_EQ(v.verify(forge({{"alg", "RS256"}}, claims(), "x"), now).error,
            jwt_error::unsupported_alg);
}

TEST(Jwt, RejectsCriticalHeader) {
  jwt_verifier v{secret};
  EXPECT_EQ(v.verify(forge({{"alg", "HS256"}, {"crit", {"exp"}}}, claims(), "x"), now).error,
            jwt_error::unsupported_alg);
}

TEST(Jwt, RejectsExpired) {
  jwt_verifier v{secret, no_leeway()};
  auto c = claims();
  c["exp"] = now - 1;
  EXPECT_EQ(v.verify(mint(c), now).error, jwt_error::expired);
  c["exp"] = now;
  EXPECT_EQ(v.verify(mint(c), now).error, jwt_error::expired);
}

TEST(Jwt, ExpiryIsRecheckedOnCachedTokens) {
  jwt_verifier v{secret, no_leeway()};
  auto token = mint(claims()); // exp = now + 60
  EXPECT_TRUE(v.verify(token, now).ok());
  EXPECT_TRUE(v.verify(token, now).ok()); // cached
  EXPECT_EQ(v.verify(token, now + 61).error, jwt_error::expired);
}

TEST(Jwt, AllowsLeeway) {
  jwt_verifier v{secret, jwt_policy{30, {}, {}}};
  auto c = claims();
  c["exp"] = now - 10;
  EXPECT_TRUE(v.verify(mint(c), now).ok());
  c["exp"] = now - 31;
  EXPECT_EQ(v.verify(mint(c), now).error, jwt_error::expired);
}

TEST(Jwt, RefusesATokenThatNeverEnds) {
  jwt_verifier v{secret};
  auto res = v.verify(mint({{"sub", "svc"}, {"role", "service"}}), now);
  EXPECT_EQ(res.error, jwt_error::no_expiry);
  EXPECT_EQ(to_string(res.error), "the token has no expiry (exp is required)");
}

TEST(Jwt, ReportsWhenAValidTokenEnds) {
  jwt_verifier v{secret};
  auto token = mint(claims());
  EXPECT_EQ(v.verify(token, now).expires_at_s, now + 60);
  EXPECT_EQ(v.verify(token, now).expires_at_s, now + 60) << "from the cache too";
}

TEST(Jwt, ChecksIssuerAndAudienceWhenConfigured) {
  jwt_verifier v{secret, jwt_policy{30, "https://id.mercato.dev", "mercato-api"}};
  auto c = claims();
  EXPECT_EQ(v.verify(mint(c), now).error, jwt_error::wrong_issuer);
  c["iss"] = "https://evil.example";
  EXPECT_EQ(v.verify(mint(c), now).error, jwt_error::wrong_issuer);
  c["iss"] = "https://id.mercato.dev";
  EXPECT_EQ(v.verify(mint(c), now).error, jwt_error::wrong_audience) << "no aud";
  c["aud"] = "another-api";
  EXPECT_EQ(v.verify(mint(c), now).error, jwt_error::wrong_audience);
  c["aud"] = json::array({"another-api", 7});
  EXPECT_EQ(v.verify(mint(c), now).error, jwt_error::wrong_audience);
  c["aud"] = "mercato-api";
  EXPECT_TRUE(v.verify(mint(c), now).ok());
  c["aud"] = json::array({"another-api", "mercato-api"});
  EXPECT_TRUE(v.verify(mint(c), now).ok()) << "an array naming it (RFC 7519 4.1.3)";
  // Without a policy, iss and aud are not looked at.
  jwt_verifier open{secret};
  c["iss"] = "anyone";
  c["aud"] = "anything";
  EXPECT_TRUE(open.verify(mint(c), now).ok());
}

TEST(Jwt, RespectsNotBefore) {
  jwt_verifier v{secret, no_leeway()};
  auto c = claims();
  c["nbf"] = now + 100;
  EXPECT_EQ(v.verify(mint(c), now).error, jwt_error::not_yet_valid);
  c["nbf"] = now;
  EXPECT_TRUE(v.verify(mint(c), now).ok());
}

TEST(Jwt, AcceptsFractionalNumericDates) {
  jwt_verifier v{secret, no_leeway()};
  auto c = claims();
  c["exp"] = static_cast<double>(now) + 0.5 + 10;
  EXPECT_TRUE(v.verify(mint(c), now).ok());
}

TEST(Jwt, RejectsNonNumericExp) {
  jwt_verifier v{secret};
  auto c = claims();
  c["exp"] = "tomorrow";
  EXPECT_EQ(v.verify(mint(c), now).error, jwt_error::invalid_claims);
}

TEST(Jwt, RequiresSubAndKnownRole) {
  jwt_verifier v{secret};
  EXPECT_EQ(v.verify(mint({{"role", "admin"}}), now).error, jwt_error::invalid_claims);
  EXPECT_EQ(v.verify(mint({{"sub", ""}, {"role", "admin"}}), now).error, jwt_error::invalid_claims);
  EXPECT_EQ(v.verify(mint({{"sub", 7}, {"role", "admin"}}), now).error, jwt_error::invalid_claims);
  EXPECT_EQ(v.verify(mint({{"sub", "x"}}), now).error, jwt_error::invalid_claims);
  EXPECT_EQ(v.verify(mint({{"sub", "x"}, {"role", "root"}}), now).error, jwt_error::invalid_claims);
}

// `sub` becomes the customer id that carts and orders journal: text the journal cannot store
// would fail a whole batch later, so such a token is refused here.
TEST(Jwt, RequiresSubThatIsStorableText) {
  jwt_verifier v{secret};
  EXPECT_EQ(v.verify(mint({{"sub", std::string{"a\0b", 3}}, {"role", "customer"}}), now).error,
            jwt_error::invalid_claims);
  EXPECT_TRUE(
    v.verify(mint({{"sub", "caf\xc3\xa9"}, {"role", "customer"}, {"exp", now + 60}}), now).ok());
}

// A tracking link's token (claim `order`) reads one order of its customer; see routes/common.
TEST(Jwt, OrderClaimScopesACustomerToken) {
  jwt_verifier v{secret};
  auto c = claims("customer");
  auto unscoped = v.verify(mint(c), now);
  ASSERT_TRUE(unscoped.ok());
  EXPECT_FALSE(unscoped.who.is_scoped());
  c["order"] = "ord_01H.x-9";
  auto token = mint(c);
  auto res = v.verify(token, now);
  ASSERT_TRUE(res.ok()) << to_string(res.error);
  EXPECT_TRUE(res.who.is_scoped());
  EXPECT_EQ(res.who.order_scope, "ord_01H.x-9");
  EXPECT_EQ(res.who.sub, "u-1");
  EXPECT_EQ(res.who.who, role::customer);
  EXPECT_EQ(v.verify(token, now).who.order_scope, "ord_01H.x-9") << "from the cache too";
}

TEST(Jwt, OrderClaimIsForCustomersOnly) {
  jwt_verifier v{secret};
  for (auto r : {"service", "admin"}) {
    auto c = claims(r);
    c["order"] = "ord_1";
    auto res = v.verify(mint(c), now);
    EXPECT_EQ(res.error, jwt_error::invalid_scope) << r;
    EXPECT_FALSE(res.who.is_scoped()) << r;
  }
  EXPECT_EQ(to_string(jwt_error::invalid_scope),
            "the token's order claim is invalid (an order id, on a customer token only)");
}

TEST(Jwt, OrderClaimMustBeAnOrderId) {
  jwt_verifier v{secret};
  for (const json& bad :
       {json(""), json("ord 1"), json("ord/1"), json("ord:1"), json(std::string(65, 'a')),
        json(std::string{"o\0", 2}), json("caf\xc3\xa9"), json(7), json(nullptr),
        json::array({"ord_1"}), json::object()}) {
    auto c = claims("customer");
    c["order"] = bad;
    EXPECT_EQ(v.verify(mint(c), now).error, jwt_error::invalid_scope) << bad.dump();
  }
  auto c = claims("customer");
  c["order"] = std::string(64, 'a');
  EXPECT_TRUE(v.verify(mint(c), now).ok()) << "64 characters is an order id";
}

TEST(Jwt, RejectsMalformedTokens) {
  jwt_verifier v{secret};
  EXPECT_EQ(v.verify("", now).error, jwt_error::missing);
  EXPECT_EQ(v.verify("abc", now).error, jwt_error::malformed);
  EXPECT_EQ(v.verify("a.b", now).error, jwt_error::malformed);
  EXPECT_EQ(v.verify("a.b.c.d", now).error, jwt_error::malformed);
  EXPECT_EQ(v.verify("!!.b.c", now).error, jwt_error::malformed);
  EXPECT_EQ(v.verify(base64url_encode("not json") + ".e30.sig", now).error, jwt_error::malformed);
  EXPECT_EQ(v.verify(base64url_encode("[1]") + ".e30.sig", now).error, jwt_error::malformed);
  EXPECT_EQ(v.verify(std::string(10000, 'a'), now).error, jwt_error::malformed);
}

TEST(Jwt, RejectsPayloadThatIsNotAnObject) {
  jwt_verifier v{secret};
  auto token = mint_hs256(json::object(), secret);
  // Re-sign a non-object payload by hand.
  auto header = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  auto signing_input = header + "." + base64url_encode("[1,2]");
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
       &len);
  auto bad = signing_input + "." + base64url_encode(std::string_view{(char*)mac, len});
  EXPECT_EQ(v.verify(bad, now).error, jwt_error::malformed);
}

TEST(Jwt, EmptySecretRefusesEverything) {
  jwt_verifier v{""};
  EXPECT_FALSE(v.verify(mint(claims()), now).ok());
  EXPECT_THROW(mint_hs256(claims(), ""), std::invalid_argument);
}

TEST(Jwt, CacheDoesNotLeakAcrossSecrets) {
  jwt_verifier good{secret};
  jwt_verifier other{"different"};
  auto token = mint(claims());
  EXPECT_TRUE(good.verify(token, now).ok());
  EXPECT_EQ(other.verify(token, now).error, jwt_error::bad_signature);
}

TEST(Jwt, MintRejectsNonObjectClaims) {
  EXPECT_THROW(mint_hs256(json::array(), secret), std::invalid_argument);
}

TEST(Roles, ParseAndPrint) {
  role r = role::customer;
  EXPECT_TRUE(parse_role("admin", r));
  EXPECT_EQ(r, role::admin);
  EXPECT_EQ(to_string(role::service), "service");
  EXPECT_FALSE(parse_role("Admin", r));
}
