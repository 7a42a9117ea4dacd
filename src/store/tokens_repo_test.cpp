// Refresh tokens and API keys repositories on both backends.

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "store/migrate.hpp"
#include "store/test_support.hpp"
#include "store/tokens_repo.hpp"
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

RefreshTokenRecord Token(const std::string& id, const std::string& family, std::int64_t expires_at) {
  return RefreshTokenRecord{id, "hash_" + id, family, "usr_a", "wks_1", "ua", expires_at, {}, {}, kNow};
}

TEST_P(StoreTest, RefreshTokenIsConsumedOnceAndReuseIsRecognised) {
  Migrate(db());
  Seed(db());
  db().Write([](Tx& tx) {
    refresh_tokens::Insert(tx, Token("rt_1", "fam_1", kNow + 3600));
    refresh_tokens::Insert(tx, Token("rt_old", "fam_1", kNow - 1));
  });
  auto first = db().WriteValue([](Tx& tx) { return refresh_tokens::Consume(tx, "hash_rt_1", kNow); });
  EXPECT_EQ(first.outcome, ConsumeOutcome::kConsumed);
  ASSERT_TRUE(first.token.has_value());
  EXPECT_EQ(first.token->family_id, "fam_1");
  EXPECT_EQ(first.token->used_at, kNow);
  auto again = db().WriteValue([](Tx& tx) { return refresh_tokens::Consume(tx, "hash_rt_1", kNow + 1); });
  EXPECT_EQ(again.outcome, ConsumeOutcome::kReused);
  EXPECT_EQ(db().WriteValue([](Tx& tx) { return refresh_tokens::Consume(tx, "hash_rt_old", kNow); }).outcome,
            ConsumeOutcome::kExpired);
  EXPECT_EQ(db().WriteValue([](Tx& tx) { return refresh_tokens::Consume(tx, "hash_nope", kNow); }).outcome,
            ConsumeOutcome::kUnknown);
}

TEST_P(StoreTest, TwentyParallelRefreshesConsumeATokenExactlyOnce) {
  Migrate(db());
  Seed(db());
  db().Write([](Tx& tx) { refresh_tokens::Insert(tx, Token("rt_1", "fam_1", kNow + 3600)); });
  std::atomic<int> consumed{0}, reused{0}, failed{0};
  std::vector<std::thread> threads;
  threads.reserve(20);
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&] {
      try {
        auto r = db().WriteValue([](Tx& tx) { return refresh_tokens::Consume(tx, "hash_rt_1", kNow); });
        (r.outcome == ConsumeOutcome::kConsumed ? consumed : reused)++;
      } catch (const DbUnavailable&) {
        failed++;  // pool exhausted or busy: also not a second success
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(consumed.load(), 1);
  EXPECT_EQ(consumed + reused + failed, 20);
}

TEST_P(StoreTest, RevokingAFamilyKillsEveryLiveToken) {
  Migrate(db());
  Seed(db());
  db().Write([](Tx& tx) {
    refresh_tokens::Insert(tx, Token("rt_1", "fam_1", kNow + 3600));
    refresh_tokens::Insert(tx, Token("rt_2", "fam_1", kNow + 3600));
    refresh_tokens::Insert(tx, Token("rt_3", "fam_2", kNow + 3600));
  });
  EXPECT_EQ(db().WriteValue([](Tx& tx) { return refresh_tokens::RevokeFamily(tx, "fam_1", kNow); }), 2);
  EXPECT_EQ(db().WriteValue([](Tx& tx) { return refresh_tokens::Consume(tx, "hash_rt_2", kNow); }).outcome,
            ConsumeOutcome::kReused);
  EXPECT_EQ(db().WriteValue([](Tx& tx) { return refresh_tokens::RevokeAllForUser(tx, "usr_a", kNow); }), 1);
  EXPECT_EQ(db().WriteValue([](Tx& tx) { return refresh_tokens::DeleteExpired(tx, kNow + 7200); }), 3);
}

TEST_P(StoreTest, ApiKeysAreScopedToTheirWorkspace) {
  Migrate(db());
  Seed(db());
  db().Write([](Tx& tx) {
    api_keys::Insert(tx, ApiKeyRecord{"key_1",
                                      "wks_1",
                                      "abcd1234",
                                      "h1",
                                      "ci",
                                      "service",
                                      "[\"docs:read\"]",
                                      std::string("usr_a"),
                                      kNow,
                                      {},
                                      {}});
  });
  EXPECT_THROW(db().Write([](Tx& tx) {
    api_keys::Insert(tx, ApiKeyRecord{"key_2", "wks_2", "abcd1234", "h2", "x", "member", "[]", {}, kNow, {}, {}});
  }),
               ConstraintViolation);
  auto k = db().ReadValue([](Tx& tx) { return api_keys::FindByPrefix(tx, "abcd1234"); });
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->workspace_id, "wks_1");
  EXPECT_EQ(k->scopes_json, "[\"docs:read\"]");
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return api_keys::List(tx, "wks_2"); }).size(), 0u);
  // Another workspace cannot revoke it.
  EXPECT_FALSE(db().WriteValue([](Tx& tx) { return api_keys::Revoke(tx, "wks_2", "key_1", kNow); }));
  db().Write([](Tx& tx) { api_keys::TouchLastUsed(tx, "wks_1", "key_1", kNow + 5); });
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return api_keys::FindByPrefix(tx, "abcd1234"); })->last_used_at, kNow + 5);
  EXPECT_TRUE(db().WriteValue([](Tx& tx) { return api_keys::Revoke(tx, "wks_1", "key_1", kNow); }));
  EXPECT_FALSE(db().WriteValue([](Tx& tx) { return api_keys::Revoke(tx, "wks_1", "key_1", kNow); }));
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return api_keys::FindByPrefix(tx, "abcd1234"); })->revoked_at, kNow);
}

}  // namespace
}  // namespace studio::store::testing
