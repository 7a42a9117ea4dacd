// Invitations repository on both backends.

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "store/invitations_repo.hpp"
#include "store/migrate.hpp"
#include "store/test_support.hpp"
#include "store/users_repo.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::store::testing {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;

void Seed(Db& db) {
  db.Write([](Tx& tx) {
    UserRecord u;
    u.id = "usr_a";
    u.email = "a@example.com";
    users::Insert(tx, u);
    workspaces::Insert(tx, {"wks_1", "Acme", "acme", "free"});
    workspaces::Insert(tx, {"wks_2", "Beta", "beta", "free"});
  });
}

InvitationRecord Invitation(const std::string& id, const std::string& workspace, std::int64_t expires_at) {
  return InvitationRecord{
      id, workspace, id + "@example.com", "member", "hash_" + id, std::string("usr_a"), expires_at, std::nullopt, kNow};
}

TEST_P(StoreTest, InvitationsInsertFindAndListPending) {
  Migrate(db());
  Seed(db());
  db().Write([](Tx& tx) {
    invitations::Insert(tx, Invitation("inv_1", "wks_1", kNow + 3600));
    invitations::Insert(tx, Invitation("inv_old", "wks_1", kNow - 1));
    invitations::Insert(tx, Invitation("inv_b", "wks_2", kNow + 3600));
  });
  auto found = db().ReadValue([](Tx& tx) { return invitations::FindByTokenHash(tx, "hash_inv_1"); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->workspace_id, "wks_1");
  EXPECT_EQ(found->email, "inv_1@example.com");
  EXPECT_EQ(found->invited_by, "usr_a");
  EXPECT_FALSE(found->accepted_at.has_value());
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return invitations::FindByTokenHash(tx, "hash_nope"); }).has_value());
  // The expired one and the other workspace's are not pending here.
  auto pending = db().ReadValue([](Tx& tx) { return invitations::ListPending(tx, "wks_1", kNow); });
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].id, "inv_1");
  // A token hash is unique.
  EXPECT_THROW(db().Write([](Tx& tx) {
    auto dup = Invitation("inv_2", "wks_2", kNow + 3600);
    dup.token_hash = "hash_inv_1";
    invitations::Insert(tx, dup);
  }),
               ConstraintViolation);
}

TEST_P(StoreTest, InvitationIsAcceptedOnceAndNeverWhenExpiredOrForeign) {
  Migrate(db());
  Seed(db());
  db().Write([](Tx& tx) {
    invitations::Insert(tx, Invitation("inv_1", "wks_1", kNow + 3600));
    invitations::Insert(tx, Invitation("inv_old", "wks_1", kNow - 1));
  });
  // Another workspace cannot accept it.
  EXPECT_FALSE(db().WriteValue([](Tx& tx) { return invitations::MarkAccepted(tx, "wks_2", "inv_1", kNow); }));
  EXPECT_TRUE(db().WriteValue([](Tx& tx) { return invitations::MarkAccepted(tx, "wks_1", "inv_1", kNow); }));
  EXPECT_FALSE(db().WriteValue([](Tx& tx) { return invitations::MarkAccepted(tx, "wks_1", "inv_1", kNow + 1); }));
  EXPECT_FALSE(db().WriteValue([](Tx& tx) { return invitations::MarkAccepted(tx, "wks_1", "inv_old", kNow); }));
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return invitations::FindByTokenHash(tx, "hash_inv_1"); })->accepted_at, kNow);
  EXPECT_TRUE(db().ReadValue([](Tx& tx) { return invitations::ListPending(tx, "wks_1", kNow); }).empty());
}

TEST_P(StoreTest, TwentyParallelAcceptancesOfOneInvitationSucceedExactlyOnce) {
  Migrate(db());
  Seed(db());
  db().Write([](Tx& tx) { invitations::Insert(tx, Invitation("inv_1", "wks_1", kNow + 3600)); });
  std::atomic<int> accepted{0}, refused{0}, failed{0};
  std::vector<std::thread> threads;
  threads.reserve(20);
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&] {
      try {
        bool ok = db().WriteValue([](Tx& tx) { return invitations::MarkAccepted(tx, "wks_1", "inv_1", kNow); });
        (ok ? accepted : refused)++;
      } catch (const DbUnavailable&) {
        failed++;  // pool exhausted or busy: also not a second success
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 1);
  EXPECT_EQ(accepted + refused + failed, 20);
}

TEST_P(StoreTest, InvitationRevokeIsScopedAndKeepsAcceptedOnes) {
  Migrate(db());
  Seed(db());
  db().Write([](Tx& tx) {
    invitations::Insert(tx, Invitation("inv_1", "wks_1", kNow + 3600));
    invitations::Insert(tx, Invitation("inv_2", "wks_1", kNow + 3600));
  });
  EXPECT_FALSE(db().WriteValue([](Tx& tx) { return invitations::Revoke(tx, "wks_2", "inv_1"); }));
  EXPECT_TRUE(db().WriteValue([](Tx& tx) { return invitations::Revoke(tx, "wks_1", "inv_1"); }));
  EXPECT_FALSE(db().WriteValue([](Tx& tx) { return invitations::Revoke(tx, "wks_1", "inv_1"); }));
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return invitations::FindByTokenHash(tx, "hash_inv_1"); }).has_value());
  EXPECT_TRUE(db().WriteValue([](Tx& tx) { return invitations::MarkAccepted(tx, "wks_1", "inv_2", kNow); }));
  EXPECT_FALSE(db().WriteValue([](Tx& tx) { return invitations::Revoke(tx, "wks_1", "inv_2"); }));
  // Deleting the workspace takes its invitations with it.
  db().Write([](Tx& tx) { workspaces::Delete(tx, "wks_1"); });
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return invitations::FindByTokenHash(tx, "hash_inv_2"); }).has_value());
}

}  // namespace
}  // namespace studio::store::testing
