#include "auth/jwt.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "auth/secrets.hpp"
#include "core/json.hpp"

namespace studio::auth {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kSecret = "test-secret-0123456789abcdef-0123456789";  // 39 bytes
constexpr std::string_view kIssuer = "https://studio.test";
constexpr std::string_view kAudience = "studio-api";
constexpr std::int64_t kNow = 1'700'000'000;

JwtSigner Signer() { return JwtSigner(std::string(kSecret), std::string(kIssuer), std::string(kAudience)); }

AccessClaims GoodClaims() {
  AccessClaims c;
  c.sub = "usr_alice";
  c.wid = "wks_1";
  c.role = "viewer";
  c.jti = "jti_1";
  c.iat = kNow;
  c.nbf = kNow;
  c.exp = kNow + 900;
  c.ver = 3;
  return c;
}

/// The payload Sign would produce for GoodClaims(), to be edited by the attack tests.
Json GoodPayload() {
  return Json{{"sub", "usr_alice"}, {"wid", "wks_1"},  {"role", "viewer"},  {"jti", "jti_1"},
              {"iat", kNow},        {"nbf", kNow},     {"exp", kNow + 900}, {"iss", kIssuer},
              {"aud", kAudience},   {"typ", "access"}, {"ver", 3}};
}

std::string Mac(const EVP_MD* md, std::string_view key, std::string_view data) {
  static const unsigned char kEmpty = 0;  // HMAC() wants a non-null key pointer even for an empty key
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  const void* k = key.empty() ? static_cast<const void*>(&kEmpty) : static_cast<const void*>(key.data());
  HMAC(md, k, static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       out.data(), &len);
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

/// A token built from raw segment text, correctly HS256-signed with `key` over exactly that text.
std::string SignRaw(std::string_view header_seg, std::string_view payload_seg, std::string_view key = kSecret) {
  std::string input = std::string(header_seg) + "." + std::string(payload_seg);
  return input + "." + Base64UrlEncode(Mac(EVP_sha256(), key, input));
}

/// A token from raw JSON text, correctly HS256-signed with `key`: for attacks that get past the signature.
std::string Forge(std::string_view header_json, std::string_view payload_json, std::string_view key = kSecret) {
  return SignRaw(Base64UrlEncode(header_json), Base64UrlEncode(payload_json), key);
}
std::string Forge(const Json& payload) { return Forge(R"({"alg":"HS256","typ":"JWT"})", payload.dump()); }

/// Verifies a token expected to be bad; returns the log reason ("" plus a test failure if accepted).
std::string RejectReason(std::string_view token, std::int64_t now = kNow) {
  try {
    Signer().Verify(token, now);
  } catch (const InvalidToken& e) {
    EXPECT_EQ(e.status(), 401);
    EXPECT_EQ(e.code(), "INVALID_TOKEN");
    EXPECT_FALSE(e.reason().empty());
    return e.reason();
  }
  ADD_FAILURE() << "token was accepted: " << token;
  return "";
}

std::vector<std::string> Split(const std::string& token) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t dot; (dot = token.find('.', start)) != std::string::npos; start = dot + 1) {
    parts.push_back(token.substr(start, dot - start));
  }
  parts.push_back(token.substr(start));
  return parts;
}

// --- positive ---------------------------------------------------------------------------------------------

TEST(Jwt, RoundTrip) {
  auto token = Signer().Sign(GoodClaims());
  auto parts = Split(token);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(Base64UrlDecode(parts[0]).value(), R"({"alg":"HS256","typ":"JWT"})");
  EXPECT_EQ(parts[2].size(), 43u);

  AccessClaims c = Signer().Verify(token, kNow);
  EXPECT_EQ(c.sub, "usr_alice");
  EXPECT_EQ(c.wid, "wks_1");
  EXPECT_EQ(c.role, "viewer");
  EXPECT_EQ(c.jti, "jti_1");
  EXPECT_EQ(c.iat, kNow);
  EXPECT_EQ(c.nbf, kNow);
  EXPECT_EQ(c.exp, kNow + 900);
  EXPECT_EQ(c.iss, kIssuer);
  EXPECT_EQ(c.aud, kAudience);
  EXPECT_EQ(c.typ, "access");
  EXPECT_EQ(c.ver, 3);
}

