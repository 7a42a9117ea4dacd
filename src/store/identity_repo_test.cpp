// Users, workspaces and memberships repositories on both backends.

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "store/identity_epoch_repo.hpp"
#include "store/migrate.hpp"
#include "store/test_support.hpp"
#include "store/users_repo.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::store::testing {
namespace {

UserRecord User(const std::string& id, const std::string& email) {
  UserRecord u;
  u.id = id;
  u.email = email;
  u.name = "Name " + id;
  u.password_hash = "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA";
  return u;
}

TEST_P(StoreTest, UsersInsertFindAndUniqueEmail) {
  Migrate(db());
  db().Write([](Tx& tx) { users::Insert(tx, User("usr_1", "a@example.com")); });
  auto u = db().ReadValue([](Tx& tx) { return users::FindByEmail(tx, "a@example.com"); });
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->id, "usr_1");
  EXPECT_EQ(u->name, "Name usr_1");
  EXPECT_FALSE(u->is_admin);
  EXPECT_EQ(u->token_version, 0);
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return users::FindById(tx, "usr_missing"); }).has_value());
  try {
    db().Write([](Tx& tx) { users::Insert(tx, User("usr_2", "a@example.com")); });
    FAIL() << "duplicate email accepted";
  } catch (const ConstraintViolation& e) {
    EXPECT_EQ(e.kind(), ConstraintKind::kUnique);
  }
  db().Write([](Tx& tx) { users::SetAdmin(tx, "usr_1", true); });
  EXPECT_TRUE(db().ReadValue([](Tx& tx) { return users::FindById(tx, "usr_1"); })->is_admin);
  db().Write([](Tx& tx) { users::SetAdmin(tx, "usr_1", false); });  // `studio admin grant-admin --revoke`
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return users::FindById(tx, "usr_1"); })->is_admin);
}

TEST_P(StoreTest, PasswordChangeBumpsTokenVersionButRehashDoesNot) {
  Migrate(db());
  db().Write([](Tx& tx) { users::Insert(tx, User("usr_1", "a@example.com")); });
  db().Write([](Tx& tx) { users::UpdatePasswordHash(tx, "usr_1", "rehashed"); });
  auto u = db().ReadValue([](Tx& tx) { return users::FindById(tx, "usr_1"); });
  EXPECT_EQ(u->password_hash, "rehashed");
  EXPECT_EQ(u->token_version, 0);
  db().Write([](Tx& tx) { users::ChangePassword(tx, "usr_1", "changed"); });
  db().Write([](Tx& tx) { users::BumpTokenVersion(tx, "usr_1"); });
  u = db().ReadValue([](Tx& tx) { return users::FindById(tx, "usr_1"); });
  EXPECT_EQ(u->password_hash, "changed");
  EXPECT_EQ(u->token_version, 2);
}

TEST_P(StoreTest, FailedLoginsLockAtTheThresholdEvenWhenConcurrent) {
  Migrate(db());
  db().Write([](Tx& tx) { users::Insert(tx, User("usr_1", "a@example.com")); });
  const std::int64_t now = 1'800'000'000;
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(db().WriteValue([&](Tx& tx) { return users::RecordFailedLogin(tx, "usr_1", now, 5, 900); }), 0);
  }
  EXPECT_EQ(db().WriteValue([&](Tx& tx) { return users::RecordFailedLogin(tx, "usr_1", now, 5, 900); }), now + 900);
  auto u = db().ReadValue([](Tx& tx) { return users::FindById(tx, "usr_1"); });
  EXPECT_EQ(u->locked_until, now + 900);
  EXPECT_EQ(u->failed_logins, 0);
  db().Write([](Tx& tx) { users::ResetFailedLogins(tx, "usr_1"); });
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return users::FindById(tx, "usr_1"); })->locked_until, 0);

  // Ten concurrent failures against a threshold of 5 lock the account exactly twice over:
  // no failure is lost to a read-modify-write race.
  std::vector<std::thread> threads;
  threads.reserve(10);
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&] { db().Write([&](Tx& tx) { users::RecordFailedLogin(tx, "usr_1", now, 5, 900); }); });
  }
  for (auto& t : threads) t.join();
  u = db().ReadValue([](Tx& tx) { return users::FindById(tx, "usr_1"); });
  EXPECT_EQ(u->failed_logins, 0);
  EXPECT_EQ(u->locked_until, now + 900);
}

