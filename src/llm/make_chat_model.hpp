#pragma once
// Builds the configured chat model. The application maps its settings (OPENAI_API_KEY,
// OPENAI_BASE_URL, …) onto ChatModelConfig; this module reads no environment variable.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "llm/chat_model.hpp"

namespace studio::llm {

enum class ChatProvider {
  kAuto,  // openai when an API key or a base URL is configured, else extractive
  kOpenAI,
  kExtractive,
};

/// "auto", "openai" or "extractive" (exactly). Throws std::invalid_argument otherwise.
ChatProvider ParseChatProvider(std::string_view name);

struct ChatModelConfig {
  ChatProvider provider = ChatProvider::kAuto;
  /// openai: see OpenAIChatOptions. An empty base_url means "not configured" (for kAuto) and
  /// https://api.openai.com otherwise; a local server (Ollama, vLLM) needs only a base URL.
  std::string base_url;
  std::string api_key;
  std::string model = "gpt-4o-mini";
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds total_timeout{300'000};
  int max_attempts = 3;
  bool stream_usage = true;
};

/// Throws std::invalid_argument for a bad setting. (kOpenAI without a key is allowed: a local
/// server needs none, and OpenAI's 401 becomes a ConfigurationError naming the problem.)
std::unique_ptr<ChatModel> MakeChatModel(const ChatModelConfig& config);

}  // namespace studio::llm
