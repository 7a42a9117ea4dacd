#pragma once
// The OpenAI chat-completions wire format, as OpenAIChatModel speaks it: where requests go, the
// request body, and reading completions, stream chunks and error bodies. Lenient in what it reads
// (vLLM, Ollama and llama.cpp differ from OpenAI in small ways), strict about what it needs.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "llm/chat_model.hpp"

namespace studio::llm::detail {

struct Endpoint {
  std::string url;     // …/chat/completions, with the base URL's query string last
  bool azure = false;  // the host is an Azure one (*.azure.com): it wants an "api-key" header
};

/// See OpenAIChatOptions::base_url for the rules. Throws std::invalid_argument for a URL that is
/// not http(s), has no host, or has a fragment or spaces.
Endpoint ParseBaseUrl(const std::string& base_url);

/// The JSON body for `request` (passages rendered by MessagesWithContext), with stream_options
/// asking for usage when streaming and `stream_usage`.
std::string ChatRequestBody(const ChatRequest& request, const std::string& model, bool stream_usage);

/// The server's error message ({"error":{"message":…}} or {"error":"…"}), at most ~300 bytes,
/// with `api_key` replaced by "[redacted]" in case a server echoes it. Empty when there is none.
std::string ServerMessage(const nlohmann::json& body, const std::string& api_key);

/// {"error":{"code":"insufficient_quota"}}: a 429 that waiting does not fix.
bool IsInsufficientQuota(const nlohmann::json& body);

/// A non-streamed completion into `out` (content — or the refusal when content is null —,
/// finish_reason, model, usage). False when `j` is not a completion.
bool ReadCompletion(const nlohmann::json& j, ChatResponse& out);

/// One stream chunk: records model, usage and finish_reason in `out`; returns the content delta
/// (empty for the role chunk, the finish chunk and the usage chunk).
std::string ReadChunk(const nlohmann::json& j, ChatResponse& out);

/// Whether a Content-Type is text/event-stream (any case, any parameters).
bool IsEventStream(std::string_view content_type);

}  // namespace studio::llm::detail
