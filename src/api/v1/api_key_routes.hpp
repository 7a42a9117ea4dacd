#pragma once
// /api/v1/workspaces/{id}/api-keys: create (the full key is in that one response only), list
// (never the key or its hash), revoke. Owners and platform admins, signed in (the policy table
// refuses API keys here, so a key cannot mint or revoke keys).
//
// A key's role may not exceed its creator's: owner > member > agent = service, a platform admin
// above all. Only owners and admins reach these routes, so in practice an owner key can be made
// by an owner (or a platform admin) and nobody else; the check stays in case the policy widens.

#include "api/v1/guard.hpp"
#include "http/router.hpp"

namespace studio::api::v1 {

void AddApiKeyRoutes(http::Router& router, ApiContext& context);

}  // namespace studio::api::v1
