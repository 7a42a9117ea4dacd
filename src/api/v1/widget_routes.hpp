#pragma once
// The embeddable chat widget:
//   GET|POST /api/v1/workspaces/{id}/widget-keys, DELETE …/widget-keys/{keyId}   (owners)
//   POST /api/v1/public/chat   one turn for a website visitor
//
// A widget key ("pk_…") is publishable: it sits in the website's HTML, so it is no secret and is
// shown in full. It grants one thing only, chatting with its workspace's agent, and only from its
// allowed origins (the browser's Origin header must be one of them), under a per-IP limit (the
// policy table) and a per-key limit. The visitor can continue only conversations the widget
// started; nothing else of the workspace is reachable with it.

#include "api/v1/guard.hpp"

namespace studio::api::v1 {

/// Requests per minute one widget key may make, across all visitors.
inline constexpr std::uint32_t kWidgetKeyPerMinute = 600;

void AddWidgetRoutes(http::Router& router, ApiContext& ctx);

}  // namespace studio::api::v1
