// Audit log repository on both backends.

#include "store/audit_repo.hpp"

#include <string>
#include <vector>

#include "store/migrate.hpp"
#include "store/test_support.hpp"
#include "store/users_repo.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::store::testing {
namespace {

AuditEvent Event(const std::string& id, const std::string& wid, std::int64_t at) {
  AuditEvent e;
  e.id = id;
  e.workspace_id = wid;
  e.actor_id = "usr_a";
  e.action = "auth.login";
  e.outcome = "success";
  e.ip = "203.0.113.7";
  e.request_id = "req_1";
  e.details_json = R"({"method":"password"})";
  e.created_at_ms = at;
  return e;
}

TEST_P(StoreTest, AuditLogPagesNewestFirstPerWorkspace) {
  Migrate(db());
  db().Write([](Tx& tx) {
    audit::Append(tx, Event("aud_1", "wks_1", 1000));
    audit::Append(tx, Event("aud_2", "wks_1", 2000));
    audit::Append(tx, Event("aud_3", "wks_1", 2000));  // same millisecond: ordered by id
    audit::Append(tx, Event("aud_4", "wks_2", 3000));
  });
  auto page1 = db().ReadValue([](Tx& tx) { return audit::List(tx, "wks_1", std::nullopt, 2); });
  ASSERT_EQ(page1.size(), 2u);
  EXPECT_EQ(page1[0].id, "aud_3");
  EXPECT_EQ(page1[1].id, "aud_2");
  EXPECT_EQ(page1[0].details_json, R"({"method":"password"})");
  EXPECT_EQ(page1[0].ip, "203.0.113.7");
  auto cursor = std::make_pair(page1[1].created_at_ms, page1[1].id);
  auto page2 = db().ReadValue([&](Tx& tx) { return audit::List(tx, "wks_1", cursor, 2); });
  ASSERT_EQ(page2.size(), 1u);
  EXPECT_EQ(page2[0].id, "aud_1");
  auto other = db().ReadValue([](Tx& tx) { return audit::List(tx, "wks_2", std::nullopt, 50); });
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].id, "aud_4");
}

TEST_P(StoreTest, WorkspaceAuditLogIncludesMembersSignInsSinceJoining) {
  Migrate(db());
  db().Write([](Tx& tx) {
    for (const char* w : {"wks_1", "wks_2"}) workspaces::Insert(tx, WorkspaceRecord{w, w, w, "free"});
    for (const char* u : {"usr_a", "usr_b"}) {
      UserRecord user;
      user.id = u;
      user.email = std::string(u) + "@example.com";
      users::Insert(tx, user);
    }
    memberships::Add(tx, "wks_1", "usr_a", "owner", 10);  // joined at 10 s = 10000 ms
    memberships::Add(tx, "wks_2", "usr_b", "owner", 0);
    audit::Append(tx, Event("aud_01", "wks_1", 20000));
    AuditEvent failed = Event("aud_02", "", 21000);  // a failed login: no workspace
    failed.workspace_id = std::nullopt;
    failed.outcome = "failure";
    audit::Append(tx, failed);
    AuditEvent before_joining = failed;
    before_joining.id = "aud_03";
    before_joining.created_at_ms = 9000;
    audit::Append(tx, before_joining);
    AuditEvent other_user = failed;  // usr_b is not a member of wks_1
    other_user.id = "aud_04";
    other_user.actor_id = "usr_b";
    audit::Append(tx, other_user);
    AuditEvent account_level = failed;  // not a sign-in event: stays out
    account_level.id = "aud_05";
    account_level.action = "workspace.delete";
    audit::Append(tx, account_level);
    AuditEvent create = Event("aud_06", "wks_1", 22000);
    create.action = "api_key.create";
    audit::Append(tx, create);
    audit::Append(tx, Event("aud_07", "wks_2", 23000));
  });
  auto ids = [](const std::vector<AuditEvent>& events) {
    std::vector<std::string> out;
    out.reserve(events.size());
    for (const auto& e : events) out.push_back(e.id);
    return out;
  };
  auto all = db().ReadValue([](Tx& tx) { return audit::ListForWorkspace(tx, "wks_1", std::nullopt, 50); });
  EXPECT_EQ(ids(all), (std::vector<std::string>{"aud_06", "aud_02", "aud_01"}));

  // Walking two at a time visits each event once, in the same order.
  std::vector<std::string> walked;
  std::optional<std::pair<std::int64_t, std::string>> cursor;
  for (int pages = 0; pages < 5; ++pages) {
    auto page = db().ReadValue([&](Tx& tx) { return audit::ListForWorkspace(tx, "wks_1", cursor, 2); });
    for (const auto& e : page) walked.push_back(e.id);
    if (page.size() < 2) break;
    cursor = std::make_pair(page.back().created_at_ms, page.back().id);
  }
  EXPECT_EQ(walked, ids(all));

  auto logins =
      db().ReadValue([](Tx& tx) { return audit::ListForWorkspace(tx, "wks_1", std::nullopt, 50, "auth.login"); });
  EXPECT_EQ(ids(logins), (std::vector<std::string>{"aud_02", "aud_01"}));
  auto other = db().ReadValue([](Tx& tx) { return audit::ListForWorkspace(tx, "wks_2", std::nullopt, 50); });
  EXPECT_EQ(ids(other), (std::vector<std::string>{"aud_07", "aud_04"}));
}

}  // namespace
}  // namespace studio::store::testing