TEST_P(StoreTest, WorkspacesAndMemberships) {
  Migrate(db());
  db().Write([](Tx& tx) {
    users::Insert(tx, User("usr_a", "a@example.com"));
    users::Insert(tx, User("usr_b", "b@example.com"));
    workspaces::Insert(tx, {"wks_1", "Acme", "acme", "free"});
    workspaces::Insert(tx, {"wks_2", "Beta", "beta", "pro"});
    memberships::Add(tx, "wks_1", "usr_a", "owner", 100);
    memberships::Add(tx, "wks_1", "usr_b", "member", 200);
    memberships::Add(tx, "wks_2", "usr_a", "member", 300);
  });
  EXPECT_THROW(db().Write([](Tx& tx) {
    workspaces::Insert(tx, {"wks_3", "Dup", "acme", "free"});
  }),
               ConstraintViolation);
  EXPECT_THROW(db().Write([](Tx& tx) { memberships::Add(tx, "wks_1", "usr_a", "member", 1); }), ConstraintViolation);
  try {
    db().Write([](Tx& tx) { memberships::Add(tx, "wks_missing", "usr_a", "member", 1); });
    FAIL() << "membership of a missing workspace accepted";
  } catch (const ConstraintViolation& e) {
    EXPECT_EQ(e.kind(), ConstraintKind::kForeignKey);
  }

  auto mine = db().ReadValue([](Tx& tx) { return workspaces::ListForUser(tx, "usr_a"); });
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].first.slug, "acme");
  EXPECT_EQ(mine[0].second, "owner");
  EXPECT_EQ(mine[1].first.plan, "pro");
  EXPECT_EQ(mine[1].second, "member");

  EXPECT_EQ(db().ReadValue([](Tx& tx) { return memberships::Role(tx, "wks_1", "usr_b"); }), "member");
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return memberships::Role(tx, "wks_2", "usr_b"); }), std::nullopt);
  auto members = db().ReadValue([](Tx& tx) { return memberships::List(tx, "wks_1"); });
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[1].email, "b@example.com");
  EXPECT_EQ(members[1].joined_at, 200);
  EXPECT_EQ(db().WriteValue([](Tx& tx) { return memberships::CountOwnersForUpdate(tx, "wks_1"); }), 1);

  EXPECT_TRUE(db().WriteValue([](Tx& tx) { return memberships::SetRole(tx, "wks_1", "usr_b", "owner"); }));
  EXPECT_EQ(db().WriteValue([](Tx& tx) { return memberships::CountOwnersForUpdate(tx, "wks_1"); }), 2);
  EXPECT_FALSE(db().WriteValue([](Tx& tx) { return memberships::SetRole(tx, "wks_2", "usr_b", "owner"); }));
  EXPECT_TRUE(db().WriteValue([](Tx& tx) { return memberships::Remove(tx, "wks_1", "usr_b"); }));
  EXPECT_FALSE(db().WriteValue([](Tx& tx) { return memberships::Remove(tx, "wks_1", "usr_b"); }));

  EXPECT_TRUE(db().WriteValue([](Tx& tx) { return workspaces::Rename(tx, "wks_1", "Acme Inc"); }));
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return workspaces::FindBySlug(tx, "acme"); })->name, "Acme Inc");
  EXPECT_TRUE(db().WriteValue([](Tx& tx) { return workspaces::Delete(tx, "wks_1"); }));
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return memberships::Role(tx, "wks_1", "usr_a"); }), std::nullopt);
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return workspaces::ListForUser(tx, "usr_a"); }).size(), 1u);
}

// Every change that decides access moves the epoch (so cached accounts die); logins do not.
TEST_P(StoreTest, IdentityEpochMovesOnAccessChangesOnly) {
  Migrate(db());
  auto epoch = [&] { return db().ReadValue([](Tx& tx) { return identity_epoch::Current(tx); }); };
  auto moves = [&](const std::function<void(Tx&)>& change) {
    const std::int64_t before = epoch();
    db().Write(change);
    return epoch() > before;
  };
  db().Write([](Tx& tx) {
    users::Insert(tx, User("usr_a", "a@example.com"));
    workspaces::Insert(tx, {"wks_1", "Acme", "acme", "free"});
  });
  EXPECT_TRUE(moves([](Tx& tx) { memberships::Add(tx, "wks_1", "usr_a", "owner", 1); }));
  EXPECT_TRUE(moves([](Tx& tx) { memberships::SetRole(tx, "wks_1", "usr_a", "member"); }));
  EXPECT_TRUE(moves([](Tx& tx) { users::BumpTokenVersion(tx, "usr_a"); }));
  EXPECT_TRUE(moves([](Tx& tx) { users::SetAdmin(tx, "usr_a", true); }));
  EXPECT_TRUE(moves([](Tx& tx) { workspaces::Rename(tx, "wks_1", "Acme Inc"); }));
  EXPECT_FALSE(moves([](Tx& tx) { users::RecordFailedLogin(tx, "usr_a", 100, 5, 900); }));
  EXPECT_FALSE(moves([](Tx& tx) { users::ResetFailedLogins(tx, "usr_a"); }));
  EXPECT_FALSE(moves([](Tx& tx) { users::UpdatePasswordHash(tx, "usr_a", "$argon2id$new"); }));
  EXPECT_TRUE(moves([](Tx& tx) { memberships::Remove(tx, "wks_1", "usr_a"); }));
  EXPECT_TRUE(moves([](Tx& tx) { workspaces::Delete(tx, "wks_1"); }));
}

TEST_P(StoreTest, MembershipRoleIsConstrained) {
  Migrate(db());
  db().Write([](Tx& tx) {
    users::Insert(tx, User("usr_a", "a@example.com"));
    workspaces::Insert(tx, {"wks_1", "Acme", "acme", "free"});
  });
  EXPECT_ANY_THROW(db().Write([](Tx& tx) { memberships::Add(tx, "wks_1", "usr_a", "superuser", 1); }));
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return memberships::Role(tx, "wks_1", "usr_a"); }), std::nullopt);
}

}  // namespace
}  // namespace studio::store::testing
