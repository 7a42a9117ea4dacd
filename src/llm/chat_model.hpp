#pragma once
// One interface for the agent's language model. Two implementations: `openai` (any
// OpenAI-compatible POST /v1/chat/completions, see openai_chat_model.hpp) and `extractive` (no
// network: an answer composed from the passages' own sentences, see extractive_chat_model.hpp).
//
// Retrieved passages travel in ChatRequest::context, never pasted into the messages by the
// caller: a text model gets them rendered by MessagesWithContext (one system message), the
// extractive model reads them as data. Either way the reply cites a passage as "[n]" with the
// passage's own `n`, and CitedPassages (citations.hpp) reads those markers back.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace studio::llm {

enum class Role { kSystem, kUser, kAssistant };

/// "system", "user", "assistant" (the wire names).
std::string_view RoleName(Role role);

struct Message {
  Role role = Role::kUser;
  std::string content;
};

/// One retrieved passage. `n` is the number the reply cites it by ("[n]"): unique within a
/// request, normally 1, 2, 3 … in retrieval order (best first).
struct ContextPassage {
  int n = 0;
  std::string title;
  std::string text;
};

struct ChatRequest {
  /// Empty: the model's default (ChatModel::model()).
  std::string model;
  /// The conversation: system prompt(s) first, then history, ending with the user's message.
  std::vector<Message> messages;
  /// Retrieved passages, best first. See MessagesWithContext for how a text model sees them.
  std::vector<ContextPassage> context;
  std::optional<double> temperature;
  std::optional<int> max_tokens;
  /// Up to 4 strings at which generation stops (OpenAI's limit).
  std::vector<std::string> stop;
  /// Deliver the answer through the token callback as it is produced.
  bool stream = false;
};

/// Token counts as reported by the model's server. `reported` is false when the server sent
/// none (a stream from a server that ignores stream_options, or a cancelled stream): then the
/// caller should count tokens itself if it needs them.
struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  bool reported = false;
  int total_tokens() const { return prompt_tokens + completion_tokens; }
};

/// finish_reason of a call stopped by the CancellationToken or by the token callback.
inline constexpr std::string_view kFinishCancelled = "cancelled";

struct ChatResponse {
  /// The whole answer; when cancelled, exactly what the token callback was given.
  std::string content;
  /// The server's ("stop", "length", "content_filter" …) or kFinishCancelled.
  std::string finish_reason;
  Usage usage;
  /// The model that answered, as the server names it.
  std::string model;
  bool cancelled() const { return finish_reason == kFinishCancelled; }
};

enum class StreamAction { kContinue, kStop };

/// Receives each piece of a streamed answer, in order; concatenated they are the answer. Return
/// kStop to cancel (the call then returns with finish_reason kFinishCancelled). Called on the
/// thread that called Chat.
using TokenCallback = std::function<StreamAction(std::string_view delta)>;

/// Set from any thread (e.g. when the HTTP client of the agent disconnects, SseStream::OnCancel)
/// to stop a call: an HTTP transfer is aborted within ~50 ms, closing the connection, and a wait
/// between retries ends at once.
class CancellationToken {
 public:
  void Cancel();
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  /// Sleeps up to `d`; returns true (early) when cancelled.
  bool WaitFor(std::chrono::milliseconds d) const;

 private:
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
};

/// Thread-safe: one instance serves concurrent calls.
///
/// Errors: std::invalid_argument for a malformed request (no messages, a passage number repeated);
/// studio::Error subclasses from errors.hpp for a failed call. Cancellation is not an error.
class ChatModel {
 public:
  virtual ~ChatModel() = default;

  /// "openai" or "extractive".
  virtual std::string_view name() const = 0;
  /// The model used when a request names none.
  virtual std::string model() const = 0;
  /// Answers `request`. With request.stream, `on_token` (if set) gets the answer as it is produced;
  /// without, it is not called. `cancel` may be null.
  virtual ChatResponse Chat(const ChatRequest& request, const TokenCallback& on_token = {},
                            const CancellationToken* cancel = nullptr) = 0;
};

/// The block a text model reads the passages in:
///   "Context passages (cite a passage you use as [n], only these numbers):\n\n[1] Title\ntext\n\n[2] …"
/// A passage without a title has just "[n]" on its line. Empty for no passages.
std::string FormatContext(std::span<const ContextPassage> passages);

/// The messages as a text model receives them: request.messages with FormatContext(request.context)
/// inserted as one system message after the leading system messages (so the system prompt comes
/// first and history follows). Unchanged when there is no context. The agent counts its token
/// budget on exactly this.
std::vector<Message> MessagesWithContext(const ChatRequest& request);

/// Throws std::invalid_argument when the request is unusable: no messages, or passage numbers not
/// positive and unique.
void ValidateRequest(const ChatRequest& request);

}  // namespace studio::llm
