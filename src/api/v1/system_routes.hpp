#pragma once
// Health, status, readiness, liveness and metrics:
//   GET /health, /api/v1/system/health     liveness + dependency checks (503 when the DB is down)
//   GET /status, /api/v1/system/status     version, commit, uptime, checks with latency, memory
//   GET /status/ready                      200 when ready, 503 while starting or draining
//   GET /status/live                       200 while the process serves HTTP at all
//   GET /metrics, /api/v1/observability/metrics   Prometheus text format (operator key optional)

#include "api/system_context.hpp"
#include "http/router.hpp"

namespace studio::api::v1 {

void AddSystemRoutes(http::Router& router, SystemContext& context);

}  // namespace studio::api::v1
