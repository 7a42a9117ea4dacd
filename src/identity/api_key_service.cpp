#include "identity/api_key_service.hpp"

#include <algorithm>

#include "auth/secrets.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "identity/workspace_service.hpp"

namespace studio::identity {
namespace {

// Writing last_used_at on every request would turn each API call into a write transaction;
// a minute's resolution is what a "last used" column is read for.
constexpr std::int64_t kTouchEverySeconds = 60;

[[noreturn]] void InvalidKey() {
  Unauthorized e("The API key is not valid.", "INVALID_API_KEY");
  e.headers().emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
  throw e;
}

bool ValidScope(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' || c == '.' || c == '_' || c == '-' || c == '*';
  });
}

}  // namespace

void CheckApiKeyInput(const NewApiKeyInput& in) {
  if (in.name.empty() || in.name.size() > 100) {
    throw ValidationFailed("The key name is required (at most 100 characters).",
                           {{"name", "must be 1 to 100 characters"}});
  }
  CheckMemberRole(in.role);
  if (in.scopes.size() > 32) throw ValidationFailed("At most 32 scopes.", {{"scopes", "at most 32"}});
  for (const auto& s : in.scopes) {
    if (!ValidScope(s)) {
      throw ValidationFailed("A scope is 1 to 64 of a-z, 0-9, ':', '.', '_', '-' and '*'.",
                             {{"scopes", "invalid scope"}});
    }
  }
}

ApiKeyService::ApiKeyService(store::Db& db) : db_(db) {}

IssuedApiKey ApiKeyService::Create(std::string_view workspace_id, const NewApiKeyInput& in,
                                   const std::optional<std::string>& created_by, const RequestMeta& meta) {
  CheckApiKeyInput(in);
  auth::ApiKey key = auth::NewApiKey();
  IssuedApiKey out;
  out.secret = key.full;
  out.record.id = NewId("key_");
  out.record.workspace_id = std::string(workspace_id);
  out.record.prefix = key.prefix;
  out.record.key_hash = key.hash;
  out.record.name = in.name;
  out.record.role = in.role;
  out.record.scopes_json = Json(in.scopes).dump();
  out.record.created_by = created_by;
  out.record.created_at = AuthService::Now();
  db_.Write([&](store::Tx& tx) {
    if (!store::workspaces::FindById(tx, workspace_id)) throw NotFound("The workspace does not exist.");
    store::api_keys::Insert(tx, out.record);
    AppendAudit(tx, out.record.workspace_id, created_by, "api_key.create", "success", meta,
                Json{{"keyId", out.record.id}, {"prefix", key.prefix}, {"role", in.role}}.dump());
  });
  return out;
}

std::vector<store::ApiKeyRecord> ApiKeyService::List(std::string_view workspace_id) {
  return db_.ReadValue([&](store::Tx& tx) { return store::api_keys::List(tx, workspace_id); });
}

void ApiKeyService::Revoke(std::string_view workspace_id, std::string_view key_id,
                           const std::optional<std::string>& actor, const RequestMeta& meta) {
  db_.Write([&](store::Tx& tx) {
    if (!store::api_keys::Revoke(tx, workspace_id, key_id, AuthService::Now())) {
      throw NotFound("The API key does not exist.", "API_KEY_NOT_FOUND");
    }
    AppendAudit(tx, std::string(workspace_id), actor, "api_key.revoke", "success", meta,
                Json{{"keyId", key_id}}.dump());
  });
}

Principal ApiKeyService::Authenticate(std::string_view presented) {
  auto prefix = auth::ApiKeyPrefix(presented);
  if (!prefix) InvalidKey();
  auto key = db_.ReadValue([&](store::Tx& tx) { return store::api_keys::FindByPrefix(tx, *prefix); });
  if (!key || key->revoked_at || !auth::SecretHashEquals(auth::HashSecret(presented), key->key_hash)) InvalidKey();
  std::int64_t now = AuthService::Now();
  if (!key->last_used_at || now - *key->last_used_at >= kTouchEverySeconds) {
    db_.Write([&](store::Tx& tx) { store::api_keys::TouchLastUsed(tx, key->workspace_id, key->id, now); });
  }
  Principal p;
  p.user_id = key->created_by.value_or("");
  p.workspace_id = key->workspace_id;
  p.role = key->role;
  p.token_id = key->id;
  p.api_key = true;
  for (const auto& s : Json::parse(key->scopes_json)) p.scopes.push_back(s.get<std::string>());
  return p;
}

}  // namespace studio::identity
