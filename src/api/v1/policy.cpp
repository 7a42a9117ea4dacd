#include "api/v1/policy.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace studio::api::v1 {
namespace {

constexpr bool kKeys = true;     // API keys accepted
constexpr bool kNoKeys = false;  // sessions only: account-level routes belong to a person

constexpr std::uint32_t kOwnerOrAdmin = kOwner | kAdmin;
constexpr std::uint32_t kStaff = kOwner | kMember | kAdmin;  // people who run the workspace
constexpr std::uint32_t kWorkspaceAny = kOwner | kMember | kAgent | kService | kAdmin;
constexpr std::uint32_t kWriters = kStaff | kService;  // who may change the knowledge base

// clang-format off
constexpr std::array kPolicies{
    // Operations: public (metrics may additionally demand the operator key).
    RoutePolicy{"GET",    "/health",                                    kEveryone,     kKeys,   0, ""},
    RoutePolicy{"GET",    "/api/v1/system/health",                      kEveryone,     kKeys,   0, ""},
    RoutePolicy{"GET",    "/status",                                    kEveryone,     kKeys,   0, ""},
    RoutePolicy{"GET",    "/api/v1/system/status",                      kEveryone,     kKeys,   0, ""},
    RoutePolicy{"GET",    "/status/ready",                              kEveryone,     kKeys,   0, ""},
    RoutePolicy{"GET",    "/status/live",                               kEveryone,     kKeys,   0, ""},
    RoutePolicy{"GET",    "/metrics",                                   kEveryone,     kKeys,   0, ""},
    RoutePolicy{"GET",    "/api/v1/observability/metrics",              kEveryone,     kKeys,   0, ""},
    RoutePolicy{"GET",    "/api/v1/openapi.json",                       kEveryone,     kKeys,   0, ""},

    // Sessions. Public ones authenticate by what they are sent (password, refresh token).
    RoutePolicy{"POST",   "/api/v1/auth/onboarding",                    kEveryone,     kNoKeys, 10, ""},
    RoutePolicy{"POST",   "/api/v1/auth/create-workspace",              kEveryone,     kNoKeys, 10, ""},
    RoutePolicy{"POST",   "/api/v1/auth/register",                      kEveryone,     kNoKeys, 10, ""},
    RoutePolicy{"POST",   "/api/v1/auth/login",                         kEveryone,     kNoKeys, 0, ""},  // own per-IP limit
    RoutePolicy{"POST",   "/api/v1/auth/token",                         kEveryone,     kNoKeys, 60, ""},
    RoutePolicy{"POST",   "/api/v1/auth/token/refresh",                 kEveryone,     kNoKeys, 60, ""},
    RoutePolicy{"POST",   "/api/v1/auth/logout",                        kEveryone,     kNoKeys, 0, ""},
    RoutePolicy{"POST",   "/api/v1/auth/token/revoke",                  kEveryone,     kNoKeys, 0, ""},
    RoutePolicy{"POST",   "/api/v1/auth/token/revoke-all",              kSignedIn,     kNoKeys, 0, ""},
    RoutePolicy{"GET",    "/api/v1/auth/me",                            kSignedIn,     kNoKeys, 0, ""},
    RoutePolicy{"POST",   "/api/v1/auth/password",                      kSignedIn,     kNoKeys, 10, ""},
    RoutePolicy{"POST",   "/api/v1/auth/switch-workspace",              kSignedIn,     kNoKeys, 0, ""},

    // Workspaces and people.
    RoutePolicy{"GET",    "/api/v1/workspaces",                         kSignedIn,     kNoKeys, 0, ""},
    RoutePolicy{"POST",   "/api/v1/workspaces",                         kSignedIn,     kNoKeys, 10, ""},
    RoutePolicy{"GET",    "/api/v1/workspaces/{id}",                    kWorkspaceAny, kKeys,   0, "workspace:read"},
    RoutePolicy{"PATCH",  "/api/v1/workspaces/{id}",                    kOwnerOrAdmin, kKeys,   0, "workspace:write"},
    RoutePolicy{"DELETE", "/api/v1/workspaces/{id}",                    kOwnerOrAdmin, kNoKeys, 0, ""},
    RoutePolicy{"GET",    "/api/v1/workspaces/{id}/members",            kStaff,        kKeys,   0, "members:read"},
    RoutePolicy{"PATCH",  "/api/v1/workspaces/{id}/members/{userId}",   kOwnerOrAdmin, kKeys,   0, "members:write"},
    RoutePolicy{"DELETE", "/api/v1/workspaces/{id}/members/{userId}",   kOwnerOrAdmin, kKeys,   0, "members:write"},
    RoutePolicy{"GET",    "/api/v1/workspaces/{id}/invitations",        kOwnerOrAdmin, kKeys,   0, "invitations:read"},
    RoutePolicy{"POST",   "/api/v1/workspaces/{id}/invitations",        kOwnerOrAdmin, kKeys,   20, "invitations:write"},
    RoutePolicy{"DELETE", "/api/v1/workspaces/{id}/invitations/{invitationId}", kOwnerOrAdmin, kKeys, 0, "invitations:write"},
    RoutePolicy{"POST",   "/api/v1/invitations/accept",                 kEveryone,     kNoKeys, 10, ""},  // the token is the credential
    RoutePolicy{"GET",    "/api/v1/workspaces/{id}/api-keys",           kOwnerOrAdmin, kNoKeys, 0, ""},
    RoutePolicy{"POST",   "/api/v1/workspaces/{id}/api-keys",           kOwnerOrAdmin, kNoKeys, 20, ""},
    RoutePolicy{"DELETE", "/api/v1/workspaces/{id}/api-keys/{keyId}",   kOwnerOrAdmin, kNoKeys, 0, ""},
    RoutePolicy{"GET",    "/api/v1/workspaces/{id}/audit-logs",         kOwnerOrAdmin, kKeys,   0, "audit:read"},
    RoutePolicy{"GET",    "/api/v1/workspaces/{id}/usage",              kStaff,        kKeys,   0, "usage:read"},
    RoutePolicy{"GET",    "/api/v1/workspaces/{id}/webhook",            kOwnerOrAdmin, kKeys,   0, "webhooks:read"},
    RoutePolicy{"PUT",    "/api/v1/workspaces/{id}/webhook",            kOwnerOrAdmin, kKeys,   20, "webhooks:write"},
    RoutePolicy{"DELETE", "/api/v1/workspaces/{id}/webhook",            kOwnerOrAdmin, kKeys,   0, "webhooks:write"},

    // Knowledge base. Service keys feed documents in (e.g. from a CI pipeline); every workspace
    // identity may read and search them.
    RoutePolicy{"POST",   "/api/v1/agents/customer-service/ingest",     kWriters,      kKeys,   60, "documents:write"},
    RoutePolicy{"POST",   "/api/v1/documents",                          kWriters,      kKeys,   600, "documents:write"},
    RoutePolicy{"GET",    "/api/v1/documents",                          kWorkspaceAny, kKeys,   0, "documents:read"},
    RoutePolicy{"GET",    "/api/v1/documents/{documentId}",             kWorkspaceAny, kKeys,   0, "documents:read"},
    RoutePolicy{"DELETE", "/api/v1/documents/{documentId}",             kWriters,      kKeys,   0, "documents:write"},
    RoutePolicy{"POST",   "/api/v1/documents/{documentId}/reindex",     kWriters,      kKeys,   60, "documents:write"},
    RoutePolicy{"GET",    "/api/v1/documents/{documentId}/chunks",      kWorkspaceAny, kKeys,   0, "documents:read"},
    RoutePolicy{"POST",   "/api/v1/search",                             kWorkspaceAny, kKeys,   0, "search:read"},
    RoutePolicy{"GET",    "/api/v1/jobs",                               kOwnerOrAdmin, kKeys,   0, "jobs:read"},
    RoutePolicy{"GET",    "/api/v1/jobs/{jobId}",                       kWorkspaceAny, kKeys,   0, "jobs:read"},
    RoutePolicy{"POST",   "/api/v1/jobs/{jobId}/retry",                 kOwnerOrAdmin, kKeys,   60, "jobs:write"},

    // The agent. Every workspace identity may talk to it and read its conversations; owners set
    // it up. The public widget route authenticates by its publishable key (pk_…) in the handler.
    RoutePolicy{"GET",    "/api/v1/agents/customer-service/config",     kOwnerOrAdmin, kKeys,   0, "agent:config"},
    RoutePolicy{"PUT",    "/api/v1/agents/customer-service/config",     kOwnerOrAdmin, kKeys,   30, "agent:config"},
    RoutePolicy{"POST",   "/api/v1/agents/customer-service/chat",       kWorkspaceAny, kKeys,   600, "agent:chat"},
    RoutePolicy{"POST",   "/api/v1/agents/customer-service/run",        kWorkspaceAny, kKeys,   600, "agent:chat"},
    RoutePolicy{"GET",    "/api/v1/conversations",                      kWorkspaceAny, kKeys,   0, "conversations:read"},
    RoutePolicy{"GET",    "/api/v1/conversations/{conversationId}",     kWorkspaceAny, kKeys,   0, "conversations:read"},
    RoutePolicy{"DELETE", "/api/v1/conversations/{conversationId}",     kStaff,        kKeys,   0, "conversations:write"},
    RoutePolicy{"GET",    "/api/v1/workspaces/{id}/widget-keys",        kOwnerOrAdmin, kKeys,   0, "widget:read"},
    RoutePolicy{"POST",   "/api/v1/workspaces/{id}/widget-keys",        kOwnerOrAdmin, kKeys,   20, "widget:write"},
    RoutePolicy{"DELETE", "/api/v1/workspaces/{id}/widget-keys/{keyId}", kOwnerOrAdmin, kKeys,  0, "widget:write"},
    RoutePolicy{"POST",   "/api/v1/public/chat",                        kEveryone,     kNoKeys, 30, ""},
    // OpenAI-compatible: the official SDKs send the API key as a Bearer token.
    RoutePolicy{"GET",    "/v1/models",                                 kWorkspaceAny, kKeys,   0, "agent:chat"},
    RoutePolicy{"POST",   "/v1/chat/completions",                       kWorkspaceAny, kKeys,   600, "agent:chat"},

    // Platform operations: platform admins (sessions) or the operator key, never workspace keys.
    RoutePolicy{"GET",    "/api/v1/admin/dlq",                          kAdmin,        kNoKeys, 0, ""},
    RoutePolicy{"DELETE", "/api/v1/admin/dlq",                          kAdmin,        kNoKeys, 0, ""},
    RoutePolicy{"GET",    "/api/v1/admin/dlq/stats",                    kAdmin,        kNoKeys, 0, ""},
    RoutePolicy{"POST",   "/api/v1/admin/dlq/retry-all",                kAdmin,        kNoKeys, 0, ""},
    RoutePolicy{"GET",    "/api/v1/admin/dlq/{jobId}",                  kAdmin,        kNoKeys, 0, ""},
    RoutePolicy{"POST",   "/api/v1/admin/dlq/{jobId}/retry",            kAdmin,        kNoKeys, 0, ""},
};
// clang-format on

}  // namespace

