// Conversations, messages, agent settings, widget keys and usage on both backends.

#include <string>

#include "core/error.hpp"
#include "store/agent_repo.hpp"
#include "store/conversations_repo.hpp"
#include "store/migrate.hpp"
#include "store/test_support.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::store::testing {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;

void Seed(Db& db) {
  db.Write([](Tx& tx) {
    workspaces::Insert(tx, {"wks_1", "Acme", "acme", "free"});
    workspaces::Insert(tx, {"wks_2", "Beta", "beta", "free"});
    conversations::Insert(tx, ConversationRecord{"cnv_1", "wks_1", "customer-service", "api", std::nullopt, "Refunds",
                                                 "", 0, 1, 0, kNow, kNow});
  });
}

MessageRecord Msg(const std::string& id, const std::string& role, const std::string& content, std::int64_t at) {
  MessageRecord m;
  m.id = id;
  m.conversation_id = "cnv_1";
  m.role = role;
  m.content = content;
  m.created_at_ms = at;
  return m;
}

TEST_P(StoreTest, MessagesGetConsecutiveSeqsAndStayInTheirWorkspace) {
  Migrate(db());
  Seed(db());
  auto first = db().WriteValue([](Tx& tx) { return conversations::Append(tx, "wks_1", Msg("msg_1", "user", "hi", kNow + 1)); });
  auto second = db().WriteValue([](Tx& tx) {
    MessageRecord m = Msg("msg_2", "assistant", "hello [1]", kNow + 2);
    m.sources_json = R"([{"chunkId":1}])";
    m.usage_json = R"({"promptTokens":3})";
    m.confidence = 0.75;
    m.model = "extractive";
    m.status = "interrupted";
    return conversations::Append(tx, "wks_1", m);
  });
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 2);
  // Another workspace cannot append to, read or see the conversation.
  EXPECT_THROW(db().Write([](Tx& tx) { conversations::Append(tx, "wks_2", Msg("msg_3", "user", "x", kNow)); }), NotFound);
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return conversations::Find(tx, "wks_2", "cnv_1"); }).has_value());
  EXPECT_TRUE(db().ReadValue([](Tx& tx) { return conversations::Messages(tx, "wks_2", "cnv_1", 1, 10); }).empty());

  auto conv = db().ReadValue([](Tx& tx) { return conversations::Find(tx, "wks_1", "cnv_1"); });
  ASSERT_TRUE(conv.has_value());
  EXPECT_EQ(conv->message_count, 2);
  EXPECT_EQ(conv->updated_at_ms, kNow + 2);
  auto msgs = db().ReadValue([](Tx& tx) { return conversations::Messages(tx, "wks_1", "cnv_1", 2, 10); });
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].id, "msg_2");
  EXPECT_EQ(msgs[0].seq, 2);
  EXPECT_EQ(msgs[0].sources_json, R"([{"chunkId":1}])");
  EXPECT_EQ(msgs[0].usage_json.value_or(""), R"({"promptTokens":3})");
  EXPECT_DOUBLE_EQ(msgs[0].confidence.value_or(0), 0.75);
  EXPECT_EQ(msgs[0].status, "interrupted");
  EXPECT_EQ(msgs[0].model.value_or(""), "extractive");
}

TEST_P(StoreTest, SummaryAndSessionsMoveTheContextWindow) {
  Migrate(db());
  Seed(db());
  db().Write([](Tx& tx) {
    for (int i = 1; i <= 4; ++i) conversations::Append(tx, "wks_1", Msg("msg_" + std::to_string(i), "user", "m", kNow + i));
    conversations::SetSummary(tx, "wks_1", "cnv_1", "the user asked about refunds", 2);
    conversations::SetSummary(tx, "wks_2", "cnv_1", "hijack", 4);  // another workspace: no effect
  });
  auto conv = db().ReadValue([](Tx& tx) { return conversations::Find(tx, "wks_1", "cnv_1"); });
  EXPECT_EQ(conv->summary, "the user asked about refunds");
  EXPECT_EQ(conv->summary_through, 2);
  db().Write([](Tx& tx) { conversations::StartSession(tx, "wks_1", "cnv_1", 5); });
  conv = db().ReadValue([](Tx& tx) { return conversations::Find(tx, "wks_1", "cnv_1"); });
  EXPECT_EQ(conv->summary, "");
  EXPECT_EQ(conv->summary_through, 4);
  EXPECT_EQ(conv->context_start, 5);
}