TEST(Jwt, SignStampsOwnIssuerAndAudience) {
  AccessClaims claims = GoodClaims();
  claims.iss = "someone-else";
  claims.aud = "other-api";
  auto payload = Json::parse(Base64UrlDecode(Split(Signer().Sign(claims))[1]).value());
  EXPECT_EQ(payload["iss"], kIssuer);
  EXPECT_EQ(payload["aud"], kAudience);
}

TEST(Jwt, ForgedHelperMatchesSign) {
  // Guards the attack tests below: a correctly forged good payload verifies.
  EXPECT_EQ(Signer().Verify(Forge(GoodPayload()), kNow).sub, "usr_alice");
  EXPECT_EQ(Signer().Verify(Forge(R"({"alg":"HS256"})", GoodPayload().dump()), kNow).sub, "usr_alice");
}

TEST(Jwt, AudienceArrayContainingOursAccepted) {
  Json p = GoodPayload();
  p["aud"] = Json::array({"other-api", kAudience});
  EXPECT_EQ(Signer().Verify(Forge(p), kNow).aud, kAudience);
}

TEST(Jwt, AudienceArrayWithoutOursOrMalformedRejected) {
  for (const Json& aud : {Json::array({"other-api"}), Json::array(), Json::array({kAudience, 7}), Json(nullptr),
                          Json(Json::object({{"aud", kAudience}}))}) {
    Json p = GoodPayload();
    p["aud"] = aud;
    EXPECT_EQ(RejectReason(Forge(p)), "wrong audience") << aud.dump();
  }
}

TEST(Jwt, LeewayHonored) {
  auto signer = Signer();
  AccessClaims c = GoodClaims();
  c.exp = kNow - kJwtLeewaySeconds + 1;  // expired 29 s ago: still within the leeway
  c.iat = c.nbf = kNow - 600;
  EXPECT_NO_THROW(signer.Verify(signer.Sign(c), kNow));
  c.exp = kNow - kJwtLeewaySeconds;  // 30 s ago: out
  EXPECT_EQ(RejectReason(signer.Sign(c)), "expired");

  c = GoodClaims();
  c.nbf = c.iat = kNow + kJwtLeewaySeconds;  // valid from 30 s ahead: the clocks may disagree that much
  EXPECT_NO_THROW(signer.Verify(signer.Sign(c), kNow));
  c.nbf = kNow + kJwtLeewaySeconds + 1;
  EXPECT_EQ(RejectReason(signer.Sign(c)), "not yet valid (nbf)");
}

TEST(Jwt, UnknownPayloadClaimsIgnored) {
  Json p = GoodPayload();
  p["scope"] = "read";
  p["extra"] = Json::array({1, 2, 3});
  EXPECT_EQ(Signer().Verify(Forge(p), kNow).role, "viewer");
}

TEST(Jwt, ConstructorRequires32ByteSecret) {
  EXPECT_THROW(JwtSigner("", "i", "a"), std::invalid_argument);
  EXPECT_THROW(JwtSigner(std::string(31, 'k'), "i", "a"), std::invalid_argument);
  EXPECT_NO_THROW(JwtSigner(std::string(32, 'k'), "i", "a"));
}

TEST(Jwt, SignRefusesIncompleteClaims) {
  for (auto edit : {+[](AccessClaims& c) { c.sub.clear(); }, +[](AccessClaims& c) { c.wid.clear(); },
                    +[](AccessClaims& c) { c.role.clear(); }, +[](AccessClaims& c) { c.jti.clear(); },
                    +[](AccessClaims& c) { c.typ = "refresh"; }, +[](AccessClaims& c) { c.sub = "\xff\xfe"; }}) {
    AccessClaims c = GoodClaims();
    edit(c);
    EXPECT_THROW(Signer().Sign(c), std::invalid_argument);
  }
}

