#pragma once
// Why a language-model call failed, as studio::Errors (so the HTTP layer renders them as problem
// responses). The statuses describe the call from the agent's client's point of view: nothing its
// client sent was wrong, so upstream refusals are 502 and upstream overload is 503 + Retry-After.
// Messages are safe to show: they never contain the API key.

#include <string>

#include "core/error.hpp"
#include "llm/chat_model.hpp"

namespace studio::llm {

class LlmError : public Error {
 public:
  using Error::Error;
};

/// 502 LLM_CONFIGURATION_ERROR: the key is missing, wrong or lacks access (401/403), the model or
/// URL does not exist (404), the account's quota is exhausted. Not retried; an operator must act.
class ConfigurationError : public LlmError {
 public:
  explicit ConfigurationError(std::string detail);
};

/// 502 LLM_BAD_REQUEST: the server refused the request itself (400, 413, 422 …: e.g. the prompt
/// exceeds the model's context window). Not retried.
class BadRequestError : public LlmError {
 public:
  explicit BadRequestError(std::string detail);
};

/// 503 LLM_RATE_LIMITED + Retry-After: still 429 after every attempt, or a Retry-After longer
/// than the client is willing to wait.
class RateLimitedError : public LlmError {
 public:
  RateLimitedError(std::string detail, int retry_after_seconds);
};

/// 503 LLM_UNAVAILABLE + Retry-After: 5xx, connection failures and timeouts after every attempt.
class UnavailableError : public LlmError {
 public:
  UnavailableError(std::string detail, int retry_after_seconds);
};

/// 502 LLM_BAD_RESPONSE: a 2xx whose body is not a chat completion.
class BadResponseError : public LlmError {
 public:
  explicit BadResponseError(std::string detail);
};

/// 502 LLM_STREAM_INTERRUPTED: a stream failed after part of the answer had been delivered to the
/// token callback. Not retried (a replay would repeat what the user has already seen); partial()
/// holds what was delivered (finish_reason "interrupted"), for the caller to store as an
/// interrupted answer.
class StreamInterruptedError : public LlmError {
 public:
  StreamInterruptedError(std::string detail, ChatResponse partial);
  const ChatResponse& partial() const { return partial_; }

 private:
  ChatResponse partial_;
};

}  // namespace studio::llm
