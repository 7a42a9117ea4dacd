#include "identity/workspace_service.hpp"

#include <algorithm>
#include <array>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "store/users_repo.hpp"

namespace studio::identity {
namespace {

std::int64_t Now() { return AuthService::Now(); }

[[noreturn]] void WorkspaceNotFound() { throw NotFound("The workspace does not exist."); }

void CheckName(std::string_view name) {
  if (name.empty() || name.size() > 100) {
    throw ValidationFailed("The workspace name is required (at most 100 characters).",
                           {{"name", "must be 1 to 100 characters"}});
  }
}

store::MemberRecord FindMember(store::Tx& tx, std::string_view workspace_id, std::string_view user_id) {
  for (auto& m : store::memberships::List(tx, workspace_id)) {
    if (m.user_id == user_id) return m;
  }
  throw NotFound("The user is not a member of this workspace.", "MEMBER_NOT_FOUND");
}

// Checked under CountOwnersForUpdate's row locks, so two owners demoting each other at once
// cannot both succeed and leave the workspace ownerless.
void KeepAnOwner(store::Tx& tx, std::string_view workspace_id) {
  if (store::memberships::CountOwnersForUpdate(tx, workspace_id) <= 1) {
    throw Conflict("A workspace must keep at least one owner; make someone else an owner first.", "LAST_OWNER");
  }
}

}  // namespace

std::string RoleOrNotFound(store::Tx& tx, std::string_view workspace_id, const Principal& caller) {
  // An API key belongs to one workspace and carries its own role; its creator's memberships
  // say nothing about what the key may do.
  if (caller.api_key) {
    if (caller.workspace_id != workspace_id) WorkspaceNotFound();
    return caller.role;
  }
  if (auto role = store::memberships::Role(tx, workspace_id, caller.user_id)) return *role;
  if (caller.is_admin && store::workspaces::FindById(tx, workspace_id)) return std::string(kPlatformAdminRole);
  WorkspaceNotFound();
}

void RequireOwner(const Principal& caller, std::string_view role) {
  // The guard already lets a platform admin through on the admin bit alone; agree with it.
  if (role != "owner" && !caller.is_admin) throw Forbidden("Only an owner of the workspace can do this.");
}

std::optional<std::string> ActorOf(const Principal& caller) {
  if (caller.user_id.empty()) return std::nullopt;  // an API key issued from the CLI
  return caller.user_id;
}

void CheckMemberRole(std::string_view role) {
  static constexpr std::array<std::string_view, 4> kRoles{"owner", "member", "agent", "service"};
  for (auto r : kRoles) {
    if (r == role) return;
  }
  throw ValidationFailed("The role is not valid.", {{"role", "must be one of owner, member, agent, service"}});
}

WorkspaceService::WorkspaceService(store::Db& db) : db_(db) {}

std::vector<WorkspaceView> WorkspaceService::ListMine(const Principal& caller) {
  return db_.ReadValue([&](store::Tx& tx) {
    std::vector<WorkspaceView> out;
    for (auto& [ws, role] : store::workspaces::ListForUser(tx, caller.user_id)) out.push_back({ws, role});
    return out;
  });
}

WorkspaceView WorkspaceService::Create(const Principal& caller, std::string_view name,
                                       const std::optional<std::string>& slug_in, const RequestMeta& meta) {
  CheckName(name);
  std::string slug = slug_in ? *slug_in : SlugFromName(name);
  CheckSlug(slug);
  std::int64_t now = Now();
  return db_.WriteValue([&](store::Tx& tx) {
    if (store::workspaces::FindBySlug(tx, slug)) {
      // A chosen slug is the caller's to fix; a derived one just gets a random suffix.
      if (slug_in) throw Conflict("This workspace slug is taken.", "SLUG_TAKEN");
      slug = slug.substr(0, 40) + "-" + NewId("").substr(0, 6);
      std::transform(slug.begin(), slug.end(), slug.begin(), [](unsigned char c) { return std::tolower(c); });
      if (store::workspaces::FindBySlug(tx, slug)) throw Conflict("This workspace slug is taken.", "SLUG_TAKEN");
    }
    store::WorkspaceRecord ws{NewId("wks_"), std::string(name), slug, "free"};
    store::workspaces::Insert(tx, ws);
    store::memberships::Add(tx, ws.id, caller.user_id, "owner", now);
    AppendAudit(tx, ws.id, caller.user_id, "workspace.create", "success", meta);
    return WorkspaceView{ws, "owner"};
  });
}

WorkspaceView WorkspaceService::Get(const Principal& caller, std::string_view workspace_id) {
  return db_.ReadValue([&](store::Tx& tx) {
    std::string role = RoleOrNotFound(tx, workspace_id, caller);
    auto ws = store::workspaces::FindById(tx, workspace_id);
    if (!ws) WorkspaceNotFound();
    return WorkspaceView{*ws, role};
  });
}

WorkspaceView WorkspaceService::Rename(const Principal& caller, std::string_view workspace_id, std::string_view name,
                                       const RequestMeta& meta) {
  CheckName(name);
  return db_.WriteValue([&](store::Tx& tx) {
    std::string role = RoleOrNotFound(tx, workspace_id, caller);
    RequireOwner(caller, role);
    auto ws = store::workspaces::FindById(tx, workspace_id);
    if (!ws || !store::workspaces::Rename(tx, workspace_id, name)) WorkspaceNotFound();
    AppendAudit(tx, ws->id, ActorOf(caller), "workspace.rename", "success", meta,
                Json{{"from", ws->name}, {"to", name}}.dump());
    ws->name = std::string(name);
    return WorkspaceView{*ws, role};
  });
}

void WorkspaceService::Delete(const Principal& caller, std::string_view workspace_id, const RequestMeta& meta) {
  db_.Write([&](store::Tx& tx) {
    RequireOwner(caller, RoleOrNotFound(tx, workspace_id, caller));
    if (!store::workspaces::Delete(tx, workspace_id)) WorkspaceNotFound();
    // The event outlives the workspace, so it carries the id in its details rather than as its
    // tenant (the audit row would otherwise dangle or be cascaded away).
    AppendAudit(tx, std::nullopt, ActorOf(caller), "workspace.delete", "success", meta,
                Json{{"workspaceId", workspace_id}}.dump());
  });
}

std::vector<store::MemberRecord> WorkspaceService::Members(const Principal& caller, std::string_view workspace_id) {
  return db_.ReadValue([&](store::Tx& tx) {
    RoleOrNotFound(tx, workspace_id, caller);
    return store::memberships::List(tx, workspace_id);
  });
}

store::MemberRecord WorkspaceService::AddMember(const Principal& caller, std::string_view workspace_id,
                                                std::string_view email_in, std::string_view role,
                                                const RequestMeta& meta) {
  std::string email = NormalizeEmail(email_in);
  CheckMemberRole(role);
  std::int64_t now = Now();
  return db_.WriteValue([&](store::Tx& tx) {
    RequireOwner(caller, RoleOrNotFound(tx, workspace_id, caller));
    auto user = store::users::FindByEmail(tx, email);
    if (!user || user->disabled) throw NotFound("No account has this e-mail address.", "USER_NOT_FOUND");
    if (store::memberships::Role(tx, workspace_id, user->id)) {
      throw Conflict("The user is already a member of this workspace.", "ALREADY_A_MEMBER");
    }
    store::memberships::Add(tx, workspace_id, user->id, role, now);
    AppendAudit(tx, std::string(workspace_id), ActorOf(caller), "member.add", "success", meta,
                Json{{"userId", user->id}, {"role", role}}.dump());
    return FindMember(tx, workspace_id, user->id);
  });
}

store::MemberRecord WorkspaceService::SetRole(const Principal& caller, std::string_view workspace_id,
                                              std::string_view user_id, std::string_view role,
                                              const RequestMeta& meta) {
  CheckMemberRole(role);
  return db_.WriteValue([&](store::Tx& tx) {
    RequireOwner(caller, RoleOrNotFound(tx, workspace_id, caller));
    store::MemberRecord target = FindMember(tx, workspace_id, user_id);
    if (target.role == "owner" && role != "owner") KeepAnOwner(tx, workspace_id);
    // No token needs to die: every request reads the current role from the database (the
    // token's role claim is never trusted), so the change applies to the target's next request.
    store::memberships::SetRole(tx, workspace_id, user_id, role);
    AppendAudit(tx, std::string(workspace_id), ActorOf(caller), "member.role_change", "success", meta,
                Json{{"userId", user_id}, {"from", target.role}, {"to", role}}.dump());
    target.role = std::string(role);
    return target;
  });
}

void WorkspaceService::RemoveMember(const Principal& caller, std::string_view workspace_id, std::string_view user_id,
                                    const RequestMeta& meta) {
  db_.Write([&](store::Tx& tx) {
    std::string caller_role = RoleOrNotFound(tx, workspace_id, caller);
    if (caller.api_key || user_id != caller.user_id) RequireOwner(caller, caller_role);
    store::MemberRecord target = FindMember(tx, workspace_id, user_id);
    if (target.role == "owner") KeepAnOwner(tx, workspace_id);
    // Authentication checks the membership on every request, so the removed member's tokens for
    // this workspace stop working now, while their sessions in other workspaces stay signed in.
    store::memberships::Remove(tx, workspace_id, user_id);
    AppendAudit(tx, std::string(workspace_id), ActorOf(caller), "member.remove", "success", meta,
                Json{{"userId", user_id}, {"role", target.role}}.dump());
  });
}

}  // namespace studio::identity