// --- every failure looks the same to the client ---------------------------------------------------------------

TEST(Jwt, FailuresShareOneClientMessage) {
  AccessClaims expired = GoodClaims();
  expired.exp = kNow - 3600;
  std::vector<std::string> tokens = {"garbage", Signer().Sign(expired), Signer().Sign(GoodClaims()) + "x"};
  for (const auto& t : tokens) {
    try {
      Signer().Verify(t, kNow);
      ADD_FAILURE() << "accepted " << t;
    } catch (const Unauthorized& e) {  // callers may catch the base class
      EXPECT_EQ(e.code(), "INVALID_TOKEN");
      EXPECT_EQ(e.status(), 401);
      EXPECT_STREQ(e.what(), "The access token is invalid or has expired.");
      EXPECT_EQ(e.detail(), "The access token is invalid or has expired.");
    }
  }
}

// --- algorithm attacks -------------------------------------------------------------------------------------------

TEST(Jwt, AlgNoneRejectedInEverySpelling) {
  std::string payload = Base64UrlEncode(GoodPayload().dump());
  for (std::string alg : {"none", "None", "NONE", "nOnE"}) {
    for (const std::string& header : {R"({"alg":")" + alg + R"(","typ":"JWT"})", R"({"alg":")" + alg + R"("})"}) {
      std::string input = Base64UrlEncode(header) + "." + payload;
      std::string valid_hs256 = Base64UrlEncode(Mac(EVP_sha256(), kSecret, input));
      EXPECT_EQ(RejectReason(input + "."), "signature mismatch") << header;
      EXPECT_EQ(RejectReason(input), "not three segments") << header;
      EXPECT_EQ(RejectReason(input + ".AAAA"), "signature mismatch") << header;
      EXPECT_EQ(RejectReason(input + "." + std::string(43, 'A')), "signature mismatch") << header;
      // Even with a correct HS256 MAC over it, a header naming another algorithm is refused.
      std::string with_valid_mac = input;
      with_valid_mac.append(".").append(valid_hs256);
      EXPECT_EQ(RejectReason(with_valid_mac), "header alg is not HS256") << header;
    }
  }
}

TEST(Jwt, OtherAlgorithmsRejected) {
  std::string payload = Base64UrlEncode(GoodPayload().dump());
  for (std::string alg : {"HS512", "HS384", "RS256", "ES256", "PS256", "hs256", "HS256 ", ""}) {
    std::string header = Base64UrlEncode(R"({"alg":")" + alg + R"(","typ":"JWT"})");
    std::string input = header;
    input.append(".").append(payload);
    EXPECT_EQ(RejectReason(SignRaw(header, payload)), "header alg is not HS256") << alg;  // valid HS256 MAC
    EXPECT_EQ(RejectReason(input + "." + Base64UrlEncode(Mac(EVP_sha512(), kSecret, input))), "signature mismatch")
        << alg;
  }
  for (std::string header : {R"({"alg":["HS256"]})", R"({"alg":null})", R"({"typ":"JWT"})", R"({})"}) {
    EXPECT_THAT(RejectReason(Forge(header, GoodPayload().dump())), HasSubstr("header alg")) << header;
  }
}

TEST(Jwt, StrippedSignatureRejected) {
  auto parts = Split(Signer().Sign(GoodClaims()));
  EXPECT_EQ(RejectReason(parts[0] + "." + parts[1] + "."), "signature mismatch");
  EXPECT_EQ(RejectReason(parts[0] + "." + parts[1]), "not three segments");
}

TEST(Jwt, EverySingleCharSignatureChangeRejected) {
  auto token = Signer().Sign(GoodClaims());
  std::size_t sig_start = token.rfind('.') + 1;
  for (std::size_t i = sig_start; i < token.size(); ++i) {
    std::string altered = token;
    // The last char has two unused bits: 'A' vs 'B' encodes the same bytes, which strict
    // comparison with our canonical encoding must still refuse.
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(RejectReason(altered), "signature mismatch") << i;
  }
}

