#include "agent/agent_config.hpp"

#include <gtest/gtest.h>

#include <set>

#include "core/error.hpp"

namespace studio::agent {
namespace {

TEST(AgentConfig, DefaultsAreTheDocumentedOnes) {
  AgentConfig c = Defaults();
  EXPECT_EQ(c.context_budget, 8192);
  EXPECT_EQ(c.memory_window, 10);
  EXPECT_EQ(c.session_timeout_minutes, 30);
  EXPECT_EQ(c.persona, Persona::kProfessional);
  EXPECT_FALSE(c.system_prompt.empty());
  EXPECT_FALSE(c.fallback_message.empty());
  EXPECT_EQ(ToJson(c)["contextBudget"], 8192);
}

TEST(AgentConfig, UpdateMergesValidatesAndResetsWithNull) {
  Json stored = MergeUpdate(Json::object(), Json{{"persona", "friendly"}, {"topK", 3}});
  EXPECT_EQ(stored, (Json{{"persona", "friendly"}, {"topK", 3}}));
  stored = MergeUpdate(stored, Json{{"topK", nullptr}, {"temperature", 0.7}});
  EXPECT_EQ(stored, (Json{{"persona", "friendly"}, {"temperature", 0.7}}));
  AgentConfig c = FromStored(stored);
  EXPECT_EQ(c.persona, Persona::kFriendly);
  EXPECT_EQ(c.top_k, Defaults().top_k);
  EXPECT_DOUBLE_EQ(c.temperature, 0.7);
}

TEST(AgentConfig, BadValuesNameEveryField) {
  try {
    MergeUpdate(Json::object(), Json{{"temperature", 3}, {"persona", "pirate"}, {"memoryWindow", -1}});
    FAIL() << "accepted";
  } catch (const ValidationFailed& e) {
    EXPECT_EQ(e.status(), 400);
    ASSERT_EQ(e.errors().size(), 3u);
  }
  EXPECT_THROW(MergeUpdate(Json::object(), Json{{"role", "owner"}}), BadRequest);
  EXPECT_THROW(MergeUpdate(Json::object(), Json{{"contextBudget", 10}}), ValidationFailed);
  EXPECT_THROW(MergeUpdate(Json::object(), Json{{"systemPrompt", ""}}), ValidationFailed);
  EXPECT_THROW(MergeUpdate(Json::object(), Json::array()), BadRequest);
}

TEST(AgentConfig, StoredGarbageFallsBackToDefaults) {
  AgentConfig c = FromStored(Json{{"topK", "many"}, {"gone", 1}, {"memoryWindow", 4}});
  EXPECT_EQ(c.top_k, Defaults().top_k);
  EXPECT_EQ(c.memory_window, 4);
}

TEST(AgentConfig, EachPersonaAndLengthChangesTheSystemMessage) {
  AgentConfig c = Defaults();
  std::set<std::string> seen;
  for (Persona p : {Persona::kProfessional, Persona::kFriendly, Persona::kTechnical}) {
    for (ResponseLength l : {ResponseLength::kShort, ResponseLength::kMedium, ResponseLength::kLong}) {
      c.persona = p;
      c.response_length = l;
      seen.insert(SystemMessage(c));
    }
  }
  EXPECT_EQ(seen.size(), 9u);
  c.custom_instructions = "Always mention the order number.";
  EXPECT_NE(SystemMessage(c).find("Always mention the order number."), std::string::npos);
}

}  // namespace
}  // namespace studio::agent
