#include "identity/auth_service.hpp"

#include <algorithm>
#include <cctype>
#include <memory>

#include "auth/secrets.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "obs/log.hpp"
#include "store/audit_repo.hpp"
#include "store/identity_epoch_repo.hpp"
#include "store/tokens_repo.hpp"
#include "store/users_repo.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::identity {
namespace {

// One answer for every failed login, so the response does not tell an attacker whether the
// e-mail exists, the password was wrong or the account is locked.
[[noreturn]] void InvalidCredentials() {
  throw Unauthorized("The e-mail or password is incorrect.", "invalid_credentials");
}

[[noreturn]] void InvalidRefresh() {
  throw Unauthorized("The refresh token is invalid or expired; sign in again.", "INVALID_REFRESH_TOKEN");
}

std::int64_t NowMs() { return UnixMillis(); }

}  // namespace

std::string NormalizeEmail(std::string_view email) {
  std::string out;
  out.reserve(email.size());
  for (char c : email) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto at = out.find('@');
  bool ok = out.size() <= 254 && at != std::string::npos && at > 0 && at == out.rfind('@') &&
            out.find('.', at) != std::string::npos && out.back() != '.' &&
            std::none_of(out.begin(), out.end(), [](char c) { return static_cast<unsigned char>(c) <= ' '; });
  if (!ok) throw ValidationFailed("The e-mail address is not valid.", {{"email", "must be a valid e-mail address"}});
  return out;
}

std::string SlugFromName(std::string_view name) {
  std::string slug;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) && u < 0x80) {
      slug += static_cast<char>(std::tolower(u));
    } else if (!slug.empty() && slug.back() != '-') {
      slug += '-';
    }
    if (slug.size() >= 40) break;
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  if (slug.size() < 3) slug = "workspace" + (slug.empty() ? std::string() : "-" + slug);
  return slug;
}