TEST(Jwt, WrongKeyRejected) {
  std::string header = R"({"alg":"HS256","typ":"JWT"})";
  EXPECT_EQ(RejectReason(Forge(header, GoodPayload().dump(), "")), "signature mismatch");
  EXPECT_EQ(RejectReason(Forge(header, GoodPayload().dump(), "another-secret-0123456789abcdef-01234")),
            "signature mismatch");
  JwtSigner other(std::string(kSecret) + "x", std::string(kIssuer), std::string(kAudience));
  EXPECT_EQ(RejectReason(other.Sign(GoodClaims())), "signature mismatch");
}

TEST(Jwt, ExtraHeaderFieldsRejected) {
  for (std::string field :
       {R"("kid":"k1")", R"("jku":"https://evil.test/jwks.json")", R"("jwk":{"kty":"oct","k":"AAAA"})",
        R"("x5u":"https://evil.test/c.pem")", R"("x5c":["MIIB"])", R"("crit":["exp"])", R"("cty":"JWT")",
        R"("b64":false)", R"("zip":"DEF")", R"("enc":"A128GCM")"}) {
    std::string header = R"({"alg":"HS256","typ":"JWT",)" + field + "}";
    EXPECT_EQ(RejectReason(Forge(header, GoodPayload().dump())), "header has a field other than alg and typ") << field;
  }
}

TEST(Jwt, HeaderTypMustBeJwt) {
  for (std::string typ : {R"("jwt")", R"("at+jwt")", R"("")", R"(null)", R"(1)"}) {
    EXPECT_EQ(RejectReason(Forge(R"({"alg":"HS256","typ":)" + typ + "}", GoodPayload().dump())),
              "header typ is not JWT")
        << typ;
  }
}

TEST(Jwt, DuplicateHeaderKeyRejected) {
  EXPECT_EQ(RejectReason(Forge(R"({"alg":"none","alg":"HS256"})", GoodPayload().dump())), "header has a duplicate key");
}

// --- payload tampering and claims ------------------------------------------------------------------------------

TEST(Jwt, EditedPayloadWithOriginalSignatureRejected) {
  auto parts = Split(Signer().Sign(GoodClaims()));
  for (auto [key, value] :
       {std::pair<std::string, std::string>{"role", "owner"}, {"wid", "wks_2"}, {"sub", "usr_bob"}}) {
    Json p = Json::parse(Base64UrlDecode(parts[1]).value());
    p[key] = value;
    EXPECT_EQ(RejectReason(parts[0] + "." + Base64UrlEncode(p.dump()) + "." + parts[2]), "signature mismatch") << key;
  }
  // Extending the expiry is tampering too.
  Json p = Json::parse(Base64UrlDecode(parts[1]).value());
  p["exp"] = kNow + std::int64_t{365} * 86400;
  EXPECT_EQ(RejectReason(parts[0] + "." + Base64UrlEncode(p.dump()) + "." + parts[2]), "signature mismatch");
}

TEST(Jwt, ExpiredRejected) {
  AccessClaims c = GoodClaims();
  c.iat = c.nbf = kNow - 7200;
  c.exp = kNow - 3600;
  EXPECT_EQ(RejectReason(Signer().Sign(c)), "expired");
  // And the good token, an hour later.
  EXPECT_EQ(RejectReason(Signer().Sign(GoodClaims()), kNow + 3600), "expired");
}

TEST(Jwt, NotYetValidRejected) {
  AccessClaims c = GoodClaims();
  c.nbf = kNow + 3600;
  c.exp = kNow + 7200;
  EXPECT_EQ(RejectReason(Signer().Sign(c)), "not yet valid (nbf)");
  c = GoodClaims();
  c.iat = kNow + 3600;
  EXPECT_EQ(RejectReason(Signer().Sign(c)), "issued in the future (iat)");
}

