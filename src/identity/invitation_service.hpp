#pragma once
// Invitations to a workspace: an owner invites an e-mail address with a role and gets a
// single-use token (shown once; only its hash is stored) that expires. Whoever holds the token
// joins by accepting it — signed in as the invited address, or with a password (creating the
// account when none exists). HTTP-free: api/v1/workspace_routes.cpp translates requests.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "identity/auth_service.hpp"
#include "store/db.hpp"
#include "store/invitations_repo.hpp"

namespace studio::identity {

/// An invitation as created: `token` is the only time the secret exists outside the invitee.
struct IssuedInvitation {
  store::InvitationRecord record;
  std::string token;
};

class InvitationService {
 public:
  static constexpr std::int64_t kDefaultTtlSeconds = std::int64_t{7} * 24 * 3600;

  InvitationService(store::Db& db, AuthService& auth, std::int64_t ttl_seconds = kDefaultTtlSeconds);

  /// Owner only (a platform admin counts as one), so only an owner can hand out the owner role.
  /// 400 for a bad e-mail or role, 409 ALREADY_A_MEMBER.
  IssuedInvitation Create(const Principal& caller, std::string_view workspace_id, std::string_view email,
                          std::string_view role, const RequestMeta& meta);
  /// Not yet accepted and not expired. Owner only.
  std::vector<store::InvitationRecord> ListPending(const Principal& caller, std::string_view workspace_id);
  /// Owner only; 404 INVITATION_NOT_FOUND unless pending in this workspace.
  void Revoke(const Principal& caller, std::string_view workspace_id, std::string_view invitation_id,
              const RequestMeta& meta);

  /// The signed-in user joins; their e-mail must be the invited one (403
  /// INVITATION_EMAIL_MISMATCH). Returns a session for the workspace.
  Session AcceptAsUser(const Principal& user, std::string_view token, const RequestMeta& meta);
  /// Without a session: creates the account when no account has the invited e-mail (400 for a
  /// weak password), otherwise checks the password exactly like login (401 invalid_credentials).
  /// Returns a session for the workspace.
  Session AcceptWithPassword(std::string_view token, std::string_view password, const std::optional<std::string>& name,
                             const RequestMeta& meta);
  // Both accept paths: 404 INVITATION_NOT_FOUND for an unknown, expired or used token (one
  // answer for all), 409 ALREADY_A_MEMBER. An invitation is accepted at most once, however
  // many requests race for it.

 private:
  Session Join(store::Tx& tx, const store::InvitationRecord& invitation, const std::string& user_id, std::int64_t now,
               const RequestMeta& meta);

  store::Db& db_;
  AuthService& auth_;
  std::int64_t ttl_seconds_;
};

}  // namespace studio::identity
