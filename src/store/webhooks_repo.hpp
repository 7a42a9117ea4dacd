#pragma once
// Outgoing webhook endpoints (migration 0006): at most one per workspace, so the workspace id is
// the key, and every call takes it first. The secret is stored in clear because deliveries sign
// with it (see the migration); only the API decides when it may be shown.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/db.hpp"

namespace studio::store {

struct WebhookRecord {
  std::string workspace_id;
  std::string url;
  std::string secret;              // "whsec_…": signs deliveries; shown once
  std::string events_json = "[]";  // JSON array of event types, e.g. ["document.ready"]
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

namespace webhooks {

/// The workspace's endpoint, or nullopt.
std::optional<WebhookRecord> Find(Tx& tx, std::string_view workspace_id);
/// Adds the workspace's endpoint unless it already has one: true when added, false (nothing
/// changed) when there was one. One statement, so of two concurrent first PUTs exactly one
/// creates the endpoint, and only its secret is ever valid.
bool Insert(Tx& tx, const WebhookRecord& webhook);
/// Changes the url and events, and the secret when one is given (rotation); created_at_ms is
/// kept. False when the workspace has no endpoint.
bool Update(Tx& tx, std::string_view workspace_id, std::string_view url, std::string_view events_json,
            const std::optional<std::string>& secret, std::int64_t now_ms);
/// False when the workspace had no endpoint.
bool Delete(Tx& tx, std::string_view workspace_id);

}  // namespace webhooks
}  // namespace studio::store