TEST(Jwt, RequiredTimeClaims) {
  for (std::string key : {"exp", "nbf", "iat"}) {
    Json p = GoodPayload();
    p.erase(key);
    EXPECT_EQ(RejectReason(Forge(p)), "claim " + key + " missing or not an integer");
    for (const Json& bad : {Json(std::to_string(kNow + 900)), Json(1.7e9 + 0.5), Json(nullptr), Json(true),
                            Json(18446744073709551615ull)}) {
      p[key] = bad;
      EXPECT_EQ(RejectReason(Forge(p)), "claim " + key + " missing or not an integer") << bad.dump();
    }
  }
}

TEST(Jwt, TypMustBeAccess) {
  Json p = GoodPayload();
  p["typ"] = "refresh";
  EXPECT_EQ(RejectReason(Forge(p)), "typ is not access");
  p["typ"] = "Access";
  EXPECT_EQ(RejectReason(Forge(p)), "typ is not access");
  p.erase("typ");
  EXPECT_EQ(RejectReason(Forge(p)), "claim typ missing or not a non-empty string");
}

TEST(Jwt, WrongIssuerRejected) {
  Json p = GoodPayload();
  p["iss"] = "https://evil.test";
  EXPECT_EQ(RejectReason(Forge(p)), "wrong issuer");
  p.erase("iss");
  EXPECT_EQ(RejectReason(Forge(p)), "claim iss missing or not a non-empty string");
  // A signer for another issuer with the same key (e.g. a staging deployment) is not us.
  JwtSigner staging(std::string(kSecret), "https://staging.test", std::string(kAudience));
  EXPECT_EQ(RejectReason(staging.Sign(GoodClaims())), "wrong issuer");
}

TEST(Jwt, WrongAudienceRejected) {
  Json p = GoodPayload();
  p["aud"] = "other-api";
  EXPECT_EQ(RejectReason(Forge(p)), "wrong audience");
  p.erase("aud");
  EXPECT_EQ(RejectReason(Forge(p)), "wrong audience");
  JwtSigner other(std::string(kSecret), std::string(kIssuer), "admin-api");
  EXPECT_EQ(RejectReason(other.Sign(GoodClaims())), "wrong audience");
}

TEST(Jwt, IdentityClaimsMustBeNonEmptyStrings) {
  for (std::string key : {"sub", "wid", "role", "jti"}) {
    for (const Json& bad : {Json(""), Json(42), Json(nullptr), Json::array({"x"})}) {
      Json p = GoodPayload();
      p[key] = bad;
      EXPECT_EQ(RejectReason(Forge(p)), "claim " + key + " missing or not a non-empty string") << bad.dump();
    }
    Json p = GoodPayload();
    p.erase(key);
    EXPECT_EQ(RejectReason(Forge(p)), "claim " + key + " missing or not a non-empty string");
  }
}

TEST(Jwt, VersionMustBeNonNegativeInteger) {
  Json p = GoodPayload();
  p.erase("ver");
  EXPECT_EQ(RejectReason(Forge(p)), "claim ver missing or not an integer");
  p["ver"] = "3";
  EXPECT_EQ(RejectReason(Forge(p)), "claim ver missing or not an integer");
  p["ver"] = 3.5;
  EXPECT_EQ(RejectReason(Forge(p)), "claim ver missing or not an integer");
  p["ver"] = -1;
  EXPECT_EQ(RejectReason(Forge(p)), "claim ver is negative");
}

TEST(Jwt, DuplicatePayloadKeyRejected) {
  // nlohmann would keep the last "role"; another parser might keep the first.
  std::string body = GoodPayload().dump();
  std::string dup = body.substr(0, body.size() - 1) + R"(,"role":"owner"})";
  EXPECT_EQ(RejectReason(Forge(R"({"alg":"HS256","typ":"JWT"})", dup)), "payload has a duplicate key");
  // The same key spelled with an escape is still the same key.
  std::string escaped = body.substr(0, body.size() - 1) + R"(,"r\u006fle":"owner"})";
  EXPECT_EQ(RejectReason(Forge(R"({"alg":"HS256","typ":"JWT"})", escaped)), "payload has a duplicate key");
  // Equal keys in different objects are fine.
  Json p = GoodPayload();
  p["meta"] = Json{{"role", "x"}};
  EXPECT_NO_THROW(Signer().Verify(Forge(p), kNow));
}

