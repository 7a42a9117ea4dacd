#include "api/v1/job_routes.hpp"

#include <optional>
#include <string>

#include "api/v1/body.hpp"
#include "api/v1/iso_time.hpp"
#include "api/v1/job_json.hpp"
#include "api/v1/or_null.hpp"
#include "api/v1/paging.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "obs/log.hpp"
#include "queue/queue.hpp"

namespace studio::api::v1 {
namespace {

using http::Request;
using http::Response;

Json OptionalTime(const std::optional<std::int64_t>& ms) { return ms ? Json(IsoUtcMs(*ms)) : Json(nullptr); }

Json GroupsJson(const std::vector<queue::DeadGroup>& groups) {
  Json out = Json::array();
  for (const auto& g : groups) {
    out.push_back(Json{{"key", OrNull(g.key)}, {"count", g.count}, {"oldestAt", IsoUtcMs(g.oldest_finished_at_ms)}});
  }
  return out;
}

std::optional<std::string> QueueOf(const Request& req) {
  auto q = req.Query("queue");
  if (!q) return std::nullopt;
  if (q->empty() || q->size() > 64) BadQuery("queue", "'queue' must be a queue name such as 'ingest'.");
  return std::string(*q);
}

Response DeadPageResponse(ApiContext& ctx, const Request& req, const queue::Scope& scope) {
  queue::DeadQuery q;
  q.queue = QueueOf(req);
  q.limit = LimitOf(req, 50, 500);
  if (auto c = req.Query("cursor")) q.cursor = std::string(*c);
  auto page = ctx.db->ReadValue([&](store::Tx& tx) { return ctx.jobs->ListDead(tx, scope, q); });
  Json items = Json::array();
  for (const auto& j : page.jobs) items.push_back(JobJson(j));
  return Response::MakeJson(200, Json{{"items", std::move(items)}, {"nextCursor", OrNull(page.next_cursor)}});
}

// Retries one dead job of the scope: 404 when it does not exist there, 409 when it is not dead.
Response RetryOne(ApiContext& ctx, const queue::Scope& scope, std::string_view job_id) {
  auto job = ctx.db->WriteValue([&](store::Tx& tx) -> std::optional<queue::Job> {
    auto j = ctx.jobs->Get(tx, scope, job_id);
    if (!j) throw NotFound("The job does not exist.");
    if (!ctx.jobs->RetryDead(tx, scope, job_id)) {
      throw Conflict("Only a job in the dead-letter queue can be retried; this one is " +
                         std::string(queue::StatusName(j->status)) + ".",
                     "JOB_NOT_DEAD");
    }
    return ctx.jobs->Get(tx, scope, job_id);
  });
  if (ctx.jobs_enqueued) ctx.jobs_enqueued();
  return Response::MakeJson(200, JobJson(*job));
}

}  // namespace

Json JobJson(const queue::Job& j) {
  Json errors = Json::parse(j.errors_json, nullptr, false);
  if (errors.is_discarded()) errors = Json::array();
  Json result = j.result_json ? Json::parse(*j.result_json, nullptr, false) : Json(nullptr);
  if (result.is_discarded()) result = nullptr;
  Json payload = Json::parse(j.payload, nullptr, false);
  if (payload.is_discarded()) payload = nullptr;
  return Json{{"id", j.id},
              {"workspaceId", OrNull(j.workspace_id)},
              {"queue", j.queue},
              {"type", j.type},
              {"status", queue::StatusName(j.status)},
              {"priority", queue::PriorityName(j.priority)},
              {"progress", j.progress},
              {"stage", OrNull(j.stage)},
              {"attempts", j.attempts},
              {"maxAttempts", j.max_attempts},
              {"runAt", IsoUtcMs(j.run_at_ms)},
              {"lastError", OrNull(j.last_error)},
              {"errors", std::move(errors)},
              {"payload", std::move(payload)},
              {"result", std::move(result)},
              {"createdAt", IsoUtcMs(j.created_at_ms)},
              {"updatedAt", IsoUtcMs(j.updated_at_ms)},
              {"finishedAt", OptionalTime(j.finished_at_ms)}};
}

void AddJobRoutes(http::Router& router, ApiContext& ctx) {
  AddGuarded(router, ctx, "GET", "/api/v1/jobs/{jobId}", [&ctx](Request& req, const Caller& caller) {
    const auto scope = queue::Scope::Workspace(caller.Get().workspace_id);
    auto job = ctx.db->ReadValue([&](store::Tx& tx) { return ctx.jobs->Get(tx, scope, req.Param("jobId")); });
    if (!job) throw NotFound("The job does not exist.");
    return Response::MakeJson(200, JobJson(*job));
  });

  // A workspace's own dead jobs (e.g. documents that could not be ingested), for its owners.
  AddGuarded(router, ctx, "GET", "/api/v1/jobs", [&ctx](Request& req, const Caller& caller) {
    if (req.Query("status").value_or("dead") != "dead") {
      BadQuery("status", "'status' can only be 'dead': the jobs that exhausted their attempts.");
    }
    return DeadPageResponse(ctx, req, queue::Scope::Workspace(caller.Get().workspace_id));
  });

  AddGuarded(router, ctx, "POST", "/api/v1/jobs/{jobId}/retry", [&ctx](Request& req, const Caller& caller) {
    return RetryOne(ctx, queue::Scope::Workspace(caller.Get().workspace_id), req.Param("jobId"));
  });

  // The platform dead-letter queue: every workspace.
  AddGuarded(router, ctx, "GET", "/api/v1/admin/dlq",
             [&ctx](Request& req, const Caller&) { return DeadPageResponse(ctx, req, queue::Scope::Platform()); });

  AddGuarded(router, ctx, "GET", "/api/v1/admin/dlq/stats", [&ctx](Request&, const Caller&) {
    auto stats = ctx.db->ReadValue([&](store::Tx& tx) { return ctx.jobs->CountDead(tx, queue::Scope::Platform()); });
    return Response::MakeJson(200, Json{{"total", stats.total},
                                        {"oldestAt", OptionalTime(stats.oldest_finished_at_ms)},
                                        {"byQueue", GroupsJson(stats.by_queue)},
                                        {"byWorkspace", GroupsJson(stats.by_workspace)}});
  });

  AddGuarded(router, ctx, "GET", "/api/v1/admin/dlq/{jobId}", [&ctx](Request& req, const Caller&) {
    auto job = ctx.db->ReadValue(
        [&](store::Tx& tx) { return ctx.jobs->Get(tx, queue::Scope::Platform(), req.Param("jobId")); });
    if (!job || job->status != queue::JobStatus::kDead) throw NotFound("The dead-letter queue holds no such job.");
    return Response::MakeJson(200, JobJson(*job));
  });

  AddGuarded(router, ctx, "POST", "/api/v1/admin/dlq/{jobId}/retry", [&ctx](Request& req, const Caller&) {
    return RetryOne(ctx, queue::Scope::Platform(), req.Param("jobId"));
  });

  AddGuarded(router, ctx, "POST", "/api/v1/admin/dlq/retry-all", [&ctx](Request& req, const Caller& caller) {
    std::optional<std::string> queue_name = QueueOf(req);
    if (!req.body.empty()) {
      Json body = ObjectBody(req);
      RejectUnknownFields(body, {"queue"});
      if (auto q = OptionalString(body, "queue", 64)) queue_name = q;
    }
    const auto scope = queue::Scope::Platform();
    const std::int64_t n = ctx.jobs->RetryAllDead(*ctx.db, scope, queue_name);
    if (n > 0 && ctx.jobs_enqueued) ctx.jobs_enqueued();
    obs::LogInfo("dead-letter queue retried",
                 {{"count", n}, {"queue", queue_name.value_or("*")}, {"by", caller.Get().token_id}});
    return Response::MakeJson(200, Json{{"retried", n}});
  });

  AddGuarded(router, ctx, "DELETE", "/api/v1/admin/dlq", [&ctx](Request& req, const Caller& caller) {
    const std::optional<std::string> queue_name = QueueOf(req);
    const auto scope = queue::Scope::Platform();
    const std::int64_t n = ctx.jobs->PurgeDead(*ctx.db, scope, queue_name);
    obs::LogInfo("dead-letter queue purged",
                 {{"count", n}, {"queue", queue_name.value_or("*")}, {"by", caller.Get().token_id}});
    return Response::MakeJson(200, Json{{"purged", n}});
  });
}

}  // namespace studio::api::v1
