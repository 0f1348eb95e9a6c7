// The shared utilities (runtime/util/), on their own: this binary links nothing else of
// Mercato's, which also proves that they need no CAF, Beast or libpqxx.

#include "runtime/util/crypto.hpp"
#include "runtime/util/cursor.hpp"
#include "runtime/util/encoding.hpp"
#include "runtime/util/json_text.hpp"
#include "runtime/util/text.hpp"
#include "runtime/util/time.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <string>

using namespace mercato::util;

namespace {

TEST(Base64Url, RoundTrips) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00\x01"}) {
    std::string out;
    ASSERT_TRUE(base64url_decode(base64url_encode(s), out));
    EXPECT_EQ(out, s);
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
}

TEST(Base64Url, RejectsPaddingAndForeignCharacters) {
  std::string out;
  EXPECT_FALSE(base64url_decode("Zm9v=", out));
  EXPECT_FALSE(base64url_decode("Zm+v", out));
  EXPECT_FALSE(base64url_decode("Zm/v", out));
  EXPECT_FALSE(base64url_decode("Z", out));
}

TEST(Base64Url, RefusesBitsLeftOverFromNoByte) {
  std::string out;
  EXPECT_TRUE(base64url_decode("Zg", out));
  EXPECT_FALSE(base64url_decode("Zh", out)) << "the last character carries bits of no byte";
}

TEST(Hex, RoundTripsInLowerCaseAndReadsEitherCase) {
  EXPECT_EQ(hex_encode(std::string{"\x00\x7f\xff", 3}), "007fff");
  std::string out;
  ASSERT_TRUE(hex_decode("007FfF", out));
  EXPECT_EQ(out, (std::string{"\x00\x7f\xff", 3}));
  EXPECT_FALSE(hex_decode("abc", out));
  EXPECT_FALSE(hex_decode("zz", out));
}

TEST(PercentEncode, KeepsUnreservedCharactersOnly) {
  EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percent_encode("a b/c?d%"), "a%20b%2Fc%3Fd%25");
  EXPECT_EQ(percent_encode("caf\xc3\xa9"), "caf%C3%A9");
}

TEST(PercentDecode, DecodesAndRejects) {
  std::string out;
  EXPECT_TRUE(percent_decode("a%20b+c", out));
  EXPECT_EQ(out, "a b+c");
  EXPECT_TRUE(percent_decode("a%20b+c", out, true));
  EXPECT_EQ(out, "a b c");
  EXPECT_FALSE(percent_decode("%2", out));
  EXPECT_FALSE(percent_decode("%", out));
  EXPECT_FALSE(percent_decode("%g0", out));
}

// RFC 4231, test case 2.
TEST(Crypto, HmacSha256MatchesTheRfcVector) {
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_sha256("Jefe", "what do ya want for nothing?").size(), 32u);
}

TEST(Crypto, Sha256MatchesTheStandardVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Crypto, VerifiesSignaturesInEitherCaseWithOrWithoutPrefix) {
  auto sig = hmac_sha256_hex("key", "body");
  EXPECT_TRUE(verify_hmac_sha256_hex("key", "body", sig));
  std::string upper;
  for (char c : sig)
    upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  EXPECT_TRUE(verify_hmac_sha256_hex("key", "body", upper));
  EXPECT_TRUE(verify_hmac_sha256_hex("key", "body", "sha256=" + sig));
  EXPECT_FALSE(verify_hmac_sha256_hex("key", "body!", sig));
  EXPECT_FALSE(verify_hmac_sha256_hex("", "body", hmac_sha256_hex("", "body")))
    << "an empty key verifies nothing";
  EXPECT_FALSE(verify_hmac_sha256_hex("key", "body", sig.substr(2)));
}

TEST(Crypto, SignsJwtsThatSplitIntoHeaderClaimsAndMac) {
  auto token = sign_jwt_hs256("secret", R"({"sub":"ada"})");
  auto dot1 = token.find('.'), dot2 = token.rfind('.');
  ASSERT_NE(dot1, dot2);
  std::string header, claims, mac;
  ASSERT_TRUE(base64url_decode(token.substr(0, dot1), header));
  ASSERT_TRUE(base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), claims));
  ASSERT_TRUE(base64url_decode(token.substr(dot2 + 1), mac));
  EXPECT_EQ(header, R"({"alg":"HS256","typ":"JWT"})");
  EXPECT_EQ(claims, R"({"sub":"ada"})");
  EXPECT_EQ(mac, hmac_sha256("secret", token.substr(0, dot2)));
}

