#pragma once
// What a workspace owner reads about their workspace:
//   GET /api/v1/workspaces/{id}/audit-logs  security events, newest first, keyset-paginated
//                                            (?limit=1..200, default 50; ?cursor=<nextCursor>;
//                                            ?action=<name>); owners and admins, API keys allowed
//   GET /api/v1/workspaces/{id}/usage        counts computed from what the database holds for this
//                                            period (the current calendar month, UTC) — no
//                                            estimates and nothing the server does not record

#include "api/v1/guard.hpp"
#include "http/router.hpp"

namespace studio::api::v1 {

void AddAuditRoutes(http::Router& router, ApiContext& context);

}  // namespace studio::api::v1
