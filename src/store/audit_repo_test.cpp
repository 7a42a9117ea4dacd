// Audit log repository on both backends.

#include "store/audit_repo.hpp"

#include <string>

#include "store/migrate.hpp"
#include "store/test_support.hpp"

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

}  // namespace
}  // namespace studio::store::testing