TEST(Jwt, NonObjectSegmentsRejected) {
  std::string good_header = R"({"alg":"HS256","typ":"JWT"})";
  for (std::string json : {"[]", R"(["alg","HS256"])", R"("HS256")", "null", "42", "true"}) {
    EXPECT_EQ(RejectReason(Forge(json, GoodPayload().dump())), "header is not a JSON object") << json;
    EXPECT_EQ(RejectReason(Forge(good_header, json)), "payload is not a JSON object") << json;
  }
  for (std::string json : {"", "{", R"({"alg":"HS256"} x)", R"({'alg':'HS256'})", "{\"sub\":\"\xff\"}"}) {
    EXPECT_EQ(RejectReason(Forge(json, GoodPayload().dump())), "header is not valid JSON") << json;
    EXPECT_EQ(RejectReason(Forge(good_header, json)), "payload is not valid JSON") << json;
  }
}

TEST(Jwt, DeeplyNestedPayloadRejected) {
  std::string body = GoodPayload().dump();
  std::string nested =
      body.substr(0, body.size() - 1) + R"(,"x":)" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_EQ(RejectReason(Forge(R"({"alg":"HS256","typ":"JWT"})", nested)), "payload is nested too deeply");
}

// --- encoding and framing --------------------------------------------------------------------------------------

TEST(Jwt, PaddingAndNonBase64UrlCharsRejected) {
  auto token = Signer().Sign(GoodClaims());
  auto parts = Split(token);
  // Tampering with the signed bytes breaks the signature...
  EXPECT_EQ(RejectReason(parts[0] + "=." + parts[1] + "." + parts[2]), "signature mismatch");
  EXPECT_EQ(RejectReason(parts[0] + "." + parts[1] + "." + parts[2] + "="), "signature mismatch");
  std::string std_alphabet = parts[2];
  for (char& ch : std_alphabet) ch = ch == '-' ? '+' : ch == '_' ? '/' : ch;
  std_alphabet[0] = '+';
  EXPECT_EQ(RejectReason(parts[0] + "." + parts[1] + "." + std_alphabet), "signature mismatch");

  // ...and segments signed as they are still have to be strict base64url.
  std::string header = Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})");  // 36 chars: no padding needed
  std::string payload = Base64UrlEncode(GoodPayload().dump());
  std::string padded_header = Base64UrlEncode(R"({"alg":"HS256"} )");  // 16 bytes: 22 chars, "==" in base64
  EXPECT_EQ(RejectReason(SignRaw(padded_header + "==", payload)), "header is not base64url");
  EXPECT_EQ(RejectReason(SignRaw(header, payload + "=")), "payload is not base64url");
  EXPECT_EQ(RejectReason(SignRaw(header, payload + "==")), "payload is not base64url");
  EXPECT_EQ(RejectReason(SignRaw(header, "+" + payload.substr(1))), "payload is not base64url");
  EXPECT_EQ(RejectReason(SignRaw(header, "/" + payload.substr(1))), "payload is not base64url");
  EXPECT_EQ(RejectReason(SignRaw(header, payload.substr(0, 4) + " " + payload.substr(4))), "payload is not base64url");
  EXPECT_EQ(RejectReason(SignRaw("", payload)), "header is not valid JSON");
  EXPECT_EQ(RejectReason(SignRaw(header, "")), "payload is not valid JSON");
}

TEST(Jwt, NonCanonicalBase64Rejected) {
  // 16 bytes of header -> 22 chars whose last char carries 4 unused bits; setting one still
  // decodes to the same bytes in a lenient decoder.
  std::string header = Base64UrlEncode(R"({"alg":"HS256"} )");
  ASSERT_EQ(header.size(), 22u);
  ASSERT_EQ(header.back(), 'A');
  header.back() = 'B';
  EXPECT_EQ(RejectReason(SignRaw(header, Base64UrlEncode(GoodPayload().dump()))), "header is not base64url");
}

