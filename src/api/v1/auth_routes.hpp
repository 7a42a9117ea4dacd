#pragma once
// /api/v1/auth/*: onboarding (= create-workspace), register, login, token refresh (= token),
// logout (= token/revoke), revoke-all, me, password, switch-workspace. Request and response field
// names follow the original system.

#include "api/v1/guard.hpp"
#include "http/router.hpp"

namespace studio::api::v1 {

void AddAuthRoutes(http::Router& router, ApiContext& context);

}  // namespace studio::api::v1
