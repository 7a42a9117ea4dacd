#pragma once
// Opaque secrets: refresh tokens and API keys. The server stores only their SHA-256 (HashSecret),
// so a leaked database does not hand out working credentials.

#include <optional>
#include <string>
#include <string_view>

namespace studio::auth {

/// 256-bit random refresh token, base64url without padding (43 chars), from RAND_bytes.
/// Throws std::runtime_error if the CSPRNG fails.
std::string NewRefreshToken();

/// SHA-256 of a token/key as 64 lowercase hex chars: the value that is stored and looked up.
/// A fast, unsalted hash is right here (and wrong for passwords): these secrets carry 256 random
/// bits, so no guessing attack is feasible however fast the hash is; a slow KDF would only burn CPU
/// on every request, and a deterministic hash lets the store find a token by an indexed equality.
std::string HashSecret(std::string_view secret);

struct ApiKey {
  std::string full;    ///< shown to the user once, never stored
  std::string prefix;  ///< 8 chars [a-z0-9], stored in clear for lookup and display ("sk_abcd1234_…")
  std::string hash;    ///< HashSecret(full), stored
};

/// "sk_" + 8-char lowercase-alnum public prefix + "_" + 43-char base64url secret (55 chars in all).
ApiKey NewApiKey();

/// The 8-char prefix of "sk_<prefix>_<secret>"; std::nullopt when malformed (wrong shape, length,
/// charset, or a secret part that is not canonical unpadded base64url of 32 bytes).
std::optional<std::string> ApiKeyPrefix(std::string_view key);

/// Constant-time equality of two hex hashes (CRYPTO_memcmp). Different lengths, or an empty
/// operand, compare unequal: an empty stored hash must never match anything.
bool SecretHashEquals(std::string_view a, std::string_view b);

/// SHA-256 hex of the User-Agent header, stored with a refresh token to bind it to the client.
std::string UserAgentHash(std::string_view user_agent);

/// Unpadded base64url (RFC 4648 §5), as used by JWT segments and the tokens above.
std::string Base64UrlEncode(std::string_view bytes);

/// Strict unpadded base64url decoding: only [A-Za-z0-9_-], no '=', no whitespace, and canonical
/// (the unused low bits of the last char are zero), so each byte string has exactly one encoding.
/// std::nullopt otherwise.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace studio::auth