TEST(Jwt, OversizedTokenRejected) {
  // Grow a padding claim until the token no longer fits: the last one that fits is accepted
  // (4095 or 4096 bytes, as base64 grows in steps of 1-2 chars), the next is refused.
  Json p = GoodPayload();
  std::string fits, big;
  for (std::size_t pad = 2800; big.empty(); ++pad) {
    p["pad"] = std::string(pad, 'x');
    std::string t = Forge(p);
    (t.size() <= kMaxJwtBytes ? fits : big) = t;
  }
  ASSERT_GE(fits.size(), kMaxJwtBytes - 1);
  EXPECT_NO_THROW(Signer().Verify(fits, kNow));
  EXPECT_EQ(RejectReason(big), "token too long");
  EXPECT_EQ(RejectReason(std::string(1 << 20, 'A')), "token too long");
}

TEST(Jwt, WhitespaceAroundTokenRejected) {
  auto token = Signer().Sign(GoodClaims());
  for (const std::string& t :
       {" " + token, token + " ", token + "\n", "\t" + token, token + "\r\n", "Bearer " + token}) {
    EXPECT_THAT(RejectReason(t), ::testing::AnyOf("signature mismatch", "header is not base64url"));
  }
}

TEST(Jwt, WrongSegmentCountRejected) {
  auto token = Signer().Sign(GoodClaims());
  EXPECT_EQ(RejectReason(""), "not three segments");
  EXPECT_EQ(RejectReason("."), "not three segments");
  EXPECT_EQ(RejectReason(".."), "signature mismatch");
  EXPECT_EQ(RejectReason(token + "."), "not three segments");
  EXPECT_EQ(RejectReason(token + ".AAAA"), "not three segments");
  EXPECT_EQ(RejectReason("a.b.c.d.e"), "not three segments");
}

// --- interop with PyJWT (/usr/bin/python3, Debian's python3-jwt) ------------------------------------------------

/// Runs /usr/bin/python3 -c script with the given environment; returns stdout, sets *status.
std::string RunPython(const std::string& script, const std::vector<std::pair<std::string, std::string>>& env,
                      int* status) {
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  // The script is passed in single quotes and uses only double quotes; inputs travel in the
  // environment, so nothing needs shell escaping.
  std::string command = "/usr/bin/python3 -c '" + script + "' 2>&1";
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    *status = -1;
    return out;
  }
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), static_cast<int>(buf.size()), pipe) != nullptr) out += buf.data();
  *status = pclose(pipe);
  for (const auto& [k, v] : env) unsetenv(k.c_str());
  return out;
}

/// Skips (or, with STUDIO_REQUIRE_PYJWT=1, fails) when PyJWT is unavailable.
bool HavePyJwt() {
  int status = 0;
  RunPython("import jwt", {}, &status);
  return status == 0;
}

#define REQUIRE_PYJWT()                                                            \
  do {                                                                             \
    if (!HavePyJwt()) {                                                            \
      const char* require = std::getenv("STUDIO_REQUIRE_PYJWT");                   \
      if (require != nullptr && std::string(require) == "1") {                     \
        FAIL() << "STUDIO_REQUIRE_PYJWT=1 but /usr/bin/python3 cannot import jwt"; \
      }                                                                            \
      GTEST_SKIP() << "/usr/bin/python3 cannot import jwt (install python3-jwt)";  \
    }                                                                              \
  } while (0)

std::vector<std::pair<std::string, std::string>> PyEnv(const std::string& token = "") {
  return {{"JWT_TOKEN", token},
          {"JWT_SECRET", std::string(kSecret)},
          {"JWT_ISS", std::string(kIssuer)},
          {"JWT_AUD", std::string(kAudience)}};
}

