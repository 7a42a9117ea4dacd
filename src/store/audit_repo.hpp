#pragma once
// The audit log (migration 0002): append-only security events, readable per workspace.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/db.hpp"

namespace studio::store {

struct AuditEvent {
  std::string id;
  std::optional<std::string> workspace_id;
  std::optional<std::string> actor_id;
  std::string action;   // "auth.login", "member.remove", "api_key.create", …
  std::string outcome;  // "success", "failure", "denied"
  std::optional<std::string> ip;
  std::optional<std::string> user_agent;
  std::optional<std::string> request_id;
  std::string details_json = "{}";  // redacted by the caller; never secrets
  std::int64_t created_at_ms = 0;
};

namespace audit {

void Append(Tx& tx, const AuditEvent& event);
/// Newest first. `before` is a cursor: (created_at_ms, id) of the last event of the previous
/// page; limit is clamped to 1..200 by the caller.
std::vector<AuditEvent> List(Tx& tx, std::string_view workspace_id,
                             std::optional<std::pair<std::int64_t, std::string>> before, int limit);

/// What GET /workspaces/{id}/audit-logs shows: the workspace's own events plus its members'
/// account-level sign-in events (auth.login / auth.lockout, written without a workspace because
/// a failed login does not pick one) since they joined. Newest first, keyset-paginated like
/// List; `action` ("" = any) keeps only that action.
std::vector<AuditEvent> ListForWorkspace(Tx& tx, std::string_view workspace_id,
                                         std::optional<std::pair<std::int64_t, std::string>> before, int limit,
                                         std::string_view action = {});

}  // namespace audit
}  // namespace studio::store
