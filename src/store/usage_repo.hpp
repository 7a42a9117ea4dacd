#pragma once
// Per-workspace usage counts for GET /api/v1/workspaces/{id}/usage: only what the schema
// records, each a COUNT filtered by the workspace (so one tenant's numbers never include
// another's).

#include <cstdint>
#include <string_view>

#include "store/db.hpp"

namespace studio::store {

struct WorkspaceUsage {
  // Memberships by role.
  std::int64_t owners = 0;
  std::int64_t members = 0;
  std::int64_t agents = 0;
  std::int64_t services = 0;
  // API keys: not revoked / revoked / used at least once since the period started.
  std::int64_t api_keys_active = 0;
  std::int64_t api_keys_revoked = 0;
  std::int64_t api_keys_used_in_period = 0;
  // Invitations neither accepted nor expired.
  std::int64_t invitations_pending = 0;
  // Audit events attributed to the workspace since the period started.
  std::int64_t audit_events_in_period = 0;

  std::int64_t MembersTotal() const { return owners + members + agents + services; }
};

namespace usage {

/// `period_start` and `now` are Unix seconds.
WorkspaceUsage ForWorkspace(Tx& tx, std::string_view workspace_id, std::int64_t period_start, std::int64_t now);

}  // namespace usage
}  // namespace studio::store
