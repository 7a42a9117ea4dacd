#pragma once
// JWT access tokens: HS256 only, signed and verified with OpenSSL's HMAC.
//
// Why not libjwt (Debian 12 ships 1.10.2): it takes the algorithm from the token's own header unless
// every call site pins it, it has no switch to refuse unknown header fields (kid, jku, jwk, x5u, crit…),
// and its claim checks would still have to be written here. Pinning one algorithm, refusing every
// header field but alg/typ, checking the signature in constant time over the exact received bytes,
// rejecting duplicate JSON keys and checking our claims is about 200 lines over HMAC and
// nlohmann::json, all of it visible and tested in one place.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace studio::auth {

/// Clock skew tolerated between the issuing and the verifying server, for exp, nbf and iat.
inline constexpr std::int64_t kJwtLeewaySeconds = 30;
/// Longest token Verify will look at; longer ones are refused before any work is done.
inline constexpr std::size_t kMaxJwtBytes = 4096;

struct AccessClaims {
  std::string sub;   ///< user id
  std::string wid;   ///< workspace id
  std::string role;  ///< role in that workspace
  std::string jti;   ///< token id
  std::int64_t iat = 0, nbf = 0, exp = 0;
  std::string iss, aud;  ///< Sign() writes the signer's own; Verify() returns the verified ones
  std::string typ = "access";
  std::int64_t ver = 0;  ///< per-user token version for revocation
};

/// Thrown by JwtSigner::Verify for every bad token. The client sees one generic 401
/// (code INVALID_TOKEN) whatever went wrong, so the response is no oracle for forgers; reason()
/// says what it was, for logs only.
class InvalidToken : public Unauthorized {
 public:
  explicit InvalidToken(std::string reason);
  /// A fixed phrase (never token content), e.g. "signature mismatch", "expired".
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

class JwtSigner {
 public:
  /// secret must be >= 32 bytes (std::invalid_argument otherwise).
  JwtSigner(std::string secret, std::string issuer, std::string audience);

  /// Header {"alg":"HS256","typ":"JWT"}; payload carries the claims with iss/aud set to this signer's.
  /// Throws std::invalid_argument if sub, wid, role or jti is empty, typ is not "access", or a
  /// string is not valid UTF-8.
  std::string Sign(const AccessClaims& claims) const;

  /// Verifies and returns the claims, or throws InvalidToken (a studio::Unauthorized, code INVALID_TOKEN).
  /// Rules: at most kMaxJwtBytes; exactly three unpadded base64url segments; HMAC-SHA256 over the
  /// received "header.payload" bytes compared in constant time; header a JSON object with alg exactly
  /// "HS256", optional typ exactly "JWT", and no other field; payload a JSON object without duplicate
  /// keys; exp, nbf, iat integers with exp > now - leeway, nbf <= now + leeway, iat <= now + leeway;
  /// iss ours; aud ours or an array of strings containing ours; typ "access"; sub, wid, role, jti
  /// non-empty strings; ver a non-negative integer. Other payload claims are ignored.
  AccessClaims Verify(std::string_view token, std::int64_t now_unix) const;

 private:
  std::string secret_;
  std::string issuer_;
  std::string audience_;
};

}  // namespace studio::auth