TEST(FormatUtc, FormatsEpochSecondsInUtcWithTheGivenFormat) {
  EXPECT_EQ(format_utc(951782400, "%Y-%m-%d"), "2000-02-29");
  EXPECT_EQ(format_utc(1733040000, "%Y-%m-%dT%H:%M:%S+00:00"), "2024-12-01T08:00:00+00:00");
  EXPECT_EQ(format_utc(0, "%Y-%m-%d %H:%M:%S +0000"), "1970-01-01 00:00:00 +0000");
}

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(951782400000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(4102444799999), "2099-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339_ms(INT64_MAX), "9999-12-31T23:59:59.999Z");
}

TEST(Rfc3339, ParsesOffsetsAndFractionsAndRefusesTheRest) {
  int64_t ms = 0;
  ASSERT_TRUE(parse_rfc3339_ms("1970-01-01T00:00:01Z", ms));
  EXPECT_EQ(ms, 1000);
  ASSERT_TRUE(parse_rfc3339_ms("2024-02-29T13:34:56.789123+01:00", ms));
  EXPECT_EQ(ms, 1709210096789);
  EXPECT_FALSE(parse_rfc3339_ms("2024-02-29T12:34:56", ms)) << "no offset";
  EXPECT_FALSE(parse_rfc3339_ms("2023-02-29T00:00:00Z", ms)) << "no such day";
  EXPECT_FALSE(parse_rfc3339_ms("yesterday", ms));
}

TEST(StorableText, AcceptsUtf8AndRefusesNulAndMalformedBytes) {
  EXPECT_TRUE(is_storable_text(""));
  EXPECT_TRUE(is_storable_text("plain"));
  EXPECT_TRUE(is_storable_text("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_storable_text(std::string{"a\0b", 3}));
  EXPECT_FALSE(is_storable_text("\xff"));
  EXPECT_FALSE(is_storable_text("\xc3"));         // truncated
  EXPECT_FALSE(is_storable_text("\xc0\xaf"));     // overlong
  EXPECT_FALSE(is_storable_text("\xed\xa0\x80")); // surrogate
}

TEST(JsonText, BuildsEscapedObjectsWithTimes) {
  json_text j;
  j.begin_object().key("q\"uote").value("line\nbreak\x01").key("n").value(int64_t{-5});
  j.key("at").time_ms(0).key("list").begin_array().value(true).null().end_array().end_object();
  EXPECT_EQ(std::move(j).str(), R"({"q\"uote":"line\nbreak\u0001","n":-5,)"
                                R"("at":"1970-01-01T00:00:00.000Z","list":[true,null]})");
}

TEST(JsonText, WritesBytesThatAreNotUtf8AsReplacementCharacters) {
  std::string out;
  append_json_escaped(out, "caf\xc3\xa9 \xf0\x9f\x98\x80");
  EXPECT_EQ(out, "caf\xc3\xa9 \xf0\x9f\x98\x80") << "valid UTF-8 passes through";
  out.clear();
  // A stray byte, a sequence cut short (as a prefix of 256 bytes can cut one) and an overlong
  // form: each byte becomes U+FFFD, so that the JSON text stays UTF-8.
  append_json_escaped(out, "exam\x9fple \xe2\x9c \xc0\xaf\"");
  EXPECT_EQ(out, "exam\\ufffdple \\ufffd\\ufffd \\ufffd\\ufffd\\\"");
  EXPECT_TRUE(is_storable_text(out));
}

TEST(Cursor, RoundTripsAndRefusesWhatNoCursorIs) {
  std::string key;
  ASSERT_TRUE(decode_cursor(encode_cursor("sku/42 \xc3\xa9"), key));
  EXPECT_EQ(key, "sku/42 \xc3\xa9");
  EXPECT_FALSE(decode_cursor("", key)) << "a cursor never encodes an empty key";
  EXPECT_FALSE(decode_cursor("a+b", key));
  EXPECT_FALSE(decode_cursor("Zh", key));
}

} // namespace
