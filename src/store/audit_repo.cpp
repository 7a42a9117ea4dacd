#include "store/audit_repo.hpp"

#include <limits>

namespace studio::store::audit {
namespace {

constexpr Query kAppend{
    "audit.append",
    "INSERT INTO audit_log (id, workspace_id, actor_id, action, outcome, ip, user_agent, request_id, "
    "details, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"};
constexpr Query kFirstPage{"audit.list",
                           "SELECT id, workspace_id, actor_id, action, outcome, ip, user_agent, request_id, details, "
                           "created_at_ms FROM audit_log WHERE workspace_id = $1 "
                           "ORDER BY created_at_ms DESC, id DESC LIMIT $2"};
// Keyset pagination: stable under concurrent inserts, unlike OFFSET.
constexpr Query kNextPage{"audit.list_before",
                          "SELECT id, workspace_id, actor_id, action, outcome, ip, user_agent, request_id, details, "
                          "created_at_ms FROM audit_log WHERE workspace_id = $1 "
                          "AND (created_at_ms < $3 OR (created_at_ms = $3 AND id < $4)) "
                          "ORDER BY created_at_ms DESC, id DESC LIMIT $2"};

// One statement for both pages: the first page passes the largest key as its cursor. A member's
// sign-in events only count from the moment they joined (memberships.created_at is in seconds),
// so a new workspace does not learn its members' earlier history.
constexpr Query kForWorkspace{
    "audit.list_for_workspace",
    "SELECT a.id, a.workspace_id, a.actor_id, a.action, a.outcome, a.ip, a.user_agent, a.request_id, a.details, "
    "a.created_at_ms FROM audit_log a "
    "WHERE (a.workspace_id = $1 OR (a.workspace_id IS NULL AND a.action IN ('auth.login', 'auth.lockout') "
    "AND EXISTS (SELECT 1 FROM memberships m WHERE m.workspace_id = $1 AND m.user_id = a.actor_id "
    "AND a.created_at_ms >= m.created_at * 1000))) "
    "AND (a.action = $3 OR $3 = '') "
    "AND (a.created_at_ms < $4 OR (a.created_at_ms = $4 AND a.id < $5)) "
    "ORDER BY a.created_at_ms DESC, a.id DESC LIMIT $2"};

AuditEvent FromRow(const Row& r) {
  AuditEvent e;
  e.id = r.GetString(0);
  e.workspace_id = r.GetOptString(1);
  e.actor_id = r.GetOptString(2);
  e.action = r.GetString(3);
  e.outcome = r.GetString(4);
  e.ip = r.GetOptString(5);
  e.user_agent = r.GetOptString(6);
  e.request_id = r.GetOptString(7);
  e.details_json = r.GetString(8);
  e.created_at_ms = r.GetInt(9);
  return e;
}

}  // namespace

void Append(Tx& tx, const AuditEvent& e) {
  tx.Exec(kAppend, {e.id, e.workspace_id, e.actor_id, e.action, e.outcome, e.ip, e.user_agent, e.request_id,
                    e.details_json, e.created_at_ms});
}

std::vector<AuditEvent> List(Tx& tx, std::string_view workspace_id,
                             std::optional<std::pair<std::int64_t, std::string>> before, int limit) {
  Result r = before ? tx.Exec(kNextPage, {workspace_id, limit, before->first, before->second})
                    : tx.Exec(kFirstPage, {workspace_id, limit});
  std::vector<AuditEvent> out;
  out.reserve(r.size());
  for (const Row& row : r) out.push_back(FromRow(row));
  return out;
}

std::vector<AuditEvent> ListForWorkspace(Tx& tx, std::string_view workspace_id,
                                         std::optional<std::pair<std::int64_t, std::string>> before, int limit,
                                         std::string_view action) {
  // Every id sorts after "" and every timestamp is below the maximum, so no cursor = all rows.
  std::int64_t before_ms = before ? before->first : std::numeric_limits<std::int64_t>::max();
  std::string before_id = before ? before->second : std::string();
  Result r = tx.Exec(kForWorkspace, {workspace_id, limit, action, before_ms, before_id});
  std::vector<AuditEvent> out;
  out.reserve(r.size());
  for (const Row& row : r) out.push_back(FromRow(row));
  return out;
}

}  // namespace studio::store::audit