std::span<const RoutePolicy> Policies() { return kPolicies; }

const RoutePolicy* FindPolicy(std::string_view method, std::string_view pattern) {
  for (const auto& p : kPolicies) {
    if (p.method == method && p.pattern == pattern) return &p;
  }
  return nullptr;
}

bool ScopesAllow(const std::vector<std::string>& granted, std::string_view needed) {
  if (granted.empty() || needed.empty()) return true;
  const std::string_view resource = needed.substr(0, needed.find(':'));
  for (const auto& g : granted) {
    if (g == "*" || g == needed) return true;
    if (g.size() == resource.size() + 2 && g.starts_with(resource) && g.ends_with(":*")) return true;
  }
  return false;
}

bool IsKnownScope(std::string_view scope) {
  if (scope == "*") return true;
  const bool wildcard = scope.ends_with(":*");
  for (const auto& p : kPolicies) {
    if (p.scope.empty()) continue;
    if (p.scope == scope) return true;
    if (wildcard && p.scope.substr(0, p.scope.find(':') + 1) == scope.substr(0, scope.size() - 1)) return true;
  }
  return false;
}

std::vector<std::string> KnownScopes() {
  std::vector<std::string> out;
  for (const auto& p : kPolicies) {
    if (!p.scope.empty()) out.emplace_back(p.scope);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::uint32_t RoleBitOf(std::string_view role) {
  if (role == "owner") return kOwner;
  if (role == "member") return kMember;
  if (role == "agent") return kAgent;
  if (role == "service") return kService;
  if (role == "admin") return kAdmin;
  return 0;
}

std::string RoleNames(std::uint32_t mask) {
  static constexpr std::array<std::pair<std::uint32_t, std::string_view>, 6> kNames{{
      {kAnonymous, "anonymous"},
      {kAdmin, "admin"},
      {kOwner, "owner"},
      {kMember, "member"},
      {kAgent, "agent"},
      {kService, "service"},
  }};
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if ((mask & bit) == 0) continue;
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

void CheckEveryRouteHasPolicy(const http::Router& router) {
  // A key-callable private route without a scope could not be restricted; a scope on any other
  // route would be a promise nothing checks.
  for (const auto& p : kPolicies) {
    const bool needs_scope = p.api_keys && (p.roles & kAnonymous) == 0;
    if (needs_scope == p.scope.empty()) {
      throw std::logic_error("route " + std::string(p.method) + " " + std::string(p.pattern) +
                             (needs_scope ? " accepts API keys but names no scope" : " names a scope no key can use"));
    }
  }
  for (const auto& r : router.routes()) {
    if (r->pattern.rfind("/debug/", 0) == 0) continue;
    if (!FindPolicy(r->method, r->pattern)) {
      throw std::logic_error("route " + r->method + " " + r->pattern + " has no row in the access policy");
    }
  }
}

}  // namespace studio::api::v1
