#pragma once
// The `openai` chat model: any OpenAI-compatible POST …/chat/completions (OpenAI, Azure OpenAI,
// vLLM, Ollama, llama.cpp server, LiteLLM …) over libcurl, streaming or not.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "llm/chat_model.hpp"

namespace studio::llm {

enum class AuthHeader {
  kAuto,    // kApiKey for *.azure.com hosts, else kBearer
  kBearer,  // "Authorization: Bearer KEY" (OpenAI and everything modelled on it)
  kApiKey,  // "api-key: KEY" (Azure OpenAI)
};

struct OpenAIChatOptions {
  /// Where the API lives. The request goes to BASE/v1/chat/completions, or to BASE/chat/completions
  /// when BASE already ends in "/v1" (as the OpenAI SDKs spell it) or is an Azure deployment
  /// (".../openai/deployments/NAME"). A query string is kept and goes last (Azure's
  /// "?api-version=2024-10-21").
  std::string base_url = "https://api.openai.com";
  /// Sent per auth_header; nothing is sent when empty (local servers). Never logged and never put
  /// in a URL or an error message.
  std::string api_key;
  AuthHeader auth_header = AuthHeader::kAuto;
  /// The default model, for requests that name none.
  std::string model = "gpt-4o-mini";
  std::chrono::milliseconds connect_timeout{10'000};
  /// No byte from the server for this long fails the attempt: a server that hangs before its
  /// first token, or stalls in the middle of a stream.
  std::chrono::milliseconds idle_timeout{60'000};
  /// The whole attempt, streaming included.
  std::chrono::milliseconds total_timeout{300'000};
  /// Attempts per call, including the first (>= 1). Retried: connection errors, timeouts, 408,
  /// 429, 5xx, an error event or a cut-off stream — but only while no token has been delivered.
  int max_attempts = 3;
  /// Backoff before retry k (1-based) is uniform in [c/2, c], c = min(backoff_max, backoff_base · 2^(k-1)).
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_max{8'000};
  /// A Retry-After (seconds or HTTP date) is waited out when at most this; a longer one ends the
  /// call at once (a person is waiting for the answer).
  std::chrono::seconds max_retry_after{30};
  /// Streams ask for `stream_options: {include_usage: true}`, so the last chunk carries the token
  /// counts. Turn off for servers that reject the field (old Azure API versions answer 400).
  bool stream_usage = true;
  /// How to wait between attempts; tests pass a recorder. Default: a wait that cancellation ends.
  std::function<void(std::chrono::milliseconds)> sleep;
};

/// Thread-safe: concurrent calls each use their own connection from a small pool.
///
/// A call is retried as OpenAIChatOptions::max_attempts says, then fails with an error of
/// errors.hpp: 401/403/404 and an exhausted quota → ConfigurationError; other 4xx →
/// BadRequestError; 429 → RateLimitedError; 5xx, network errors, timeouts → UnavailableError;
/// a malformed 2xx → BadResponseError; any failure after the first delivered token →
/// StreamInterruptedError with the partial answer.
///
/// Cancellation (the token, or the callback returning kStop) aborts the transfer — the connection
/// is closed, so the server stops generating — and returns what was delivered with finish_reason
/// kFinishCancelled.
class OpenAIChatModel final : public ChatModel {
 public:
  static constexpr std::string_view kName = "openai";

  /// Throws std::invalid_argument for a bad option (URL scheme, timeouts, attempts …).
  explicit OpenAIChatModel(OpenAIChatOptions options);
  ~OpenAIChatModel() override;
  OpenAIChatModel(const OpenAIChatModel&) = delete;
  OpenAIChatModel& operator=(const OpenAIChatModel&) = delete;

  std::string_view name() const override { return kName; }
  std::string model() const override;
  ChatResponse Chat(const ChatRequest& request, const TokenCallback& on_token = {},
                    const CancellationToken* cancel = nullptr) override;

  /// The URL requests go to (for logs and tests; holds no secret).
  std::string url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace studio::llm
