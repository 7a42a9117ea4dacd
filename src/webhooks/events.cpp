#include "webhooks/events.hpp"

#include <cstdio>
#include <ctime>

#include "core/ids.hpp"
#include "store/webhooks_repo.hpp"
#include "webhooks/endpoint.hpp"

namespace studio::webhooks {
namespace {

// "2026-11-24T12:00:00.123Z", as the API writes times.
std::string IsoUtcMs(std::int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

Json DocumentEvent(std::string_view event_id, std::string_view type, const store::DocumentRecord& doc,
                   std::int64_t now_ms) {
  Json error = nullptr;
  if (doc.error_code || doc.error)
    error = Json{{"code", doc.error_code.value_or("")}, {"message", doc.error.value_or("")}};
  return Json{{"id", event_id},
              {"type", type},
              {"createdAt", IsoUtcMs(now_ms)},
              {"workspaceId", doc.workspace_id},
              {"document",
               {{"id", doc.id},
                {"title", doc.title},
                {"status", doc.status},
                {"version", doc.version},
                {"chunkCount", doc.chunk_count},
                {"error", std::move(error)}}}};
}

std::optional<std::string> EnqueueDocumentEvent(store::Tx& tx, queue::JobQueue& jobs, const store::DocumentRecord& doc,
                                                std::string_view type) {
  auto endpoint = store::webhooks::Find(tx, doc.workspace_id);
  if (!endpoint || !Subscribes(endpoint->events_json, type)) return std::nullopt;
  queue::NewJob job;
  job.workspace_id = doc.workspace_id;
  job.queue = std::string(kQueue);
  job.type = std::string(kDeliverJobType);
  // Invalid UTF-8 (a title from a broken file) is replaced, not thrown: a webhook must never be
  // the reason a document's status change rolls back.
  job.payload =
      DocumentEvent(NewId("evt_"), type, doc, jobs.NowMs()).dump(-1, ' ', false, Json::error_handler_t::replace);
  job.max_attempts = kMaxDeliveryAttempts;
  job.idempotency_key = std::string(type) + ":" + doc.id + ":v" + std::to_string(doc.version);
  return jobs.Enqueue(tx, job);
}

}  // namespace studio::webhooks
