#pragma once
// /api/v1/auth/*: onboarding (= create-workspace), login, token refresh (= token), logout
// (= token/revoke), me. Request and response field names follow the original system.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "http/router.hpp"
#include "identity/auth_service.hpp"
#include "ratelimit/limiter.hpp"

namespace studio::api::v1 {

struct AuthRoutesContext {
  identity::AuthService* auth = nullptr;
  const ratelimit::ClientIpResolver* client_ip = nullptr;
  std::vector<std::string> allowed_origins;  // besides the server's own origin (CSRF check)
};

void AddAuthRoutes(http::Router& router, AuthRoutesContext& context);

/// Request-body helpers shared by the v1 routes: 400 for a missing, mistyped or too long field.
std::string RequiredString(const Json& body, const char* field, std::size_t max = 1024);
std::optional<std::string> OptionalString(const Json& body, const char* field, std::size_t max = 1024);
/// The body as a JSON object (400 otherwise).
Json ObjectBody(const http::Request& req);
/// 400 naming every field of `body` not in `allowed`: clients cannot set what they may not
/// (mass assignment), and a typo does not silently do nothing.
void RejectUnknownFields(const Json& body, std::initializer_list<std::string_view> allowed);
/// Client IP (through trusted proxies), user agent and request id, for the audit log.
identity::RequestMeta MetaOf(const ratelimit::ClientIpResolver* client_ip, const http::Request& req);

/// The caller of a request from its `Authorization: Bearer …` header (401 otherwise).
identity::Principal RequireAuth(identity::AuthService& auth, const http::Request& req);

}  // namespace studio::api::v1