TEST_P(StoreTest, ConversationsPageNewestFirstAndDeleteWithTheirMessages) {
  Migrate(db());
  Seed(db());
  db().Write([](Tx& tx) {
    for (int i = 2; i <= 5; ++i) {
      conversations::Insert(tx, ConversationRecord{"cnv_" + std::to_string(i), "wks_1", "customer-service", "widget",
                                                   std::nullopt, "", "", 0, 1, 0, kNow, kNow + i});
    }
    conversations::Insert(tx, ConversationRecord{"cnv_b", "wks_2", "customer-service", "api", std::string("usr_1"), "",
                                                 "", 0, 1, 0, kNow, kNow + 100});
    conversations::Append(tx, "wks_1", Msg("msg_1", "user", "hi", kNow));
  });
  auto page1 = db().ReadValue([](Tx& tx) { return conversations::List(tx, "wks_1", std::nullopt, 3); });
  ASSERT_EQ(page1.size(), 3u);
  EXPECT_EQ(page1[0].id, "cnv_5");
  EXPECT_EQ(page1[2].id, "cnv_3");
  auto page2 = db().ReadValue([&](Tx& tx) {
    return conversations::List(tx, "wks_1", std::make_pair(page1[2].updated_at_ms, page1[2].id), 3);
  });
  ASSERT_EQ(page2.size(), 2u);
  EXPECT_EQ(page2[0].id, "cnv_2");
  EXPECT_EQ(page2[1].id, "cnv_1");

  auto active = db().ReadValue([](Tx& tx) { return conversations::ActiveByWorkspace(tx, kNow + 3); });
  ASSERT_EQ(active.size(), 2u);

  EXPECT_FALSE(db().WriteValue([](Tx& tx) { return conversations::Delete(tx, "wks_2", "cnv_1"); }));
  EXPECT_TRUE(db().WriteValue([](Tx& tx) { return conversations::Delete(tx, "wks_1", "cnv_1"); }));
  EXPECT_TRUE(db().ReadValue([](Tx& tx) { return conversations::Messages(tx, "wks_1", "cnv_1", 1, 10); }).empty());
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return conversations::Find(tx, "wks_1", "cnv_1"); }).has_value());
}

TEST_P(StoreTest, AgentConfigWidgetKeysAndUsage) {
  Migrate(db());
  Seed(db());
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return agent_configs::Find(tx, "wks_1", "customer-service"); }).has_value());
  db().Write([](Tx& tx) { agent_configs::Put(tx, "wks_1", "customer-service", R"({"topK":3})", kNow); });
  db().Write([](Tx& tx) { agent_configs::Put(tx, "wks_1", "customer-service", R"({"topK":4})", kNow + 1); });
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return agent_configs::Find(tx, "wks_1", "customer-service"); }).value_or(""),
            R"({"topK":4})");
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return agent_configs::Find(tx, "wks_2", "customer-service"); }).has_value());

  db().Write([](Tx& tx) {
    widget_keys::Insert(tx, WidgetKeyRecord{"wk_1", "wks_1", "pk_abc", "site", R"(["https://a.example"])", kNow, {}});
  });
  auto key = db().ReadValue([](Tx& tx) { return widget_keys::FindByKey(tx, "pk_abc"); });
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->workspace_id, "wks_1");
  EXPECT_EQ(key->allowed_origins_json, R"(["https://a.example"])");
  EXPECT_FALSE(db().WriteValue([](Tx& tx) { return widget_keys::Revoke(tx, "wks_2", "wk_1", kNow); }));
  EXPECT_TRUE(db().WriteValue([](Tx& tx) { return widget_keys::Revoke(tx, "wks_1", "wk_1", kNow); }));
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return widget_keys::FindByKey(tx, "pk_abc"); }).has_value());
  auto listed = db().ReadValue([](Tx& tx) { return widget_keys::List(tx, "wks_1"); });
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(listed[0].revoked_at_ms.has_value());

  db().Write([](Tx& tx) {
    agent_usage::Add(tx, "wks_1", "2026-11-24", {1, 1, 100, 20});
    agent_usage::Add(tx, "wks_1", "2026-11-24", {1, 2, 50, 5});
    agent_usage::Add(tx, "wks_1", "2026-11-25", {1, 0, 0, 0});
    agent_usage::Add(tx, "wks_2", "2026-11-24", {9, 9, 9, 9});
  });
  auto sum = db().ReadValue([](Tx& tx) { return agent_usage::Sum(tx, "wks_1", "2026-11-01", "2026-11-24"); });
  EXPECT_EQ(sum.messages, 2);
  EXPECT_EQ(sum.llm_calls, 3);
  EXPECT_EQ(sum.tokens_in, 150);
  EXPECT_EQ(sum.tokens_out, 25);
}

}  // namespace
}  // namespace studio::store::testing
