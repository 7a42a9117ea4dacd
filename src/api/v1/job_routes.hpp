#pragma once
// Jobs: GET /api/v1/jobs/{jobId} (status and progress), a workspace owner's failed jobs and their
// retry, and the platform dead-letter queue under /api/v1/admin/dlq (platform admins or the
// operator key).

#include "api/v1/guard.hpp"
#include "http/router.hpp"

namespace studio::api::v1 {

void AddJobRoutes(http::Router& router, ApiContext& ctx);

}  // namespace studio::api::v1
