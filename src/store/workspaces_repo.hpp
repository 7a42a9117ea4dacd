#pragma once
// Workspaces and memberships (migrations 0001 + 0002). Membership functions take the workspace
// id first: a query that forgets the tenant does not compile.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/db.hpp"

namespace studio::store {

struct WorkspaceRecord {
  std::string id;
  std::string name;
  std::string slug;
  std::string plan = "free";
};

struct MemberRecord {
  std::string user_id;
  std::string email;
  std::optional<std::string> name;
  std::string role;
  std::int64_t joined_at = 0;  // Unix seconds
};

namespace workspaces {

/// ConstraintViolation(kUnique) when the slug is taken.
void Insert(Tx& tx, const WorkspaceRecord& workspace);
std::optional<WorkspaceRecord> FindById(Tx& tx, std::string_view id);
std::optional<WorkspaceRecord> FindBySlug(Tx& tx, std::string_view slug);
/// The workspaces a user belongs to, with the user's role in each, oldest membership first.
std::vector<std::pair<WorkspaceRecord, std::string>> ListForUser(Tx& tx, std::string_view user_id);
/// False when there is no such workspace.
bool Rename(Tx& tx, std::string_view id, std::string_view name);
/// Deletes the workspace and (by cascade) its memberships, keys, tokens and invitations.
bool Delete(Tx& tx, std::string_view id);

}  // namespace workspaces

namespace memberships {

/// ConstraintViolation(kUnique) when already a member, kForeignKey when either side is missing.
void Add(Tx& tx, std::string_view workspace_id, std::string_view user_id, std::string_view role, std::int64_t now);
/// The user's role in the workspace, or nullopt when not a member.
std::optional<std::string> Role(Tx& tx, std::string_view workspace_id, std::string_view user_id);
std::vector<MemberRecord> List(Tx& tx, std::string_view workspace_id);
/// Owners of the workspace; on PostgreSQL their rows are locked until the transaction ends, so
/// two concurrent demotions cannot both see "another owner remains" (SQLite writes are serial).
std::int64_t CountOwnersForUpdate(Tx& tx, std::string_view workspace_id);
bool SetRole(Tx& tx, std::string_view workspace_id, std::string_view user_id, std::string_view role);
bool Remove(Tx& tx, std::string_view workspace_id, std::string_view user_id);

}  // namespace memberships
}  // namespace studio::store
