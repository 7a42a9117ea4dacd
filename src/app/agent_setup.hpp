#pragma once
// The agent as the Config describes it: the chat model (openai or extractive) and the service
// that runs turns over the knowledge base. `studio serve` and `studio chat` build it the same way.

#include <memory>

#include "agent/agent.hpp"
#include "app/config.hpp"
#include "app/knowledge_base.hpp"
#include "llm/make_chat_model.hpp"

namespace studio::app {

/// The chat-model settings of a Config (auto: openai when OPENAI_API_KEY is set or OPENAI_BASE_URL
/// was changed from its default, else extractive).
llm::ChatModelConfig ChatModelConfigOf(const Config& config);

struct Agent {
  std::unique_ptr<llm::ChatModel> model;
  std::unique_ptr<agent::AgentService> service;
};

/// Throws std::runtime_error for a bad chat-model setting.
Agent MakeAgent(const Config& config, store::Db& db, KnowledgeBase& kb);

}  // namespace studio::app
