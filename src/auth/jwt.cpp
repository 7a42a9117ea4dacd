#include "auth/jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include "auth/secrets.hpp"
#include "core/json.hpp"

namespace studio::auth {
namespace {

// The only header we ever write. Its encoding is fixed, so Sign does not re-serialise it.
constexpr std::string_view kHeaderJson = R"({"alg":"HS256","typ":"JWT"})";
constexpr std::size_t kMinSecretBytes = 32;  // RFC 7518 §3.2: key at least as long as the hash output
constexpr int kMaxClaimDepth = 8;            // claims are flat; nesting is only a cost to an attacker

[[noreturn]] void Reject(std::string reason) { throw InvalidToken(std::move(reason)); }

std::string HmacSha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), mac.data(), &len) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 unavailable");
  }
  return std::string(reinterpret_cast<const char*>(mac.data()), len);
}

struct DuplicateKey {};
struct TooDeep {};

/// Decodes one segment and parses it as a JSON object. nlohmann keeps the last of two equal keys,
/// so {"role":"viewer","role":"owner"} would read differently here and in another parser; the
/// callback sees every key (after unescaping) and refuses repeats.
Json ParseSegment(std::string_view segment, const char* what) {
  auto text = Base64UrlDecode(segment);
  if (!text) Reject(std::string(what) + " is not base64url");
  std::vector<std::set<std::string>> open_objects;  // keys seen so far in each object being parsed
  auto check = [&open_objects](int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        if (depth >= kMaxClaimDepth) throw TooDeep{};
        open_objects.emplace_back();
        break;
      case Json::parse_event_t::array_start:
        if (depth >= kMaxClaimDepth) throw TooDeep{};
        break;
      case Json::parse_event_t::key:
        if (!open_objects.back().insert(parsed.get<std::string>()).second) throw DuplicateKey{};
        break;
      case Json::parse_event_t::object_end: open_objects.pop_back(); break;
      default: break;
    }
    return true;
  };
  Json json;
  try {
    json = Json::parse(text->begin(), text->end(), check);
  } catch (const DuplicateKey&) {
    Reject(std::string(what) + " has a duplicate key");
  } catch (const TooDeep&) {
    Reject(std::string(what) + " is nested too deeply");
  } catch (const Json::exception&) {
    Reject(std::string(what) + " is not valid JSON");
  }
  if (!json.is_object()) Reject(std::string(what) + " is not a JSON object");
  return json;
}

const Json* Find(const Json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

/// A required non-empty string claim.
std::string RequireString(const Json& payload, const char* key) {
  const Json* v = Find(payload, key);
  if (v == nullptr || !v->is_string() || v->get_ref<const std::string&>().empty()) {
    Reject(std::string("claim ") + key + " missing or not a non-empty string");
  }
  return v->get<std::string>();
}

/// A required integer claim that fits int64. Fractions (1.5) and numbers as strings are refused.
std::int64_t RequireInt(const Json& payload, const char* key) {
  const Json* v = Find(payload, key);
  bool ok = v != nullptr && v->is_number_integer() &&
            !(v->is_number_unsigned() &&
              v->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
  if (!ok) Reject(std::string("claim ") + key + " missing or not an integer");
  return v->get<std::int64_t>();
}

// now ± leeway without signed overflow, whatever now the caller passes.
std::int64_t MinusLeeway(std::int64_t now) {
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  return now < kMin + kJwtLeewaySeconds ? kMin : now - kJwtLeewaySeconds;
}
std::int64_t PlusLeeway(std::int64_t now) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  return now > kMax - kJwtLeewaySeconds ? kMax : now + kJwtLeewaySeconds;
}

}  // namespace

InvalidToken::InvalidToken(std::string reason)
    : Unauthorized("The access token is invalid or has expired.", "INVALID_TOKEN"), reason_(std::move(reason)) {}

JwtSigner::JwtSigner(std::string secret, std::string issuer, std::string audience)
    : secret_(std::move(secret)), issuer_(std::move(issuer)), audience_(std::move(audience)) {
  if (secret_.size() < kMinSecretBytes) throw std::invalid_argument("JWT secret must be at least 32 bytes");
}

