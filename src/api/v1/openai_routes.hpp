#pragma once
// OpenAI-compatible endpoints, so the official OpenAI SDKs talk to the agent unchanged:
//   GET  /v1/models             the agents of the caller's workspace ("customer-service")
//   POST /v1/chat/completions   model = agent name; `stream` supported (chat.completion.chunk
//                               events without event names, then "data: [DONE]")
// Authenticated like every API route (an API key as `Authorization: Bearer sk_…`). Errors,
// including the guard's 401/403/429, come in OpenAI's shape {"error": {message, type, param,
// code}}. The client sends the whole history each time, as with OpenAI: nothing earlier is
// loaded, and each call is stored as a conversation of channel "openai".

#include "api/v1/guard.hpp"
#include "core/error.hpp"

namespace studio::api::v1 {

void AddOpenAiRoutes(http::Router& router, ApiContext& ctx);

/// {"error": {"message", "type", "param", "code"}} with the error's status and headers.
http::Response OpenAiErrorResponse(const Error& e);

}  // namespace studio::api::v1
