#include "store/tokens_repo.hpp"

namespace studio::store {
namespace {

constexpr Query kInsertToken{"refresh_tokens.insert",
                             "INSERT INTO refresh_tokens (id, token_hash, family_id, user_id, workspace_id, "
                             "user_agent_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"};
// The whole race is decided here: the row changes only while used_at and revoked_at are NULL.
constexpr Query kConsume{"refresh_tokens.consume",
                         "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL "
                         "AND revoked_at IS NULL AND expires_at > $2 RETURNING id, token_hash, family_id, user_id, "
                         "workspace_id, user_agent_hash, expires_at, used_at, revoked_at, created_at"};
constexpr Query kByHash{
    "refresh_tokens.by_hash",
    "SELECT id, token_hash, family_id, user_id, workspace_id, user_agent_hash, expires_at, used_at, "
    "revoked_at, created_at FROM refresh_tokens WHERE token_hash = $1"};
constexpr Query kRevokeFamily{"refresh_tokens.revoke_family",
                              "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL"};
constexpr Query kRevokeUser{"refresh_tokens.revoke_user",
                            "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL"};
constexpr Query kDeleteExpired{"refresh_tokens.delete_expired", "DELETE FROM refresh_tokens WHERE expires_at < $1"};

constexpr Query kInsertKey{"api_keys.insert",
                           "INSERT INTO api_keys (id, workspace_id, prefix, key_hash, name, role, scopes, created_by, "
                           "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"};
constexpr Query kKeyByPrefix{"api_keys.by_prefix",
                             "SELECT id, workspace_id, prefix, key_hash, name, role, scopes, created_by, created_at, "
                             "last_used_at, revoked_at FROM api_keys WHERE prefix = $1"};
constexpr Query kListKeys{"api_keys.list",
                          "SELECT id, workspace_id, prefix, key_hash, name, role, scopes, created_by, created_at, "
                          "last_used_at, revoked_at FROM api_keys WHERE workspace_id = $1 ORDER BY created_at, id"};
constexpr Query kRevokeKey{"api_keys.revoke",
                           "UPDATE api_keys SET revoked_at = $3 WHERE workspace_id = $1 AND id = $2 "
                           "AND revoked_at IS NULL"};
constexpr Query kTouchKey{"api_keys.touch",
                          "UPDATE api_keys SET last_used_at = $3 WHERE workspace_id = $1 AND id = $2"};

RefreshTokenRecord TokenFromRow(const Row& r) {
  RefreshTokenRecord t;
  t.id = r.GetString(0);
  t.token_hash = r.GetString(1);
  t.family_id = r.GetString(2);
  t.user_id = r.GetString(3);
  t.workspace_id = r.GetString(4);
  t.user_agent_hash = r.GetString(5);
  t.expires_at = r.GetInt(6);
  t.used_at = r.GetOptInt(7);
  t.revoked_at = r.GetOptInt(8);
  t.created_at = r.GetInt(9);
  return t;
}

ApiKeyRecord KeyFromRow(const Row& r) {
  ApiKeyRecord k;
  k.id = r.GetString(0);
  k.workspace_id = r.GetString(1);
  k.prefix = r.GetString(2);
  k.key_hash = r.GetString(3);
  k.name = r.GetString(4);
  k.role = r.GetString(5);
  k.scopes_json = r.GetString(6);
  k.created_by = r.GetOptString(7);
  k.created_at = r.GetInt(8);
  k.last_used_at = r.GetOptInt(9);
  k.revoked_at = r.GetOptInt(10);
  return k;
}

}  // namespace

namespace refresh_tokens {

void Insert(Tx& tx, const RefreshTokenRecord& t) {
  tx.Exec(kInsertToken,
          {t.id, t.token_hash, t.family_id, t.user_id, t.workspace_id, t.user_agent_hash, t.expires_at, t.created_at});
}

ConsumeResult Consume(Tx& tx, std::string_view token_hash, std::int64_t now) {
  Result consumed = tx.Exec(kConsume, {token_hash, now});
  if (!consumed.empty()) return {ConsumeOutcome::kConsumed, TokenFromRow(consumed.front())};
  Result existing = tx.Exec(kByHash, {token_hash});
  if (existing.empty()) return {ConsumeOutcome::kUnknown, std::nullopt};
  RefreshTokenRecord t = TokenFromRow(existing.front());
  if (t.used_at || t.revoked_at) return {ConsumeOutcome::kReused, std::move(t)};
  return {ConsumeOutcome::kExpired, std::move(t)};
}

std::int64_t RevokeFamily(Tx& tx, std::string_view family_id, std::int64_t now) {
  return tx.Exec(kRevokeFamily, {family_id, now}).affected();
}

std::int64_t RevokeAllForUser(Tx& tx, std::string_view user_id, std::int64_t now) {
  return tx.Exec(kRevokeUser, {user_id, now}).affected();
}

std::int64_t DeleteExpired(Tx& tx, std::int64_t before) { return tx.Exec(kDeleteExpired, {before}).affected(); }

}  // namespace refresh_tokens

namespace api_keys {

void Insert(Tx& tx, const ApiKeyRecord& k) {
  tx.Exec(kInsertKey,
          {k.id, k.workspace_id, k.prefix, k.key_hash, k.name, k.role, k.scopes_json, k.created_by, k.created_at});
}

std::optional<ApiKeyRecord> FindByPrefix(Tx& tx, std::string_view prefix) {
  Result r = tx.Exec(kKeyByPrefix, {prefix});
  if (r.empty()) return std::nullopt;
  return KeyFromRow(r.front());
}

std::vector<ApiKeyRecord> List(Tx& tx, std::string_view workspace_id) {
  std::vector<ApiKeyRecord> out;
  for (const Row& r : tx.Exec(kListKeys, {workspace_id})) out.push_back(KeyFromRow(r));
  return out;
}

bool Revoke(Tx& tx, std::string_view workspace_id, std::string_view key_id, std::int64_t now) {
  return tx.Exec(kRevokeKey, {workspace_id, key_id, now}).affected() > 0;
}

void TouchLastUsed(Tx& tx, std::string_view workspace_id, std::string_view key_id, std::int64_t now) {
  tx.Exec(kTouchKey, {workspace_id, key_id, now});
}

}  // namespace api_keys
}  // namespace studio::store
