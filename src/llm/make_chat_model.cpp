#include "llm/make_chat_model.hpp"

#include <stdexcept>

#include "llm/extractive_chat_model.hpp"
#include "llm/openai_chat_model.hpp"

namespace studio::llm {

ChatProvider ParseChatProvider(std::string_view name) {
  if (name == "auto") return ChatProvider::kAuto;
  if (name == "openai") return ChatProvider::kOpenAI;
  if (name == "extractive") return ChatProvider::kExtractive;
  throw std::invalid_argument("LLM provider must be \"auto\", \"openai\" or \"extractive\", not \"" +
                              std::string(name) + "\"");
}

std::unique_ptr<ChatModel> MakeChatModel(const ChatModelConfig& config) {
  const bool configured = !config.api_key.empty() || !config.base_url.empty();
  if (config.provider == ChatProvider::kExtractive || (config.provider == ChatProvider::kAuto && !configured)) {
    return std::make_unique<ExtractiveChatModel>();
  }
  OpenAIChatOptions options;
  if (!config.base_url.empty()) options.base_url = config.base_url;
  options.api_key = config.api_key;
  options.model = config.model;
  options.connect_timeout = config.connect_timeout;
  options.idle_timeout = config.idle_timeout;
  options.total_timeout = config.total_timeout;
  options.max_attempts = config.max_attempts;
  options.stream_usage = config.stream_usage;
  return std::make_unique<OpenAIChatModel>(std::move(options));
}

}  // namespace studio::llm
