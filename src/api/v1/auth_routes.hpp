#pragma once
// /api/v1/auth/*: onboarding (= create-workspace), login, token refresh (= token), logout
// (= token/revoke), me. Request and response field names follow the original system.

#include <string>
#include <vector>

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

/// The caller of a request from its `Authorization: Bearer …` header (401 otherwise).
identity::Principal RequireAuth(identity::AuthService& auth, const http::Request& req);

}  // namespace studio::api::v1
