#include "app/agent_setup.hpp"

#include <stdexcept>

namespace studio::app {

llm::ChatModelConfig ChatModelConfigOf(const Config& c) {
  llm::ChatModelConfig m;
  const bool base_url_set = c.openai_base_url != Config{}.openai_base_url;
  if (c.chat_provider == "auto") {
    m.provider = (!c.openai_api_key.empty() || base_url_set) ? llm::ChatProvider::kOpenAI : llm::ChatProvider::kExtractive;
  } else {
    m.provider = llm::ParseChatProvider(c.chat_provider);
  }
  m.base_url = c.openai_base_url;
  m.api_key = c.openai_api_key;
  m.model = c.chat_model;
  m.total_timeout = c.llm_timeout;
  return m;
}

Agent MakeAgent(const Config& config, store::Db& db, KnowledgeBase& kb) {
  Agent a;
  try {
    a.model = llm::MakeChatModel(ChatModelConfigOf(config));
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(std::string("invalid chat model setting: ") + e.what());
  }
  agent::AgentOptions options;
  options.monthly_message_quota = config.agent_quota;
  a.service = std::make_unique<agent::AgentService>(db, kb.retriever(), kb.tokenizer(), *a.model, options);
  return a;
}

}  // namespace studio::app
