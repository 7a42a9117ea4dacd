#include "store/usage_repo.hpp"

namespace studio::store::usage {
namespace {

constexpr Query kMembersByRole{"usage.members_by_role",
                               "SELECT role, COUNT(*) FROM memberships WHERE workspace_id = $1 GROUP BY role"};
// SUM(CASE …) rather than COUNT(*) FILTER: the same SQL on both backends. COALESCE because SUM
// over no rows is NULL.
constexpr Query kApiKeys{"usage.api_keys",
                         "SELECT COALESCE(SUM(CASE WHEN revoked_at IS NULL THEN 1 ELSE 0 END), 0), "
                         "COALESCE(SUM(CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END), 0), "
                         "COALESCE(SUM(CASE WHEN last_used_at >= $2 THEN 1 ELSE 0 END), 0) "
                         "FROM api_keys WHERE workspace_id = $1"};
constexpr Query kPendingInvitations{"usage.invitations_pending",
                                    "SELECT COUNT(*) FROM invitations WHERE workspace_id = $1 "
                                    "AND accepted_at IS NULL AND expires_at > $2"};
constexpr Query kAuditEvents{"usage.audit_events",
                             "SELECT COUNT(*) FROM audit_log WHERE workspace_id = $1 AND created_at_ms >= $2"};

}  // namespace

WorkspaceUsage ForWorkspace(Tx& tx, std::string_view workspace_id, std::int64_t period_start, std::int64_t now) {
  WorkspaceUsage u;
  for (const Row& r : tx.Exec(kMembersByRole, {workspace_id})) {
    std::string role = r.GetString(0);
    std::int64_t n = r.GetInt(1);
    if (role == "owner") u.owners = n;
    if (role == "member") u.members = n;
    if (role == "agent") u.agents = n;
    if (role == "service") u.services = n;
  }
  Result keys = tx.Exec(kApiKeys, {workspace_id, period_start});
  u.api_keys_active = keys.front().GetInt(0);
  u.api_keys_revoked = keys.front().GetInt(1);
  u.api_keys_used_in_period = keys.front().GetInt(2);
  u.invitations_pending = tx.Exec(kPendingInvitations, {workspace_id, now}).front().GetInt(0);
  u.audit_events_in_period = tx.Exec(kAuditEvents, {workspace_id, period_start * 1000}).front().GetInt(0);
  return u;
}

}  // namespace studio::store::usage
