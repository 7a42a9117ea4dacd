#pragma once
// The route × role matrix: who may call each route. One table (policy.cpp), consulted by the
// guard on every request and walked by the matrix test; a route without a row refuses to register.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/router.hpp"

namespace studio::api::v1 {

/// Who a caller is, as bits: a platform admin also holds the bit of their workspace role.
enum RoleBit : std::uint32_t {
  kAnonymous = 1U << 0,  // no credentials at all: a row with this bit is public
  kAdmin = 1U << 1,      // platform administrator
  kOwner = 1U << 2,
  kMember = 1U << 3,
  kAgent = 1U << 4,
  kService = 1U << 5,
};
inline constexpr std::uint32_t kEveryone = kAnonymous | kAdmin | kOwner | kMember | kAgent | kService;
inline constexpr std::uint32_t kSignedIn = kAdmin | kOwner | kMember | kAgent | kService;

struct RoutePolicy {
  std::string_view method;
  std::string_view pattern;
  std::uint32_t roles;       // RoleBit mask of who may call it
  bool api_keys;             // an API key may call it (sessions always may, role permitting)
  std::uint32_t per_minute;  // per-endpoint limit per workspace (per IP when anonymous); 0 = none
  // The scope an API key with a scope list needs ("members:write"); empty for routes keys cannot
  // call or that need no credentials. A key without scopes may call whatever its role allows.
  std::string_view scope;
};

/// Every row of the matrix.
std::span<const RoutePolicy> Policies();
/// The row for a route, or nullptr.
const RoutePolicy* FindPolicy(std::string_view method, std::string_view pattern);
/// The bit of a workspace role name ("owner" → kOwner); 0 for an unknown name.
std::uint32_t RoleBitOf(std::string_view role);
/// The names of the roles in a mask, for messages and the matrix listing: "owner, admin".
std::string RoleNames(std::uint32_t mask);
/// Whether an API key's scopes cover `needed`: an empty list (no restriction), the scope itself,
/// "resource:*" or "*". Every route needs nothing beyond its role when `needed` is empty.
bool ScopesAllow(const std::vector<std::string>& granted, std::string_view needed);
/// A scope a key may be given: one named in the table, "resource:*" for a resource named there,
/// or "*".
bool IsKnownScope(std::string_view scope);
/// Every scope named in the table, sorted, without duplicates (for messages and docs).
std::vector<std::string> KnownScopes();
/// Throws std::logic_error naming the first registered route without a row (test-only /debug
/// routes excepted): called at startup, so such a server never serves.
void CheckEveryRouteHasPolicy(const http::Router& router);

}  // namespace studio::api::v1
