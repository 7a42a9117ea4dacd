#pragma once
// Accounts and sessions: onboarding, login with lockout, access tokens (JWT) and rotating
// refresh-token families, logout, and per-request authentication. HTTP-free: the routes in
// api/v1/auth_routes.cpp translate requests into these calls.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.hpp"
#include "auth/password.hpp"
#include "auth/verified_tokens.hpp"
#include "identity/account_cache.hpp"
#include "ratelimit/limiter.hpp"
#include "store/db.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::identity {

struct AuthConfig {
  std::string jwt_secret;  // >= 32 bytes
  std::string issuer = "studio";
  std::string audience = "studio-api";
  std::int64_t access_ttl_seconds = std::int64_t{15} * 60;
  std::int64_t refresh_ttl_seconds = std::int64_t{7} * 24 * 3600;
  int max_failed_logins = 5;
  std::int64_t lockout_seconds = std::int64_t{15} * 60;
  ratelimit::Limit login_per_ip{"login:ip", 10, std::chrono::minutes(1), 10};
  auth::HashParams hash_params = auth::OwaspParams();
};

/// Who is calling, from the socket and headers.
struct RequestMeta {
  std::string ip;
  std::string user_agent;
  std::string request_id;
};

/// A fresh pair of tokens.
struct Session {
  std::string user_id;
  std::string workspace_id;
  std::string workspace_slug;
  std::string role;
  std::string access_token;
  std::int64_t expires_at = 0;  // of the access token, Unix seconds
  std::string refresh_token;
  std::int64_t refresh_expires_at = 0;
};

/// The authenticated caller of one request. The role is the current one from the database,
/// not the one in the token, so a role change applies to the next request.
struct Principal {
  std::string user_id;  // for an API key: the user who created it (may be empty)
  std::string workspace_id;
  std::string role;
  bool is_admin = false;
  std::string token_id;             // the JWT's jti, or the API key's id
  bool api_key = false;             // authenticated by an API key rather than a session
  std::vector<std::string> scopes;  // an API key's scopes (empty = everything its role allows)
  // A session's account, read with the token check anyway, so GET /auth/me needs no query.
  std::string email;
  std::optional<std::string> name;
  std::shared_ptr<const CachedAccount> account;  // sessions only
};

/// The caller's account and workspaces, for GET /auth/me.
struct AccountView {
  Principal principal;
  std::string email;
  std::optional<std::string> name;
  std::vector<std::pair<store::WorkspaceRecord, std::string>> workspaces;  // with the caller's role
};

struct OnboardingInput {
  std::string workspace_name;
  std::optional<std::string> workspace_slug;
  std::string email;
  std::string password;
  std::optional<std::string> name;
};

class AuthService {
 public:
  AuthService(store::Db& db, ratelimit::Limiter& limiter, AuthConfig config);

  /// Creates a user, a workspace and the owner membership in one transaction. 400 for invalid
  /// input, 409 EMAIL_TAKEN / SLUG_TAKEN.
  Session Onboard(const OnboardingInput& input, const RequestMeta& meta);
  /// An account without a workspace (it joins one by accepting an invitation). 400 for invalid
  /// input or a weak password, 409 EMAIL_TAKEN. Returns the user id.
  std::string Register(std::string_view email, std::string_view password, const std::optional<std::string>& name,
                       const RequestMeta& meta);
  /// 401 invalid_credentials for an unknown user, a wrong password or a locked account (same
  /// body, same time); 429 when the IP is over its login rate.
  Session Login(std::string_view email, std::string_view password, const std::optional<std::string>& workspace_id,
                const RequestMeta& meta);
  /// Rotates a refresh token. A token presented twice revokes its whole family (401).
  Session Refresh(std::string_view refresh_token, const RequestMeta& meta);
  /// Revokes the refresh token's family (if given) and every access token of the user.
  void Logout(const Principal* principal, std::optional<std::string_view> refresh_token, const RequestMeta& meta);
  /// Verifies an access token against the database's current state; 401 otherwise.
  Principal Authenticate(std::string_view bearer_token);
  /// Signs the user out everywhere: every refresh token is revoked and every access token dies.
  void RevokeAll(const Principal& principal, const RequestMeta& meta);
  /// 401 invalid_credentials when `current` is wrong; 400 for a weak new password. Ends every
  /// other session and returns a fresh one for the caller.
  Session ChangePassword(const Principal& principal, std::string_view current, std::string_view next,
                         const RequestMeta& meta);
  /// New tokens for another workspace of the caller; 404 when not a member (no existence oracle).
  Session SwitchWorkspace(const Principal& principal, std::string_view workspace_id, const RequestMeta& meta);
  AccountView Account(const Principal& principal);

  /// Login's credential check alone (per-IP limit, lockout, failure counting, one 401
  /// invalid_credentials for every failure); returns the user id. Accepting an invitation with
  /// a password goes through it, so it is no weaker than login.
  std::string VerifyCredentials(std::string_view email, std::string_view password, const RequestMeta& meta);
  /// CheckPasswordStrength (400) then the configured hash. Slow: call it outside a transaction.
  std::string HashNewPassword(std::string_view password, const std::vector<std::string>& hints) const;
  /// A session for a member of the workspace inside the caller's transaction, so joining a
  /// workspace and signing in to it commit together. 404 when not a member.
  Session StartSession(store::Tx& tx, const std::string& user_id, const std::string& workspace_id,
                       const RequestMeta& meta);

  static std::int64_t Now();

 private:
  Session Issue(store::Tx& tx, const std::string& user_id, const std::string& workspace_id, const std::string& slug,
                const std::string& role, std::int64_t token_version, const std::string& family_id,
                const RequestMeta& meta, std::int64_t now);
  void Audit(store::Tx& tx, const std::optional<std::string>& workspace_id, const std::optional<std::string>& actor,
             std::string_view action, std::string_view outcome, const RequestMeta& meta, std::string details = "{}");

  store::Db& db_;
  ratelimit::Limiter& limiter_;
  AuthConfig config_;
  auth::JwtSigner signer_;
  auth::VerifiedTokens verified_;
  AccountCache accounts_;
};

/// Appends an audit event stamped with the request's metadata and the current time.
void AppendAudit(store::Tx& tx, const std::optional<std::string>& workspace_id, const std::optional<std::string>& actor,
                 std::string_view action, std::string_view outcome, const RequestMeta& meta,
                 std::string details = "{}");

/// Lower-cases and validates an e-mail address; ValidationFailed (field "email") otherwise.
std::string NormalizeEmail(std::string_view email);
/// A URL-safe slug from a workspace name ("Acme Corp!" → "acme-corp").
std::string SlugFromName(std::string_view name);
/// ValidationFailed (field "workspaceSlug") unless 3..48 of [a-z0-9-], no leading/trailing '-'.
void CheckSlug(std::string_view slug);

}  // namespace studio::identity