std::string JwtSigner::Sign(const AccessClaims& claims) const {
  if (claims.sub.empty() || claims.wid.empty() || claims.role.empty() || claims.jti.empty()) {
    throw std::invalid_argument("access token needs sub, wid, role and jti");
  }
  if (claims.typ != "access") throw std::invalid_argument("access token typ must be \"access\"");
  Json payload = {
      {"sub", claims.sub}, {"wid", claims.wid}, {"role", claims.role}, {"jti", claims.jti},
      {"iat", claims.iat}, {"nbf", claims.nbf}, {"exp", claims.exp},   {"iss", issuer_},
      {"aud", audience_},  {"typ", claims.typ}, {"ver", claims.ver},
  };
  std::string payload_json;
  try {
    payload_json = payload.dump();
  } catch (const Json::type_error&) {  // a string that is not UTF-8
    throw std::invalid_argument("access token claims must be valid UTF-8");
  }
  std::string signing_input = Base64UrlEncode(kHeaderJson) + "." + Base64UrlEncode(payload_json);
  return signing_input + "." + Base64UrlEncode(HmacSha256(secret_, signing_input));
}

AccessClaims JwtSigner::Verify(std::string_view token, std::int64_t now_unix) const {
  if (token.size() > kMaxJwtBytes) Reject("token too long");

  // Shape: header.payload.signature, no fourth segment. Characters are checked by the decoder and,
  // for the signature, by the comparison with our canonical encoding.
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    Reject("not three segments");
  }
  std::string_view signing_input = token.substr(0, dot2);
  std::string_view signature = token.substr(dot2 + 1);

  // The signature comes first, so JSON from unauthenticated tokens is never parsed. It is always
  // HS256 with our key, whatever the header says; the header's alg is then checked to be exactly that.
  // Comparing encoded text against our own canonical encoding also refuses padding and non-canonical
  // spellings of the right bytes. Lengths are public (always 43), so only the contents need constant time.
  std::string expected = Base64UrlEncode(HmacSha256(secret_, signing_input));
  if (signature.size() != expected.size() || CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
    Reject("signature mismatch");
  }

  Json header = ParseSegment(token.substr(0, dot1), "header");
  for (const auto& [key, value] : header.items()) {
    if (key == "alg") {
      if (!value.is_string() || value.get_ref<const std::string&>() != "HS256") Reject("header alg is not HS256");
    } else if (key == "typ") {
      if (!value.is_string() || value.get_ref<const std::string&>() != "JWT") Reject("header typ is not JWT");
    } else {
      // kid, jku, jwk, x5u, x5c, crit, cty, b64, …: each asks the verifier to do something we don't.
      Reject("header has a field other than alg and typ");
    }
  }
  if (Find(header, "alg") == nullptr) Reject("header alg is missing");

  Json payload = ParseSegment(signing_input.substr(dot1 + 1), "payload");
  AccessClaims claims;
  claims.typ = RequireString(payload, "typ");
  if (claims.typ != "access") Reject("typ is not access");

  claims.exp = RequireInt(payload, "exp");
  claims.nbf = RequireInt(payload, "nbf");
  claims.iat = RequireInt(payload, "iat");
  if (claims.exp <= MinusLeeway(now_unix)) Reject("expired");
  if (claims.nbf > PlusLeeway(now_unix)) Reject("not yet valid (nbf)");
  if (claims.iat > PlusLeeway(now_unix)) Reject("issued in the future (iat)");

  claims.iss = RequireString(payload, "iss");
  if (claims.iss != issuer_) Reject("wrong issuer");

  const Json* aud = Find(payload, "aud");
  bool aud_ok = false;
  if (aud != nullptr && aud->is_string()) {
    aud_ok = aud->get_ref<const std::string&>() == audience_;
  } else if (aud != nullptr && aud->is_array()) {
    // Every entry must be a string (a malformed list is refused, not skimmed); one must be ours.
    aud_ok = !aud->empty();
    bool ours = false;
    for (const Json& entry : *aud) {
      if (!entry.is_string()) {
        aud_ok = false;
      } else if (entry.get_ref<const std::string&>() == audience_) {
        ours = true;
      }
    }
    aud_ok = aud_ok && ours;
  }
  if (!aud_ok) Reject("wrong audience");
  claims.aud = audience_;

  claims.sub = RequireString(payload, "sub");
  claims.wid = RequireString(payload, "wid");
  claims.role = RequireString(payload, "role");
  claims.jti = RequireString(payload, "jti");
  claims.ver = RequireInt(payload, "ver");
  if (claims.ver < 0) Reject("claim ver is negative");
  return claims;
}

}  // namespace studio::auth
