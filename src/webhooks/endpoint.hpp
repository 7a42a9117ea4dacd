#pragma once
// What a workspace's webhook endpoint may be: the event types it can subscribe to, the rules its
// URL must follow, and its signing secret. Shared by the API (validation on PUT) and delivery
// (which checks the stored URL again before every POST).

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace studio::webhooks {

/// Every event type an endpoint can subscribe to, in documentation order.
inline constexpr std::array<std::string_view, 2> kEventTypes{"document.ready", "document.failed"};
inline constexpr std::size_t kMaxUrlBytes = 2048;

bool IsKnownEventType(std::string_view type);
/// Whether `events_json` (a JSON array of types, as stored) contains `type`. False for anything
/// that is not such an array.
bool Subscribes(std::string_view events_json, std::string_view type);

/// Why `url` cannot be an endpoint ("must use http or https", …), or nullopt when it can: an
/// absolute http(s) URL of at most kMaxUrlBytes printable ASCII bytes with a host and without
/// credentials (user:pass@ would be sent to the receiver in clear and stored unencrypted here).
/// Parsed by libcurl, so what is accepted is exactly what delivery will connect to.
std::optional<std::string> UrlProblem(std::string_view url);

/// "scheme://host[:port]" of a valid URL: what logs and job errors may show. The path and query
/// often carry the receiver's own token (e.g. chat-service hooks), so they are never shown.
std::string UrlOrigin(std::string_view url);

/// A new signing secret: "whsec_" + 256 random bits, base64url.
std::string NewSecret();

}  // namespace studio::webhooks
