#pragma once
// /api/v1/workspaces/{id}/webhook: the workspace's one webhook endpoint (src/webhooks/). PUT
// creates or changes it, GET shows it, DELETE removes it. Owners and platform admins; API keys
// with webhooks:write / webhooks:read.
//
// The signing secret ("whsec_…") is in the PUT response that creates the endpoint, or that asks
// for a new one with rotateSecret: true, and nowhere else (the secret-shown-once pattern of API
// keys): a GET never returns it, so a leaked read-only key cannot forge deliveries.

#include "api/v1/guard.hpp"
#include "http/router.hpp"

namespace studio::api::v1 {

void AddWebhookRoutes(http::Router& router, ApiContext& context);

}  // namespace studio::api::v1
