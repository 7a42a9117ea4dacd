#pragma once
// Per-workspace API keys ("sk_<prefix>_<secret>"): issued once in clear, stored as a SHA-256 hash
// with the public prefix for lookup. HTTP-free; api/v1/api_key_routes.cpp and `studio admin` call it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "identity/auth_service.hpp"
#include "store/db.hpp"
#include "store/tokens_repo.hpp"

namespace studio::identity {

struct NewApiKeyInput {
  std::string name;                 // 1..100 characters
  std::string role = "service";     // owner | member | agent | service
  std::vector<std::string> scopes;  // each 1..64 of [a-z0-9:._-]; at most 32
};

/// The key as created: `secret` is the only time the full key exists outside the client.
struct IssuedApiKey {
  store::ApiKeyRecord record;
  std::string secret;
};

class ApiKeyService {
 public:
  explicit ApiKeyService(store::Db& db);

  /// 400 for an invalid name, role or scope. `created_by` is the user issuing it (nullopt from the
  /// CLI). The audit event is written in the same transaction.
  IssuedApiKey Create(std::string_view workspace_id, const NewApiKeyInput& input,
                      const std::optional<std::string>& created_by, const RequestMeta& meta);
  std::vector<store::ApiKeyRecord> List(std::string_view workspace_id);
  /// 404 when the key is not in this workspace or already revoked.
  void Revoke(std::string_view workspace_id, std::string_view key_id, const std::optional<std::string>& actor,
              const RequestMeta& meta);
  /// The principal of a presented key; 401 INVALID_API_KEY for a malformed, unknown, wrong or
  /// revoked key (one answer for all). Records the last-used time at most once a minute per key.
  Principal Authenticate(std::string_view key);

 private:
  store::Db& db_;
};

/// The request-independent checks of NewApiKeyInput (ValidationFailed naming the field).
void CheckApiKeyInput(const NewApiKeyInput& input);

}  // namespace studio::identity
