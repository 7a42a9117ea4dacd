#include "store/workspaces_repo.hpp"

namespace studio::store {
namespace {

constexpr Query kInsert{"workspaces.insert", "INSERT INTO workspaces (id, name, slug, plan) VALUES ($1, $2, $3, $4)"};
constexpr Query kById{"workspaces.by_id", "SELECT id, name, slug, plan FROM workspaces WHERE id = $1"};
constexpr Query kBySlug{"workspaces.by_slug", "SELECT id, name, slug, plan FROM workspaces WHERE slug = $1"};
constexpr Query kForUser{"workspaces.for_user",
                         "SELECT w.id, w.name, w.slug, w.plan, m.role FROM memberships m "
                         "JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1 "
                         "ORDER BY m.created_at, w.id"};
constexpr Query kRename{"workspaces.rename", "UPDATE workspaces SET name = $2 WHERE id = $1"};
constexpr Query kDelete{"workspaces.delete", "DELETE FROM workspaces WHERE id = $1"};

constexpr Query kAddMember{"memberships.add",
                           "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)"};
constexpr Query kRole{"memberships.role", "SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2"};
constexpr Query kList{"memberships.list",
                      "SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM memberships m "
                      "JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 ORDER BY m.created_at, m.user_id"};
constexpr Query kOwners{"memberships.owners_for_update",
                        "SELECT user_id FROM memberships WHERE workspace_id = $1 AND role = 'owner'",
                        "SELECT user_id FROM memberships WHERE workspace_id = $1 AND role = 'owner' FOR UPDATE"};
constexpr Query kSetRole{"memberships.set_role",
                         "UPDATE memberships SET role = $3 WHERE workspace_id = $1 AND user_id = $2"};
constexpr Query kRemove{"memberships.remove", "DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2"};

WorkspaceRecord FromRow(const Row& r) {
  return WorkspaceRecord{r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3)};
}

}  // namespace

namespace workspaces {

void Insert(Tx& tx, const WorkspaceRecord& w) { tx.Exec(kInsert, {w.id, w.name, w.slug, w.plan}); }

std::optional<WorkspaceRecord> FindById(Tx& tx, std::string_view id) {
  Result r = tx.Exec(kById, {id});
  if (r.empty()) return std::nullopt;
  return FromRow(r.front());
}

std::optional<WorkspaceRecord> FindBySlug(Tx& tx, std::string_view slug) {
  Result r = tx.Exec(kBySlug, {slug});
  if (r.empty()) return std::nullopt;
  return FromRow(r.front());
}

std::vector<std::pair<WorkspaceRecord, std::string>> ListForUser(Tx& tx, std::string_view user_id) {
  std::vector<std::pair<WorkspaceRecord, std::string>> out;
  for (const Row& r : tx.Exec(kForUser, {user_id})) out.emplace_back(FromRow(r), r.GetString(4));
  return out;
}

bool Rename(Tx& tx, std::string_view id, std::string_view name) { return tx.Exec(kRename, {id, name}).affected() > 0; }

bool Delete(Tx& tx, std::string_view id) { return tx.Exec(kDelete, {id}).affected() > 0; }

}  // namespace workspaces

namespace memberships {

void Add(Tx& tx, std::string_view workspace_id, std::string_view user_id, std::string_view role, std::int64_t now) {
  tx.Exec(kAddMember, {workspace_id, user_id, role, now});
}

std::optional<std::string> Role(Tx& tx, std::string_view workspace_id, std::string_view user_id) {
  Result r = tx.Exec(kRole, {workspace_id, user_id});
  if (r.empty()) return std::nullopt;
  return r.front().GetString(0);
}

std::vector<MemberRecord> List(Tx& tx, std::string_view workspace_id) {
  std::vector<MemberRecord> out;
  for (const Row& r : tx.Exec(kList, {workspace_id})) {
    out.push_back(MemberRecord{r.GetString(0), r.GetString(1), r.GetOptString(2), r.GetString(3), r.GetInt(4)});
  }
  return out;
}

std::int64_t CountOwnersForUpdate(Tx& tx, std::string_view workspace_id) {
  return static_cast<std::int64_t>(tx.Exec(kOwners, {workspace_id}).size());
}

bool SetRole(Tx& tx, std::string_view workspace_id, std::string_view user_id, std::string_view role) {
  return tx.Exec(kSetRole, {workspace_id, user_id, role}).affected() > 0;
}

bool Remove(Tx& tx, std::string_view workspace_id, std::string_view user_id) {
  return tx.Exec(kRemove, {workspace_id, user_id}).affected() > 0;
}

}  // namespace memberships
}  // namespace studio::store
