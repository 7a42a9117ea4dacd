#pragma once
// /api/v1/workspaces/*: workspace CRUD, members (role change, removal) and invitations, plus
// the public /api/v1/invitations/accept. Field names are camelCase; responses never carry
// password or token hashes (an invitation's token appears once, in the creation response).

#include "api/v1/guard.hpp"
#include "http/router.hpp"

namespace studio::api::v1 {

void AddWorkspaceRoutes(http::Router& router, ApiContext& context);

}  // namespace studio::api::v1
