// Webhook endpoints repository on both backends.

#include <string>

#include "store/migrate.hpp"
#include "store/test_support.hpp"
#include "store/webhooks_repo.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::store::testing {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;

void Seed(Db& db) {
  db.Write([](Tx& tx) {
    workspaces::Insert(tx, {"wks_1", "Acme", "acme", "free"});
    workspaces::Insert(tx, {"wks_2", "Beta", "beta", "free"});
  });
}

WebhookRecord Hook(const std::string& workspace, const std::string& secret) {
  return WebhookRecord{workspace, "https://hooks.example.com/" + workspace, secret, R"(["document.ready"])", kNow,
                       kNow};
}

TEST_P(StoreTest, WebhookIsCreatedOnceAndFoundOnlyInItsWorkspace) {
  Migrate(db());
  Seed(db());
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return webhooks::Find(tx, "wks_1"); }).has_value());
  EXPECT_TRUE(db().WriteValue([](Tx& tx) { return webhooks::Insert(tx, Hook("wks_1", "whsec_first")); }));
  // A second insert changes nothing: the first secret stays the valid one.
  EXPECT_FALSE(db().WriteValue([](Tx& tx) {
    auto again = Hook("wks_1", "whsec_second");
    again.url = "https://elsewhere.example.com/";
    return webhooks::Insert(tx, again);
  }));
  auto found = db().ReadValue([](Tx& tx) { return webhooks::Find(tx, "wks_1"); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->workspace_id, "wks_1");
  EXPECT_EQ(found->url, "https://hooks.example.com/wks_1");
  EXPECT_EQ(found->secret, "whsec_first");
  EXPECT_EQ(found->events_json, R"(["document.ready"])");
  EXPECT_EQ(found->created_at_ms, kNow);
  EXPECT_EQ(found->updated_at_ms, kNow);
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return webhooks::Find(tx, "wks_2"); }).has_value());
  // A workspace that does not exist cannot have one.
  EXPECT_THROW(db().Write([](Tx& tx) { webhooks::Insert(tx, Hook("wks_nope", "whsec_x")); }), ConstraintViolation);
}

TEST_P(StoreTest, WebhookUpdateKeepsOrRotatesTheSecret) {
  Migrate(db());
  Seed(db());
  db().Write([](Tx& tx) { webhooks::Insert(tx, Hook("wks_1", "whsec_first")); });
  EXPECT_TRUE(db().WriteValue([](Tx& tx) {
    return webhooks::Update(tx, "wks_1", "https://new.example.com/h", R"(["document.failed"])", std::nullopt, kNow + 5);
  }));
  auto kept = db().ReadValue([](Tx& tx) { return webhooks::Find(tx, "wks_1"); });
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->url, "https://new.example.com/h");
  EXPECT_EQ(kept->events_json, R"(["document.failed"])");
  EXPECT_EQ(kept->secret, "whsec_first");
  EXPECT_EQ(kept->created_at_ms, kNow);
  EXPECT_EQ(kept->updated_at_ms, kNow + 5);

  EXPECT_TRUE(db().WriteValue([](Tx& tx) {
    return webhooks::Update(tx, "wks_1", "https://new.example.com/h", "[]", std::string("whsec_rotated"), kNow + 9);
  }));
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return webhooks::Find(tx, "wks_1"); })->secret, "whsec_rotated");
  // Another workspace's endpoint is not there to update.
  EXPECT_FALSE(db().WriteValue(
      [](Tx& tx) { return webhooks::Update(tx, "wks_2", "https://x.example.com/", "[]", std::nullopt, kNow); }));
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return webhooks::Find(tx, "wks_2"); }).has_value());
}

TEST_P(StoreTest, WebhookDeleteAndWorkspaceCascade) {
  Migrate(db());
  Seed(db());
  db().Write([](Tx& tx) {
    webhooks::Insert(tx, Hook("wks_1", "whsec_1"));
    webhooks::Insert(tx, Hook("wks_2", "whsec_2"));
  });
  EXPECT_FALSE(db().WriteValue([](Tx& tx) { return webhooks::Delete(tx, "wks_nope"); }));
  EXPECT_TRUE(db().WriteValue([](Tx& tx) { return webhooks::Delete(tx, "wks_1"); }));
  EXPECT_FALSE(db().WriteValue([](Tx& tx) { return webhooks::Delete(tx, "wks_1"); }));
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return webhooks::Find(tx, "wks_1"); }).has_value());
  EXPECT_TRUE(db().ReadValue([](Tx& tx) { return webhooks::Find(tx, "wks_2"); }).has_value());
  // Deleting the workspace deletes its endpoint (and its secret) with it.
  db().Write([](Tx& tx) { workspaces::Delete(tx, "wks_2"); });
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return webhooks::Find(tx, "wks_2"); }).has_value());
}

}  // namespace
}  // namespace studio::store::testing