TEST(JwtInterop, PyJwtDecodesOurToken) {
  REQUIRE_PYJWT();
  AccessClaims c = GoodClaims();
  std::int64_t now = std::time(nullptr);
  c.iat = c.nbf = now;
  c.exp = now + 300;
  int status = 0;
  std::string out = RunPython(
      "import jwt, os\n"
      "e = os.environ\n"
      "c = jwt.decode(e[\"JWT_TOKEN\"], e[\"JWT_SECRET\"], algorithms=[\"HS256\"], audience=e[\"JWT_AUD\"],\n"
      "               issuer=e[\"JWT_ISS\"], options={\"require\": [\"exp\", \"nbf\", \"iat\", \"iss\", \"aud\"]})\n"
      "print(c[\"sub\"], c[\"wid\"], c[\"role\"], c[\"typ\"], c[\"ver\"])\n",
      PyEnv(Signer().Sign(c)), &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(out, "usr_alice wks_1 viewer access 3\n");
}

TEST(JwtInterop, WeVerifyPyJwtHs256Token) {
  REQUIRE_PYJWT();
  int status = 0;
  std::string out = RunPython(
      "import jwt, os, time\n"
      "e = os.environ\n"
      "now = int(time.time())\n"
      "claims = {\"sub\": \"usr_py\", \"wid\": \"wks_py\", \"role\": \"editor\", \"jti\": \"jti_py\", \"iat\": now,\n"
      "          \"nbf\": now, \"exp\": now + 300, \"iss\": e[\"JWT_ISS\"], \"aud\": [e[\"JWT_AUD\"], \"x\"],\n"
      "          \"typ\": \"access\", \"ver\": 7}\n"
      "print(jwt.encode(claims, e[\"JWT_SECRET\"], algorithm=\"HS256\"))\n",
      PyEnv(), &status);
  ASSERT_EQ(status, 0) << out;
  ASSERT_FALSE(out.empty());
  ASSERT_EQ(out.back(), '\n');
  out.pop_back();
  AccessClaims c = Signer().Verify(out, std::time(nullptr));
  EXPECT_EQ(c.sub, "usr_py");
  EXPECT_EQ(c.wid, "wks_py");
  EXPECT_EQ(c.role, "editor");
  EXPECT_EQ(c.jti, "jti_py");
  EXPECT_EQ(c.ver, 7);
  EXPECT_EQ(c.aud, kAudience);
}

TEST(JwtInterop, WeRejectPyJwtHs512AndNoneTokens) {
  REQUIRE_PYJWT();
  int status = 0;
  std::string out = RunPython(
      "import jwt, os, time\n"
      "e = os.environ\n"
      "now = int(time.time())\n"
      "claims = {\"sub\": \"usr_py\", \"wid\": \"wks_py\", \"role\": \"owner\", \"jti\": \"jti_py\", \"iat\": now,\n"
      "          \"nbf\": now, \"exp\": now + 300, \"iss\": e[\"JWT_ISS\"], \"aud\": e[\"JWT_AUD\"],\n"
      "          \"typ\": \"access\", \"ver\": 7}\n"
      "print(jwt.encode(claims, e[\"JWT_SECRET\"], algorithm=\"HS512\"))\n"
      "print(jwt.encode(claims, e[\"JWT_SECRET\"], algorithm=\"HS384\"))\n"
      "print(jwt.encode(claims, None, algorithm=\"none\"))\n"
      "print(jwt.encode(claims, e[\"JWT_SECRET\"], algorithm=\"HS256\", headers={\"kid\": \"k1\"}))\n",
      PyEnv(), &status);
  ASSERT_EQ(status, 0) << out;
  std::vector<std::string> tokens;
  for (std::size_t start = 0, nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    tokens.push_back(out.substr(start, nl - start));
  }
  ASSERT_EQ(tokens.size(), 4u) << out;
  std::int64_t now = std::time(nullptr);
  EXPECT_EQ(RejectReason(tokens[0], now), "signature mismatch");  // HS512
  EXPECT_EQ(RejectReason(tokens[1], now), "signature mismatch");  // HS384
  EXPECT_EQ(RejectReason(tokens[2], now), "signature mismatch");  // alg none, empty signature
  EXPECT_EQ(tokens[2].back(), '.');
  EXPECT_EQ(RejectReason(tokens[3], now), "header has a field other than alg and typ");  // kid
}

}  // namespace
}  // namespace studio::auth
