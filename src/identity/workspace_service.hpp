#pragma once
// Workspaces and their members: create, rename, delete, list members, add an existing user,
// change a role, remove a member. HTTP-free: api/v1/workspace_routes.cpp translates requests.
//
// Authorization is by the caller's membership of the addressed workspace (looked up per call),
// not by the workspace in the token. A non-member gets 404 whether or not the workspace exists,
// so ids cannot be probed; a member whose role is too low gets 403. A platform admin counts as
// an owner (the guard lets them reach any workspace); an API key acts with its own role.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "identity/auth_service.hpp"
#include "store/db.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::identity {

/// A workspace as seen by one member: the record and that member's role in it.
struct WorkspaceView {
  store::WorkspaceRecord workspace;
  std::string role;
};

class WorkspaceService {
 public:
  explicit WorkspaceService(store::Db& db);

  std::vector<WorkspaceView> ListMine(const Principal& caller);
  /// The caller becomes the owner. 400 for an invalid name or slug, 409 SLUG_TAKEN.
  WorkspaceView Create(const Principal& caller, std::string_view name, const std::optional<std::string>& slug,
                       const RequestMeta& meta);
  WorkspaceView Get(const Principal& caller, std::string_view workspace_id);
  /// Owner only.
  WorkspaceView Rename(const Principal& caller, std::string_view workspace_id, std::string_view name,
                       const RequestMeta& meta);
  /// Owner only; members' tokens for it stop working on their next request.
  void Delete(const Principal& caller, std::string_view workspace_id, const RequestMeta& meta);

  std::vector<store::MemberRecord> Members(const Principal& caller, std::string_view workspace_id);
  /// Owner only: adds an existing user by e-mail (interim, until invitations exist).
  /// 404 USER_NOT_FOUND, 409 ALREADY_A_MEMBER.
  store::MemberRecord AddMember(const Principal& caller, std::string_view workspace_id, std::string_view email,
                                std::string_view role, const RequestMeta& meta);
  /// Owner only; 409 LAST_OWNER when it would leave the workspace without an owner.
  store::MemberRecord SetRole(const Principal& caller, std::string_view workspace_id, std::string_view user_id,
                              std::string_view role, const RequestMeta& meta);
  /// An owner, or the member removing themself; 409 LAST_OWNER as above.
  void RemoveMember(const Principal& caller, std::string_view workspace_id, std::string_view user_id,
                    const RequestMeta& meta);

 private:
  store::Db& db_;
};

/// ValidationFailed (field "role") unless one of owner, member, agent, service.
void CheckMemberRole(std::string_view role);

/// The role a platform admin who is not a member acts with: owner-equivalent.
inline constexpr std::string_view kPlatformAdminRole = "admin";

/// The caller's role in the workspace: an API key's own role (in its workspace only), the
/// member's role, or kPlatformAdminRole for a platform admin who is not a member (an existing
/// workspace only). Anyone else gets 404, exactly as for a missing workspace.
std::string RoleOrNotFound(store::Tx& tx, std::string_view workspace_id, const Principal& caller);
/// 403 unless the role is owner or the caller is a platform admin.
void RequireOwner(const Principal& caller, std::string_view role);
/// The audit actor: the caller's user id, or none for an API key issued without one.
std::optional<std::string> ActorOf(const Principal& caller);

}  // namespace studio::identity
