#pragma once
// Workspace invitations (table from migration 0002). Only the SHA-256 of the token is stored.
// Workspace-scoped functions take the workspace id first; the token lookup is the one exception,
// because the token is what identifies the workspace to someone not yet in it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/db.hpp"

namespace studio::store {

struct InvitationRecord {
  std::string id;
  std::string workspace_id;
  std::string email;  // lower-cased by the caller
  std::string role;
  std::string token_hash;  // never leaves the server
  std::optional<std::string> invited_by;
  std::int64_t expires_at = 0;  // Unix seconds
  std::optional<std::int64_t> accepted_at;
  std::int64_t created_at = 0;
};

namespace invitations {

void Insert(Tx& tx, const InvitationRecord& invitation);
/// Any invitation with this token hash, pending or not (the caller decides what is usable).
std::optional<InvitationRecord> FindByTokenHash(Tx& tx, std::string_view token_hash);
/// Not yet accepted and not expired at `now`, oldest first.
std::vector<InvitationRecord> ListPending(Tx& tx, std::string_view workspace_id, std::int64_t now);
/// Marks the invitation accepted if, and only if, it is still pending — one conditional UPDATE,
/// so of N concurrent acceptances exactly one returns true.
bool MarkAccepted(Tx& tx, std::string_view workspace_id, std::string_view id, std::int64_t now);
/// Deletes a not-yet-accepted invitation (accepted ones stay as history). False when there is
/// none in this workspace.
bool Revoke(Tx& tx, std::string_view workspace_id, std::string_view id);

}  // namespace invitations
}  // namespace studio::store
