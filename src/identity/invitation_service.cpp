#include "identity/invitation_service.hpp"

#include "auth/secrets.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "identity/workspace_service.hpp"
#include "store/users_repo.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::identity {
namespace {

// One answer for unknown, expired, used and revoked tokens: the answer must not tell a token
// guesser (or a former invitee) anything.
[[noreturn]] void InvitationNotFound() {
  throw NotFound("The invitation does not exist, has expired or has already been used.", "INVITATION_NOT_FOUND");
}

store::InvitationRecord UsableOrNotFound(store::Tx& tx, std::string_view token, std::int64_t now) {
  if (token.empty() || token.size() > 128) InvitationNotFound();
  auto invitation = store::invitations::FindByTokenHash(tx, auth::HashSecret(token));
  if (!invitation || invitation->accepted_at || invitation->expires_at <= now) InvitationNotFound();
  return *invitation;
}

[[noreturn]] void AlreadyAMember() {
  throw Conflict("The user is already a member of this workspace.", "ALREADY_A_MEMBER");
}

}  // namespace

InvitationService::InvitationService(store::Db& db, AuthService& auth, std::int64_t ttl_seconds)
    : db_(db), auth_(auth), ttl_seconds_(ttl_seconds) {}

IssuedInvitation InvitationService::Create(const Principal& caller, std::string_view workspace_id,
                                           std::string_view email_in, std::string_view role, const RequestMeta& meta) {
  std::string email = NormalizeEmail(email_in);
  CheckMemberRole(role);
  std::int64_t now = AuthService::Now();
  IssuedInvitation out;
  out.token = auth::NewRefreshToken();  // 256 random bits
  out.record = store::InvitationRecord{NewId("inv_"),
                                       std::string(workspace_id),
                                       email,
                                       std::string(role),
                                       auth::HashSecret(out.token),
                                       ActorOf(caller),
                                       now + ttl_seconds_,
                                       std::nullopt,
                                       now};
  db_.Write([&](store::Tx& tx) {
    // Owner only, whatever the role invited: this also keeps the owner role in owners' hands.
    RequireOwner(caller, RoleOrNotFound(tx, workspace_id, caller));
    if (auto user = store::users::FindByEmail(tx, email);
        user && store::memberships::Role(tx, workspace_id, user->id)) {
      AlreadyAMember();
    }
    store::invitations::Insert(tx, out.record);
    AppendAudit(tx, std::string(workspace_id), ActorOf(caller), "invitation.create", "success", meta,
                Json{{"invitationId", out.record.id}, {"email", email}, {"role", role}}.dump());
  });
  return out;
}

std::vector<store::InvitationRecord> InvitationService::ListPending(const Principal& caller,
                                                                    std::string_view workspace_id) {
  std::int64_t now = AuthService::Now();
  return db_.ReadValue([&](store::Tx& tx) {
    RequireOwner(caller, RoleOrNotFound(tx, workspace_id, caller));
    return store::invitations::ListPending(tx, workspace_id, now);
  });
}

void InvitationService::Revoke(const Principal& caller, std::string_view workspace_id, std::string_view invitation_id,
                               const RequestMeta& meta) {
  db_.Write([&](store::Tx& tx) {
    RequireOwner(caller, RoleOrNotFound(tx, workspace_id, caller));
    if (!store::invitations::Revoke(tx, workspace_id, invitation_id)) InvitationNotFound();
    AppendAudit(tx, std::string(workspace_id), ActorOf(caller), "invitation.revoke", "success", meta,
                Json{{"invitationId", invitation_id}}.dump());
  });
}

Session InvitationService::Join(store::Tx& tx, const store::InvitationRecord& invitation, const std::string& user_id,
                                std::int64_t now, const RequestMeta& meta) {
  if (store::memberships::Role(tx, invitation.workspace_id, user_id)) AlreadyAMember();
  // The conditional UPDATE decides a race: a concurrent acceptance that got here first wins,
  // and this one answers exactly as for a used token.
  if (!store::invitations::MarkAccepted(tx, invitation.workspace_id, invitation.id, now)) InvitationNotFound();
  store::memberships::Add(tx, invitation.workspace_id, user_id, invitation.role, now);
  AppendAudit(tx, invitation.workspace_id, user_id, "invitation.accept", "success", meta,
              Json{{"invitationId", invitation.id}, {"role", invitation.role}}.dump());
  return auth_.StartSession(tx, user_id, invitation.workspace_id, meta);
}

Session InvitationService::AcceptAsUser(const Principal& user, std::string_view token, const RequestMeta& meta) {
  std::int64_t now = AuthService::Now();
  return db_.WriteValue([&](store::Tx& tx) {
    store::InvitationRecord invitation = UsableOrNotFound(tx, token, now);
    auto account = store::users::FindById(tx, user.user_id);
    if (!account) throw Unauthorized("The access token has been revoked; sign in again.", "INVALID_TOKEN");
    if (account->email != invitation.email) {
      throw Forbidden("This invitation is for another e-mail address; sign in as that account to accept it.",
                      "INVITATION_EMAIL_MISMATCH");
    }
    return Join(tx, invitation, user.user_id, now, meta);
  });
}

Session InvitationService::AcceptWithPassword(std::string_view token, std::string_view password,
                                              const std::optional<std::string>& name, const RequestMeta& meta) {
  std::int64_t now = AuthService::Now();
  // A bad token is refused before any password work, and the slow hashing happens outside the
  // write transaction; the token is then checked again inside it.
  store::InvitationRecord invitation = db_.ReadValue([&](store::Tx& tx) { return UsableOrNotFound(tx, token, now); });
  bool exists =
      db_.ReadValue([&](store::Tx& tx) { return store::users::FindByEmail(tx, invitation.email).has_value(); });
  std::optional<store::UserRecord> new_user;
  std::string user_id;
  if (exists) {
    user_id = auth_.VerifyCredentials(invitation.email, password, meta);
  } else {
    std::vector<std::string> hints{invitation.email};
    if (name) hints.push_back(*name);
    new_user.emplace();
    new_user->id = user_id = NewId("usr_");
    new_user->email = invitation.email;
    new_user->name = name;
    new_user->password_hash = auth_.HashNewPassword(password, hints);
  }
  return db_.WriteValue([&](store::Tx& tx) {
    store::InvitationRecord fresh = UsableOrNotFound(tx, token, now);
    if (new_user) {
      // Someone registered this address meanwhile: the caller must retry and prove the password.
      if (store::users::FindByEmail(tx, new_user->email)) {
        throw Conflict("An account with this e-mail already exists.", "EMAIL_TAKEN");
      }
      store::users::Insert(tx, *new_user);
      AppendAudit(tx, std::nullopt, new_user->id, "auth.register", "success", meta,
                  Json{{"invitationId", fresh.id}}.dump());
    }
    return Join(tx, fresh, user_id, now, meta);
  });
}

}  // namespace studio::identity
