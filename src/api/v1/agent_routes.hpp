#pragma once
// The customer-service agent over HTTP:
//   GET|PUT /api/v1/agents/customer-service/config   the workspace's agent settings (owners)
//   POST    /api/v1/agents/customer-service/chat     one turn: JSON, or SSE with stream:true or
//                                                   Accept: text/event-stream
//   POST    /api/v1/agents/customer-service/run      the same turn, run-shaped; accepts {message}
//                                                   or {input: {messages: [...]}}
// SSE events: `token` {"delta"}, `sources` {"sources"}, `done` {messageId, conversationId, usage,
// confidence, status, fallback}, `error` {code, message}. A client that disconnects cancels the
// model call; the partial answer is stored with status "interrupted".

#include "agent/agent.hpp"
#include "api/v1/guard.hpp"
#include "http/sse.hpp"

namespace studio::api::v1 {

void AddAgentRoutes(http::Router& router, ApiContext& ctx);

/// The chat shape of a turn's result.
Json ChatResultJson(const agent::TurnResult& r);

/// Runs `turn` for a chat-shaped request (also the public widget's): streamed as SSE when the body
/// says stream:true or the client accepts text/event-stream, otherwise answered as
/// ChatResultJson. `body` was validated by the caller; `turn.message` etc. are set.
void AnswerChat(ApiContext& ctx, http::SseStream& stream, const agent::TurnRequest& turn, bool stream_requested);

/// Whether the client asked for SSE: body `stream: true`, or an Accept header naming
/// text/event-stream.
bool WantsStream(const http::Request& req, const Json& body);

/// Parses the chat body fields shared by the authenticated and public chat routes (message,
/// conversationId, context) into `turn`.
void ParseChatFields(const Json& body, agent::TurnRequest& turn);

}  // namespace studio::api::v1
