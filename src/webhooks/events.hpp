#pragma once
// Document events as webhook deliveries. The ingestion pipeline calls EnqueueDocumentEvent inside
// the transaction that marks a document ready or failed, so a delivery job exists if and only if
// that status change committed. The job's payload is the exact JSON body the receiver gets: every
// attempt sends the same bytes and the same event id, only the signature's timestamp changes.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/json.hpp"
#include "queue/queue.hpp"
#include "store/db.hpp"
#include "store/documents_repo.hpp"

namespace studio::webhooks {

inline constexpr std::string_view kQueue = "webhooks";
inline constexpr std::string_view kDeliverJobType = "webhook.deliver";
/// Runs of one delivery before it goes to the dead-letter queue (with the queue's backoff: 2 s,
/// 4 s, 8 s … with jitter, about four minutes in all).
inline constexpr int kMaxDeliveryAttempts = 8;

/// The body of a document event:
///   {id: "evt_…", type, createdAt (ISO-8601 UTC, ms), workspaceId,
///    document: {id, title, status, version, chunkCount, error: {code, message} | null}}
Json DocumentEvent(std::string_view event_id, std::string_view type, const store::DocumentRecord& doc,
                   std::int64_t now_ms);

/// In the caller's transaction: enqueues the delivery of `type` for `doc` when the document's
/// workspace has an endpoint subscribed to it. Returns the job id, or nullopt when nobody listens.
/// One event per document, version and type: a re-run of the same ingestion (at-least-once jobs)
/// finds the job already there and adds none, so receivers never see two ids for one change.
std::optional<std::string> EnqueueDocumentEvent(store::Tx& tx, queue::JobQueue& jobs, const store::DocumentRecord& doc,
                                                std::string_view type);

}  // namespace studio::webhooks
