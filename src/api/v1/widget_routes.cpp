#include "api/v1/widget_routes.hpp"

#include <chrono>

#include "api/v1/agent_routes.hpp"
#include "api/v1/body.hpp"
#include "api/v1/iso_time.hpp"
#include "api/v1/or_null.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "ratelimit/limiter.hpp"
#include "store/agent_repo.hpp"
#include "store/conversations_repo.hpp"

namespace studio::api::v1 {
namespace {

using http::Request;
using http::Response;

constexpr std::size_t kMaxOrigins = 20;

// An exact browser origin: scheme://host[:port], nothing after.
bool IsOrigin(const std::string& s) {
  const bool https = s.starts_with("https://");
  if (!https && !s.starts_with("http://")) return false;
  const std::string rest = s.substr(https ? 8 : 7);
  if (rest.empty() || rest.size() > 253) return false;
  for (char c : rest) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']')) {
      return false;
    }
  }
  return true;
}

Json KeyJson(const store::WidgetKeyRecord& k) {
  return Json{{"id", k.id},
              {"key", k.key},
              {"name", k.name},
              {"allowedOrigins", Json::parse(k.allowed_origins_json, nullptr, false)},
              {"createdAt", IsoUtcMs(k.created_at_ms)},
              {"revokedAt", k.revoked_at_ms ? Json(IsoUtcMs(*k.revoked_at_ms)) : Json(nullptr)}};
}

// The workspace of a valid key used from one of its origins; 401/403 otherwise.
store::WidgetKeyRecord Authorize(ApiContext& ctx, const Request& req, const Json& body) {
  std::string key(req.Header("X-Widget-Key").value_or(""));
  if (key.empty()) {
    if (auto k = OptionalString(body, "widgetKey", 128)) key = *k;
  }
  if (!key.starts_with("pk_")) {
    throw Unauthorized("A widget key (X-Widget-Key: pk_…) is required.", "WIDGET_KEY_REQUIRED");
  }
  auto found = ctx.db->ReadValue([&](store::Tx& tx) { return store::widget_keys::FindByKey(tx, key); });
  if (!found) throw Unauthorized("The widget key is not valid.", "INVALID_WIDGET_KEY");
  const std::string origin(req.Header("Origin").value_or(""));
  bool allowed = false;
  for (const auto& o : Json::parse(found->allowed_origins_json, nullptr, false)) {
    allowed = allowed || (o.is_string() && o.get<std::string>() == origin);
  }
  if (!allowed) {
    throw Forbidden("This widget key may only be used from its allowed origins.", "ORIGIN_NOT_ALLOWED");
  }
  ratelimit::Decision d = ctx.limiter->Take({"widget:key", kWidgetKeyPerMinute, std::chrono::minutes(1), kWidgetKeyPerMinute},
                                            found->id, std::chrono::steady_clock::now());
  ratelimit::EnforceOrThrow(d, "this widget");
  return *found;
}

}  // namespace

void AddWidgetRoutes(http::Router& router, ApiContext& ctx) {
  AddGuarded(router, ctx, "GET", "/api/v1/workspaces/{id}/widget-keys", [&ctx](Request& req, const Caller&) {
    auto keys = ctx.db->ReadValue([&](store::Tx& tx) { return store::widget_keys::List(tx, req.Param("id")); });
    Json data = Json::array();
    for (const auto& k : keys) data.push_back(KeyJson(k));
    return Response::MakeJson(200, Json{{"data", std::move(data)}});
  });

  AddGuarded(router, ctx, "POST", "/api/v1/workspaces/{id}/widget-keys", [&ctx](Request& req, const Caller&) {
    Json body = ObjectBody(req);
    RejectUnknownFields(body, {"name", "allowedOrigins"});
    store::WidgetKeyRecord k;
    k.id = NewId("wk_");
    k.workspace_id = req.Param("id");
    k.key = NewId("pk_");
    k.name = OptionalString(body, "name", 100).value_or("");
    const Json origins = body.value("allowedOrigins", Json());
    bool ok = origins.is_array() && !origins.empty() && origins.size() <= kMaxOrigins;
    for (const auto& o : ok ? origins : Json::array()) ok = ok && o.is_string() && IsOrigin(o.get<std::string>());
    if (!ok) {
      throw ValidationFailed("'allowedOrigins' must list 1 to 20 exact origins such as https://www.example.com.",
                             {{"allowedOrigins", "is not valid"}});
    }
    k.allowed_origins_json = origins.dump();
    k.created_at_ms = UnixMillis();
    ctx.db->Write([&](store::Tx& tx) { store::widget_keys::Insert(tx, k); });
    return Response::MakeJson(201, KeyJson(k));
  });

  AddGuarded(router, ctx, "DELETE", "/api/v1/workspaces/{id}/widget-keys/{keyId}", [&ctx](Request& req, const Caller&) {
    const bool revoked = ctx.db->WriteValue(
        [&](store::Tx& tx) { return store::widget_keys::Revoke(tx, req.Param("id"), req.Param("keyId"), UnixMillis()); });
    if (!revoked) throw NotFound("The widget key does not exist.");
    return Response::NoContent();
  });

  AddGuardedSse(router, ctx, "POST", "/api/v1/public/chat", [&ctx](Request& req, const Caller&, http::SseStream& stream) {
    Json body = ObjectBody(req);
    RejectUnknownFields(body, {"message", "conversationId", "context", "stream", "widgetKey"});
    const store::WidgetKeyRecord key = Authorize(ctx, req, body);
    agent::TurnRequest turn;
    turn.workspace_id = key.workspace_id;
    turn.channel = "widget";
    ParseChatFields(body, turn);
    if (turn.conversation_id) {
      // Only the widget's own conversations: a visitor never continues (or reads) a staff one.
      auto c = ctx.db->ReadValue(
          [&](store::Tx& tx) { return store::conversations::Find(tx, key.workspace_id, *turn.conversation_id); });
      if (!c || c->channel != "widget") throw NotFound("The conversation does not exist.", "CONVERSATION_NOT_FOUND");
    }
    AnswerChat(ctx, stream, turn, WantsStream(req, body));
  });
}

}  // namespace studio::api::v1
