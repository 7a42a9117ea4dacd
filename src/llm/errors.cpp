#include "llm/errors.hpp"

#include <utility>

namespace studio::llm {

ConfigurationError::ConfigurationError(std::string detail)
    : LlmError(502, "LLM_CONFIGURATION_ERROR", "Bad Gateway", std::move(detail)) {}

BadRequestError::BadRequestError(std::string detail)
    : LlmError(502, "LLM_BAD_REQUEST", "Bad Gateway", std::move(detail)) {}

RateLimitedError::RateLimitedError(std::string detail, int retry_after_seconds)
    : LlmError(503, "LLM_RATE_LIMITED", "Service Unavailable", std::move(detail)) {
  headers().emplace_back("Retry-After", std::to_string(retry_after_seconds));
}

UnavailableError::UnavailableError(std::string detail, int retry_after_seconds)
    : LlmError(503, "LLM_UNAVAILABLE", "Service Unavailable", std::move(detail)) {
  headers().emplace_back("Retry-After", std::to_string(retry_after_seconds));
}

BadResponseError::BadResponseError(std::string detail)
    : LlmError(502, "LLM_BAD_RESPONSE", "Bad Gateway", std::move(detail)) {}

StreamInterruptedError::StreamInterruptedError(std::string detail, ChatResponse partial)
    : LlmError(502, "LLM_STREAM_INTERRUPTED", "Bad Gateway", std::move(detail)), partial_(std::move(partial)) {}

}  // namespace studio::llm