void CheckSlug(std::string_view slug) {
  bool ok = slug.size() >= 3 && slug.size() <= 48 && slug.front() != '-' && slug.back() != '-' &&
            std::all_of(slug.begin(), slug.end(),
                        [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
  if (!ok) {
    throw ValidationFailed("The workspace slug is not valid.",
                           {{"workspaceSlug", "3 to 48 lower-case letters, digits or '-', not at either end"}});
  }
}

AuthService::AuthService(store::Db& db, ratelimit::Limiter& limiter, AuthConfig config)
    : db_(db),
      limiter_(limiter),
      config_(std::move(config)),
      signer_(config_.jwt_secret, config_.issuer, config_.audience) {}

std::int64_t AuthService::Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void AppendAudit(store::Tx& tx, const std::optional<std::string>& workspace_id, const std::optional<std::string>& actor,
                 std::string_view action, std::string_view outcome, const RequestMeta& meta, std::string details) {
  store::AuditEvent e;
  e.id = NewId("aud_");
  e.workspace_id = workspace_id;
  e.actor_id = actor;
  e.action = std::string(action);
  e.outcome = std::string(outcome);
  e.ip = meta.ip;
  e.user_agent = meta.user_agent.substr(0, 512);
  e.request_id = meta.request_id;
  e.details_json = std::move(details);
  e.created_at_ms = NowMs();
  store::audit::Append(tx, e);
}

void AuthService::Audit(store::Tx& tx, const std::optional<std::string>& workspace_id,
                        const std::optional<std::string>& actor, std::string_view action, std::string_view outcome,
                        const RequestMeta& meta, std::string details) {
  AppendAudit(tx, workspace_id, actor, action, outcome, meta, std::move(details));
}

Session AuthService::Issue(store::Tx& tx, const std::string& user_id, const std::string& workspace_id,
                           const std::string& slug, const std::string& role, std::int64_t token_version,
                           const std::string& family_id, const RequestMeta& meta, std::int64_t now) {
  Session s;
  s.user_id = user_id;
  s.workspace_id = workspace_id;
  s.workspace_slug = slug;
  s.role = role;
  auth::AccessClaims claims;
  claims.sub = user_id;
  claims.wid = workspace_id;
  claims.role = role;
  claims.jti = NewId("jti_");
  claims.iat = now;
  claims.nbf = now;
  claims.exp = now + config_.access_ttl_seconds;
  claims.ver = token_version;
  s.access_token = signer_.Sign(claims);
  s.expires_at = claims.exp;

  s.refresh_token = auth::NewRefreshToken();
  s.refresh_expires_at = now + config_.refresh_ttl_seconds;
  store::refresh_tokens::Insert(tx, store::RefreshTokenRecord{NewId("rtk_"),
                                                              auth::HashSecret(s.refresh_token),
                                                              family_id,
                                                              user_id,
                                                              workspace_id,
                                                              auth::UserAgentHash(meta.user_agent),
                                                              s.refresh_expires_at,
                                                              {},
                                                              {},
                                                              now});
  return s;
}

Session AuthService::Onboard(const OnboardingInput& in, const RequestMeta& meta) {
  std::string email = NormalizeEmail(in.email);
  if (in.workspace_name.empty() || in.workspace_name.size() > 100) {
    throw ValidationFailed("The workspace name is required (at most 100 characters).",
                           {{"workspaceName", "must be 1 to 100 characters"}});
  }
  std::string slug = in.workspace_slug ? *in.workspace_slug : SlugFromName(in.workspace_name);
  CheckSlug(slug);
  std::vector<std::string> hints{email, in.workspace_name};
  if (in.name) hints.push_back(*in.name);
  auth::CheckPasswordStrength(in.password, hints);
  // Hash outside the transaction: it is the slow part and holds no lock.
  std::string hash = auth::HashPassword(in.password, config_.hash_params);

  std::int64_t now = Now();
  return db_.WriteValue([&](store::Tx& tx) {
    if (store::users::FindByEmail(tx, email))
      throw Conflict("An account with this e-mail already exists.", "EMAIL_TAKEN");
    if (store::workspaces::FindBySlug(tx, slug)) throw Conflict("This workspace slug is taken.", "SLUG_TAKEN");
    store::UserRecord user;
    user.id = NewId("usr_");
    user.email = email;
    user.name = in.name;
    user.password_hash = hash;
    store::users::Insert(tx, user);
    store::WorkspaceRecord ws{NewId("wks_"), in.workspace_name, slug, "free"};
    store::workspaces::Insert(tx, ws);
    store::memberships::Add(tx, ws.id, user.id, "owner", now);
    Audit(tx, ws.id, user.id, "workspace.create", "success", meta);
    return Issue(tx, user.id, ws.id, ws.slug, "owner", 0, NewId("fam_"), meta, now);
  });
}

std::string AuthService::Register(std::string_view email_in, std::string_view password,
                                  const std::optional<std::string>& name, const RequestMeta& meta) {
  std::string email = NormalizeEmail(email_in);
  std::vector<std::string> hints{email};
  if (name) hints.push_back(*name);
  auth::CheckPasswordStrength(password, hints);
  std::string hash = auth::HashPassword(password, config_.hash_params);
  return db_.WriteValue([&](store::Tx& tx) {
    if (store::users::FindByEmail(tx, email))
      throw Conflict("An account with this e-mail already exists.", "EMAIL_TAKEN");
    store::UserRecord user;
    user.id = NewId("usr_");
    user.email = email;
    user.name = name;
    user.password_hash = hash;
    store::users::Insert(tx, user);
    Audit(tx, std::nullopt, user.id, "auth.register", "success", meta);
    return user.id;
  });
}

std::string AuthService::VerifyCredentials(std::string_view email_in, std::string_view password,
                                           const RequestMeta& meta) {
  // Per-IP limit first, before any hashing, so a flood cannot tie up the CPU.
  ratelimit::EnforceOrThrow(limiter_.Take(config_.login_per_ip, meta.ip, std::chrono::steady_clock::now()),
                            "Too many login attempts from this address.");
  std::string email;
  try {
    email = NormalizeEmail(email_in);
  } catch (const ValidationFailed&) {
    auth::VerifyDummy(password, config_.hash_params);
    InvalidCredentials();
  }
  auto user = db_.ReadValue([&](store::Tx& tx) { return store::users::FindByEmail(tx, email); });
  std::int64_t now = Now();
  if (!user || !user->password_hash || user->disabled) {
    auth::VerifyDummy(password, config_.hash_params);
    InvalidCredentials();
  }
  if (user->locked_until > now) {
    auth::VerifyDummy(password, config_.hash_params);  // same time as a real attempt
    db_.Write([&](store::Tx& tx) { Audit(tx, std::nullopt, user->id, "auth.login", "locked", meta); });
    InvalidCredentials();
  }
  auth::VerifyResult verdict = auth::VerifyPassword(password, *user->password_hash, config_.hash_params);
  if (verdict == auth::VerifyResult::kMismatch) {
    db_.Write([&](store::Tx& tx) {
      std::int64_t locked_until =
          store::users::RecordFailedLogin(tx, user->id, now, config_.max_failed_logins, config_.lockout_seconds);
      Audit(tx, std::nullopt, user->id, "auth.login", "failure", meta);
      if (locked_until > now) Audit(tx, std::nullopt, user->id, "auth.lockout", "locked", meta);
    });
    InvalidCredentials();
  }
  std::optional<std::string> new_hash;
  if (verdict == auth::VerifyResult::kMatchNeedsRehash) new_hash = auth::HashPassword(password, config_.hash_params);
  db_.Write([&](store::Tx& tx) {
    store::users::ResetFailedLogins(tx, user->id);
    if (new_hash) store::users::UpdatePasswordHash(tx, user->id, *new_hash);
  });
  return user->id;
}

Session AuthService::Login(std::string_view email_in, std::string_view password,
                           const std::optional<std::string>& workspace_id, const RequestMeta& meta) {
  std::string user_id = VerifyCredentials(email_in, password, meta);
  std::int64_t now = Now();
  return db_.WriteValue([&](store::Tx& tx) {
    auto user = store::users::FindById(tx, user_id);
    if (!user) InvalidCredentials();  // deleted in between
    auto memberships = store::workspaces::ListForUser(tx, user->id);
    const std::pair<store::WorkspaceRecord, std::string>* chosen = nullptr;
    for (const auto& m : memberships) {
      if (!workspace_id || m.first.id == *workspace_id) {
        chosen = &m;
        break;
      }
    }
    if (!chosen) {
      if (workspace_id) throw Forbidden("You are not a member of that workspace.", "NOT_A_MEMBER");
      throw Forbidden("This account does not belong to any workspace yet; accept an invitation first.", "NO_WORKSPACE");
    }
    Audit(tx, chosen->first.id, user->id, "auth.login", "success", meta);
    return Issue(tx, user->id, chosen->first.id, chosen->first.slug, chosen->second, user->token_version, NewId("fam_"),
                 meta, now);
  });
}

Session AuthService::Refresh(std::string_view refresh_token, const RequestMeta& meta) {
  if (refresh_token.empty() || refresh_token.size() > 128) InvalidRefresh();
  std::string hash = auth::HashSecret(refresh_token);
  std::int64_t now = Now();
  // The reuse case must commit its revocation before answering 401, so it is its own outcome.
  enum class Verdict { kOk, kInvalid } verdict = Verdict::kInvalid;
  Session session;
  db_.Write([&](store::Tx& tx) {
    store::ConsumeResult r = store::refresh_tokens::Consume(tx, hash, now);
    if (r.outcome == store::ConsumeOutcome::kReused) {
      store::refresh_tokens::RevokeFamily(tx, r.token->family_id, now);
      Audit(tx, r.token->workspace_id, r.token->user_id, "auth.refresh_reuse", "denied", meta,
            Json{{"family", r.token->family_id}}.dump());
      return;
    }
    if (r.outcome != store::ConsumeOutcome::kConsumed) return;
    const store::RefreshTokenRecord& t = *r.token;
    if (!auth::SecretHashEquals(t.user_agent_hash, auth::UserAgentHash(meta.user_agent))) {
      // A stolen token replayed from another client: treat like reuse.
      store::refresh_tokens::RevokeFamily(tx, t.family_id, now);
      Audit(tx, t.workspace_id, t.user_id, "auth.refresh_client_mismatch", "denied", meta);
      return;
    }
    auto user = store::users::FindById(tx, t.user_id);
    auto role = store::memberships::Role(tx, t.workspace_id, t.user_id);
    auto ws = store::workspaces::FindById(tx, t.workspace_id);
    if (!user || user->disabled || !role || !ws) return;
    session = Issue(tx, t.user_id, t.workspace_id, ws->slug, *role, user->token_version, t.family_id, meta, now);
    verdict = Verdict::kOk;
  });
  if (verdict != Verdict::kOk) InvalidRefresh();
  return session;
}

void AuthService::Logout(const Principal* principal, std::optional<std::string_view> refresh_token,
                         const RequestMeta& meta) {
  std::int64_t now = Now();
  db_.Write([&](store::Tx& tx) {
    std::optional<std::string> user_id = principal ? std::optional(principal->user_id) : std::nullopt;
    std::optional<std::string> workspace_id = principal ? std::optional(principal->workspace_id) : std::nullopt;
    if (refresh_token && !refresh_token->empty()) {
      store::ConsumeResult r = store::refresh_tokens::Consume(tx, auth::HashSecret(*refresh_token), now);
      if (r.token && (!user_id || *user_id == r.token->user_id)) {
        store::refresh_tokens::RevokeFamily(tx, r.token->family_id, now);
        user_id = r.token->user_id;
        workspace_id = r.token->workspace_id;
      }
    }
    if (!user_id) return;  // nothing identified: logging out is idempotent
    store::users::BumpTokenVersion(tx, *user_id);
    Audit(tx, workspace_id, user_id, "auth.logout", "success", meta);
  });
}

Principal AuthService::Authenticate(std::string_view bearer_token) {
  const std::int64_t now = Now();
  std::shared_ptr<const auth::AccessClaims> verified = verified_.Find(bearer_token, now);
  if (!verified) {
    verified = std::make_shared<const auth::AccessClaims>(signer_.Verify(bearer_token, now));
    verified_.Put(bearer_token, verified);
  }
  const auth::AccessClaims& claims = *verified;
  return db_.ReadValue([&](store::Tx& tx) {
    // One query per request while nothing changes; the account's own queries after a change.
    const std::int64_t epoch = store::identity_epoch::Current(tx);
    std::shared_ptr<const CachedAccount> account = accounts_.Find(claims.sub, epoch);
    if (!account) {
      auto user = store::users::FindById(tx, claims.sub);
      if (!user) throw Unauthorized("The access token has been revoked; sign in again.", "INVALID_TOKEN");
      user->password_hash.reset();
      account = std::make_shared<const CachedAccount>(
          CachedAccount{std::move(*user), store::workspaces::ListForUser(tx, claims.sub)});
      accounts_.Put(claims.sub, epoch, account);
    }
    const store::UserRecord& user = account->user;
    const std::string* role = account->RoleIn(claims.wid);
    if (user.disabled || user.token_version != claims.ver || role == nullptr) {
      throw Unauthorized("The access token has been revoked; sign in again.", "INVALID_TOKEN");
    }
    Principal p;
    p.user_id = claims.sub;
    p.workspace_id = claims.wid;
    p.role = *role;
    p.is_admin = user.is_admin;
    p.token_id = claims.jti;
    p.email = user.email;
    p.name = user.name;
    p.account = std::move(account);
    return p;
  });
}

void AuthService::RevokeAll(const Principal& p, const RequestMeta& meta) {
  std::int64_t now = Now();
  db_.Write([&](store::Tx& tx) {
    std::int64_t revoked = store::refresh_tokens::RevokeAllForUser(tx, p.user_id, now);
    store::users::BumpTokenVersion(tx, p.user_id);  // and every access token, this one included
    Audit(tx, p.workspace_id, p.user_id, "auth.revoke_all", "success", meta, Json{{"refreshTokens", revoked}}.dump());
  });
}

Session AuthService::ChangePassword(const Principal& p, std::string_view current, std::string_view next,
                                    const RequestMeta& meta) {
  auto user = db_.ReadValue([&](store::Tx& tx) { return store::users::FindById(tx, p.user_id); });
  if (!user || user->disabled) throw Unauthorized("The access token has been revoked; sign in again.", "INVALID_TOKEN");
  if (!user->password_hash ||
      auth::VerifyPassword(current, *user->password_hash, config_.hash_params) == auth::VerifyResult::kMismatch) {
    // Counted like a failed login: a stolen access token must not become a password oracle.
    std::int64_t now = Now();
    db_.Write([&](store::Tx& tx) {
      store::users::RecordFailedLogin(tx, p.user_id, now, config_.max_failed_logins, config_.lockout_seconds);
      Audit(tx, p.workspace_id, p.user_id, "auth.password_change", "failure", meta);
    });
    InvalidCredentials();
  }
  std::vector<std::string> hints{user->email};
  if (user->name) hints.push_back(*user->name);
  auth::CheckPasswordStrength(next, hints);
  std::string hash = auth::HashPassword(next, config_.hash_params);  // outside the transaction: slow

  std::int64_t now = Now();
  return db_.WriteValue([&](store::Tx& tx) {
    store::users::ChangePassword(tx, p.user_id, hash);  // bumps the version: old access tokens die
    store::refresh_tokens::RevokeAllForUser(tx, p.user_id, now);
    auto fresh = store::users::FindById(tx, p.user_id);
    auto role = store::memberships::Role(tx, p.workspace_id, p.user_id);
    auto ws = store::workspaces::FindById(tx, p.workspace_id);
    if (!fresh || !role || !ws)
      throw Unauthorized("The access token has been revoked; sign in again.", "INVALID_TOKEN");
    Audit(tx, p.workspace_id, p.user_id, "auth.password_change", "success", meta);
    return Issue(tx, p.user_id, ws->id, ws->slug, *role, fresh->token_version, NewId("fam_"), meta, now);
  });
}

Session AuthService::SwitchWorkspace(const Principal& p, std::string_view workspace_id, const RequestMeta& meta) {
  std::int64_t now = Now();
  return db_.WriteValue([&](store::Tx& tx) {
    auto role = store::memberships::Role(tx, workspace_id, p.user_id);
    std::optional<store::WorkspaceRecord> ws;
    if (role) ws = store::workspaces::FindById(tx, workspace_id);
    auto user = store::users::FindById(tx, p.user_id);
    // Same answer for "no such workspace" and "not yours", so ids cannot be probed.
    if (!role || !ws) throw NotFound("The workspace does not exist.");
    if (!user) throw Unauthorized("The access token has been revoked; sign in again.", "INVALID_TOKEN");
    Audit(tx, ws->id, p.user_id, "auth.switch_workspace", "success", meta, Json{{"from", p.workspace_id}}.dump());
    return Issue(tx, p.user_id, ws->id, ws->slug, *role, user->token_version, NewId("fam_"), meta, now);
  });
}

std::string AuthService::HashNewPassword(std::string_view password, const std::vector<std::string>& hints) const {
  auth::CheckPasswordStrength(password, hints);
  return auth::HashPassword(password, config_.hash_params);
}

Session AuthService::StartSession(store::Tx& tx, const std::string& user_id, const std::string& workspace_id,
                                  const RequestMeta& meta) {
  auto user = store::users::FindById(tx, user_id);
  auto role = store::memberships::Role(tx, workspace_id, user_id);
  auto ws = store::workspaces::FindById(tx, workspace_id);
  if (!user || !role || !ws) throw NotFound("The workspace does not exist.");
  return Issue(tx, user_id, workspace_id, ws->slug, *role, user->token_version, NewId("fam_"), meta, Now());
}

AccountView AuthService::Account(const Principal& p) {
  if (p.api_key) throw Forbidden("API keys have no account.", "API_KEY_NOT_ALLOWED");
  // Authenticate read the memberships in the same snapshot as the token check.
  if (p.account) return AccountView{p, p.email, p.name, p.account->workspaces};
  return db_.ReadValue([&](store::Tx& tx) {
    return AccountView{p, p.email, p.name, store::workspaces::ListForUser(tx, p.user_id)};
  });
}

}  // namespace studio::identity
