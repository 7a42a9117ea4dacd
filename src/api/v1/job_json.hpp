#pragma once
// The JSON shape of a job, shared by GET /api/v1/jobs/{jobId}, the workspace's failed-job list,
// document details and the admin dead-letter routes.

#include "core/json.hpp"
#include "queue/queue.hpp"

namespace studio::api::v1 {

Json JobJson(const queue::Job& job);

}  // namespace studio::api::v1
