#include "store/webhooks_repo.hpp"

namespace studio::store {
namespace {

constexpr Query kFind{"webhooks.find",
                      "SELECT workspace_id, url, secret, events, created_at_ms, updated_at_ms FROM webhooks "
                      "WHERE workspace_id = $1"};
// DO NOTHING rather than an upsert: whether the row was created decides whether the caller may
// reveal the secret it generated.
constexpr Query kInsert{"webhooks.insert",
                        "INSERT INTO webhooks (workspace_id, url, secret, events, created_at_ms, updated_at_ms) "
                        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace_id) DO NOTHING"};
// COALESCE keeps the stored secret unless a new one is given.
constexpr Query kUpdate{"webhooks.update",
                        "UPDATE webhooks SET url = $2, events = $3, secret = COALESCE($4, secret), updated_at_ms = $5 "
                        "WHERE workspace_id = $1"};
constexpr Query kDelete{"webhooks.delete", "DELETE FROM webhooks WHERE workspace_id = $1"};

}  // namespace

namespace webhooks {

std::optional<WebhookRecord> Find(Tx& tx, std::string_view workspace_id) {
  Result r = tx.Exec(kFind, {workspace_id});
  if (r.empty()) return std::nullopt;
  const Row& row = r.front();
  return WebhookRecord{row.GetString(0), row.GetString(1), row.GetString(2),
                       row.GetString(3), row.GetInt(4),    row.GetInt(5)};
}

bool Insert(Tx& tx, const WebhookRecord& w) {
  return tx.Exec(kInsert, {w.workspace_id, w.url, w.secret, w.events_json, w.created_at_ms, w.updated_at_ms})
             .affected() == 1;
}

bool Update(Tx& tx, std::string_view workspace_id, std::string_view url, std::string_view events_json,
            const std::optional<std::string>& secret, std::int64_t now_ms) {
  return tx.Exec(kUpdate, {workspace_id, url, events_json, secret, now_ms}).affected() == 1;
}

bool Delete(Tx& tx, std::string_view workspace_id) { return tx.Exec(kDelete, {workspace_id}).affected() == 1; }

}  // namespace webhooks
}  // namespace studio::store
