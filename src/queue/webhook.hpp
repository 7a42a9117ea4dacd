#pragma once
// Signatures for job-completion webhooks (delivery is not built yet). The receiver gets the JSON
// body and a header
//   Studio-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
// The timestamp is signed with the body, so a captured request cannot be replayed after the
// receiver's tolerance window (the scheme Stripe uses, familiar to integrators).

#include <cstdint>
#include <string>
#include <string_view>

namespace studio::queue {

/// Lowercase hex HMAC-SHA256 of `data` under `key` (OpenSSL).
std::string HmacSha256Hex(std::string_view key, std::string_view data);

/// The Studio-Signature header value for `body` sent at `unix_seconds`.
std::string SignWebhook(std::string_view secret, std::int64_t unix_seconds, std::string_view body);

/// True when `header` is a well-formed signature of `body` under `secret` whose timestamp is
/// within `tolerance_seconds` of `now_unix_seconds`. Compares in constant time.
bool VerifyWebhookSignature(std::string_view secret, std::string_view header, std::string_view body,
                            std::int64_t now_unix_seconds, std::int64_t tolerance_seconds = 300);

}  // namespace studio::queue
