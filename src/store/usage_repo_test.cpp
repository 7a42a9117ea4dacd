// Usage counts on both backends: each number counts only its own workspace.

#include "store/usage_repo.hpp"

#include <string>

#include "store/audit_repo.hpp"
#include "store/invitations_repo.hpp"
#include "store/migrate.hpp"
#include "store/test_support.hpp"
#include "store/tokens_repo.hpp"
#include "store/users_repo.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::store::testing {
namespace {

constexpr std::int64_t kPeriodStart = 1'700'000'000;
constexpr std::int64_t kNow = kPeriodStart + 3600;

ApiKeyRecord Key(const std::string& id, const std::string& wid) {
  ApiKeyRecord k;
  k.id = id;
  k.workspace_id = wid;
  k.prefix = id.substr(id.size() - 8);
  k.key_hash = "hash_" + id;
  k.name = "k";
  k.role = "service";
  k.created_at = kPeriodStart - 10;
  return k;
}

InvitationRecord Invitation(const std::string& id, const std::string& wid, std::int64_t expires) {
  InvitationRecord i;
  i.id = id;
  i.workspace_id = wid;
  i.email = id + "@example.com";
  i.role = "member";
  i.token_hash = "hash_" + id;
  i.expires_at = expires;
  i.created_at = kPeriodStart;
  return i;
}

void Seed(Tx& tx) {
  for (const char* w : {"wks_a", "wks_b"}) workspaces::Insert(tx, WorkspaceRecord{w, w, w, "free"});
  for (const char* u : {"usr_1", "usr_2", "usr_3"}) {
    UserRecord user;
    user.id = u;
    user.email = std::string(u) + "@example.com";
    users::Insert(tx, user);
  }
  memberships::Add(tx, "wks_a", "usr_1", "owner", kPeriodStart);
  memberships::Add(tx, "wks_a", "usr_2", "member", kPeriodStart);
  memberships::Add(tx, "wks_a", "usr_3", "agent", kPeriodStart);
  memberships::Add(tx, "wks_b", "usr_1", "owner", kPeriodStart);

  // Prefixes are unique: each id ends in 8 distinct characters.
  for (const char* id : {"key_a0000001", "key_a0000002", "key_a0000003"}) api_keys::Insert(tx, Key(id, "wks_a"));
  api_keys::Insert(tx, Key("key_b0000001", "wks_b"));
  api_keys::TouchLastUsed(tx, "wks_a", "key_a0000001", kPeriodStart + 5);  // used this period
  api_keys::TouchLastUsed(tx, "wks_a", "key_a0000002", kPeriodStart - 5);  // used last period only
  EXPECT_TRUE(api_keys::Revoke(tx, "wks_a", "key_a0000003", kPeriodStart + 1));
  api_keys::TouchLastUsed(tx, "wks_b", "key_b0000001", kPeriodStart + 5);

  invitations::Insert(tx, Invitation("inv_1", "wks_a", kNow + 100));  // pending
  invitations::Insert(tx, Invitation("inv_2", "wks_a", kNow - 1));    // expired
  invitations::Insert(tx, Invitation("inv_3", "wks_a", kNow + 100));  // accepted below
  invitations::Insert(tx, Invitation("inv_4", "wks_b", kNow + 100));
  EXPECT_TRUE(invitations::MarkAccepted(tx, "wks_a", "inv_3", kNow - 10));

  AuditEvent e;
  e.action = "auth.login";
  e.outcome = "success";
  auto append = [&](const char* id, const char* wid, std::int64_t at_seconds) {
    e.id = id;
    e.workspace_id = wid;
    e.created_at_ms = at_seconds * 1000;
    audit::Append(tx, e);
  };
  append("aud_1", "wks_a", kPeriodStart);  // the first millisecond of the period counts
  append("aud_2", "wks_a", kPeriodStart + 9);
  append("aud_3", "wks_a", kPeriodStart - 1);  // before the period
  append("aud_4", "wks_b", kPeriodStart + 9);
}

TEST_P(StoreTest, UsageCountsOnlyTheWorkspace) {
  Migrate(db());
  db().Write(Seed);
  auto a = db().ReadValue([](Tx& tx) { return usage::ForWorkspace(tx, "wks_a", kPeriodStart, kNow); });
  EXPECT_EQ(a.owners, 1);
  EXPECT_EQ(a.members, 1);
  EXPECT_EQ(a.agents, 1);
  EXPECT_EQ(a.services, 0);
  EXPECT_EQ(a.MembersTotal(), 3);
  EXPECT_EQ(a.api_keys_active, 2);
  EXPECT_EQ(a.api_keys_revoked, 1);
  EXPECT_EQ(a.api_keys_used_in_period, 1);
  EXPECT_EQ(a.invitations_pending, 1);
  EXPECT_EQ(a.audit_events_in_period, 2);

  auto b = db().ReadValue([](Tx& tx) { return usage::ForWorkspace(tx, "wks_b", kPeriodStart, kNow); });
  EXPECT_EQ(b.MembersTotal(), 1);
  EXPECT_EQ(b.api_keys_active, 1);
  EXPECT_EQ(b.api_keys_revoked, 0);
  EXPECT_EQ(b.invitations_pending, 1);
  EXPECT_EQ(b.audit_events_in_period, 1);

  auto none = db().ReadValue([](Tx& tx) { return usage::ForWorkspace(tx, "wks_missing", kPeriodStart, kNow); });
  EXPECT_EQ(none.MembersTotal(), 0);
  EXPECT_EQ(none.api_keys_active, 0);
  EXPECT_EQ(none.api_keys_used_in_period, 0);
}

}  // namespace
}  // namespace studio::store::testing
