#include "store/invitations_repo.hpp"

namespace studio::store {
namespace {

constexpr Query kInsert{"invitations.insert",
                        "INSERT INTO invitations (id, workspace_id, email, role, token_hash, invited_by, expires_at, "
                        "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"};
constexpr Query kByHash{"invitations.by_token_hash",
                        "SELECT id, workspace_id, email, role, token_hash, invited_by, expires_at, accepted_at, "
                        "created_at FROM invitations WHERE token_hash = $1"};
constexpr Query kPending{"invitations.list_pending",
                         "SELECT id, workspace_id, email, role, token_hash, invited_by, expires_at, accepted_at, "
                         "created_at FROM invitations WHERE workspace_id = $1 AND accepted_at IS NULL "
                         "AND expires_at > $2 ORDER BY created_at, id"};
// The whole race is decided here: the row changes only while it is still pending.
constexpr Query kAccept{"invitations.accept",
                        "UPDATE invitations SET accepted_at = $3 WHERE workspace_id = $1 AND id = $2 "
                        "AND accepted_at IS NULL AND expires_at > $3"};
constexpr Query kRevoke{"invitations.revoke",
                        "DELETE FROM invitations WHERE workspace_id = $1 AND id = $2 AND accepted_at IS NULL"};

InvitationRecord FromRow(const Row& r) {
  InvitationRecord i;
  i.id = r.GetString(0);
  i.workspace_id = r.GetString(1);
  i.email = r.GetString(2);
  i.role = r.GetString(3);
  i.token_hash = r.GetString(4);
  i.invited_by = r.GetOptString(5);
  i.expires_at = r.GetInt(6);
  i.accepted_at = r.GetOptInt(7);
  i.created_at = r.GetInt(8);
  return i;
}

}  // namespace

namespace invitations {

void Insert(Tx& tx, const InvitationRecord& i) {
  tx.Exec(kInsert, {i.id, i.workspace_id, i.email, i.role, i.token_hash, i.invited_by, i.expires_at, i.created_at});
}

std::optional<InvitationRecord> FindByTokenHash(Tx& tx, std::string_view token_hash) {
  Result r = tx.Exec(kByHash, {token_hash});
  if (r.empty()) return std::nullopt;
  return FromRow(r.front());
}

std::vector<InvitationRecord> ListPending(Tx& tx, std::string_view workspace_id, std::int64_t now) {
  std::vector<InvitationRecord> out;
  for (const Row& r : tx.Exec(kPending, {workspace_id, now})) out.push_back(FromRow(r));
  return out;
}

bool MarkAccepted(Tx& tx, std::string_view workspace_id, std::string_view id, std::int64_t now) {
  return tx.Exec(kAccept, {workspace_id, id, now}).affected() > 0;
}

bool Revoke(Tx& tx, std::string_view workspace_id, std::string_view id) {
  return tx.Exec(kRevoke, {workspace_id, id}).affected() > 0;
}

}  // namespace invitations
}  // namespace studio::store
