#pragma once
// GET /api/v1/conversations, GET|DELETE /api/v1/conversations/{conversationId}: the agent's
// conversations in the caller's workspace, with their messages.

#include "api/v1/guard.hpp"
#include "core/json.hpp"
#include "store/conversations_repo.hpp"

namespace studio::api::v1 {

void AddConversationRoutes(http::Router& router, ApiContext& ctx);

/// The API shape of a stored message.
Json MessageJson(const store::MessageRecord& m);

}  // namespace studio::api::v1
