#pragma once
// Refresh-token families and API keys (migration 0002). Only hashes of the secrets are stored.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/db.hpp"

namespace studio::store {

struct RefreshTokenRecord {
  std::string id;
  std::string token_hash;
  std::string family_id;
  std::string user_id;
  std::string workspace_id;
  std::string user_agent_hash;
  std::int64_t expires_at = 0;  // Unix seconds
  std::optional<std::int64_t> used_at;
  std::optional<std::int64_t> revoked_at;
  std::int64_t created_at = 0;
};

/// What happened when a refresh token was presented.
enum class ConsumeOutcome {
  kConsumed,  // it was live and is now used: issue its successor in the same transaction
  kReused,    // it had been used (or revoked) before: a replay — revoke the family
  kExpired,
  kUnknown,
};

struct ConsumeResult {
  ConsumeOutcome outcome = ConsumeOutcome::kUnknown;
  std::optional<RefreshTokenRecord> token;  // set unless kUnknown
};

struct ApiKeyRecord {
  std::string id;
  std::string workspace_id;
  std::string prefix;
  std::string key_hash;  // never leaves the server
  std::string name;
  std::string role;
  std::string scopes_json = "[]";
  std::optional<std::string> created_by;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> last_used_at;
  std::optional<std::int64_t> revoked_at;
};

namespace refresh_tokens {

void Insert(Tx& tx, const RefreshTokenRecord& token);
/// Marks the token used if, and only if, it is live — one conditional UPDATE, so of N
/// concurrent presentations of one token exactly one gets kConsumed.
ConsumeResult Consume(Tx& tx, std::string_view token_hash, std::int64_t now);
/// Revokes every live token of the family; returns how many.
std::int64_t RevokeFamily(Tx& tx, std::string_view family_id, std::int64_t now);
/// Revokes every live token of the user (logout-all, password change).
std::int64_t RevokeAllForUser(Tx& tx, std::string_view user_id, std::int64_t now);
/// Deletes tokens that expired before `before`; returns how many.
std::int64_t DeleteExpired(Tx& tx, std::int64_t before);

}  // namespace refresh_tokens

namespace api_keys {

void Insert(Tx& tx, const ApiKeyRecord& key);
/// Looks a key up by its public prefix (any workspace: the caller then checks the hash and that
/// the key's workspace is the one addressed).
std::optional<ApiKeyRecord> FindByPrefix(Tx& tx, std::string_view prefix);
std::vector<ApiKeyRecord> List(Tx& tx, std::string_view workspace_id);
/// False when the key is not in this workspace or already revoked.
bool Revoke(Tx& tx, std::string_view workspace_id, std::string_view key_id, std::int64_t now);
void TouchLastUsed(Tx& tx, std::string_view workspace_id, std::string_view key_id, std::int64_t now);

}  // namespace api_keys
}  // namespace studio::store
