#include "api/v1/webhook_routes.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "api/v1/body.hpp"
#include "api/v1/iso_time.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "identity/auth_service.hpp"
#include "identity/workspace_service.hpp"
#include "store/webhooks_repo.hpp"
#include "store/workspaces_repo.hpp"
#include "webhooks/endpoint.hpp"

namespace studio::api::v1 {
namespace {

using http::Request;
using http::Response;

// Not "The workspace does not exist.": that detail is the guard's, and this is the handler's own.
[[noreturn]] void NoWebhook() { throw NotFound("This workspace has no webhook."); }

// Field by field on purpose: the record also holds the secret, which only PUT may add.
Json WebhookJson(const store::WebhookRecord& w) {
  return Json{{"url", w.url},
              {"events", Json::parse(w.events_json)},
              {"createdAt", IsoUtcMs(w.created_at_ms)},
              {"updatedAt", IsoUtcMs(w.updated_at_ms)}};
}

std::string Url(const Json& body) {
  std::string url = RequiredString(body, "url", webhooks::kMaxUrlBytes);
  if (auto problem = webhooks::UrlProblem(url)) {
    throw ValidationFailed("'url' " + *problem + ".", {{"url", *problem}});
  }
  return url;
}

// Absent or null: every event type. Otherwise a non-empty array of known types (duplicates
// dropped), as the JSON text that is stored.
std::string Events(const Json& body) {
  auto it = body.find("events");
  Json events = Json::array();
  if (it == body.end() || it->is_null()) {
    for (std::string_view type : webhooks::kEventTypes) events.push_back(type);
    return events.dump();
  }
  if (!it->is_array() || it->empty()) {
    throw ValidationFailed("'events' must be a non-empty array of event types.",
                           {{"events", "must be a non-empty array"}});
  }
  for (const Json& e : *it) {
    if (!e.is_string() || !webhooks::IsKnownEventType(e.get<std::string>())) {
      throw ValidationFailed("'events' may hold document.ready and document.failed only.",
                             {{"events", "unknown event type"}});
    }
    if (std::find(events.begin(), events.end(), e) == events.end()) events.push_back(e);
  }
  return events.dump();
}

bool RotateSecret(const Json& body) {
  auto it = body.find("rotateSecret");
  if (it == body.end() || it->is_null()) return false;
  if (!it->is_boolean())
    throw ValidationFailed("'rotateSecret' must be a boolean.", {{"rotateSecret", "must be a boolean"}});
  return it->get<bool>();
}

Response NoStore(Response res) {
  res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

}  // namespace

void AddWebhookRoutes(http::Router& router, ApiContext& ctx) {
  AddGuarded(router, ctx, "PUT", "/api/v1/workspaces/{id}/webhook", [&ctx](Request& req, const Caller& caller) {
    Json body = ObjectBody(req);
    RejectUnknownFields(body, {"url", "events", "rotateSecret"});  // the secret and times are ours
    const std::string url = Url(body);
    const std::string events = Events(body);
    const bool rotate = RotateSecret(body);
    const std::string& workspace_id = req.Param("id");
    const std::int64_t now = UnixMillis();
    struct Saved {
      store::WebhookRecord record;
      std::optional<std::string> new_secret;  // only when this request created or rotated it
    };
    Saved saved = ctx.db->WriteValue([&](store::Tx& tx) {
      if (!store::workspaces::FindById(tx, workspace_id)) throw NotFound("The workspace does not exist.");
      const std::string secret = webhooks::NewSecret();
      bool created = store::webhooks::Insert(tx, {workspace_id, url, secret, events, now, now});
      if (!created &&
          !store::webhooks::Update(tx, workspace_id, url, events, rotate ? std::optional(secret) : std::nullopt, now)) {
        // Deleted by a concurrent request between the two statements: create it after all.
        created = store::webhooks::Insert(tx, {workspace_id, url, secret, events, now, now});
      }
      identity::AppendAudit(tx, workspace_id, identity::ActorOf(caller.Get()), "webhook.update", "success", caller.meta,
                            Json{{"endpoint", webhooks::UrlOrigin(url)},  // the path may hold the receiver's token
                                 {"events", Json::parse(events)},
                                 {"created", created},
                                 {"secretRotated", rotate && !created}}
                                .dump());
      auto stored = store::webhooks::Find(tx, workspace_id);
      if (!stored) NoWebhook();
      return Saved{*stored, created || rotate ? std::optional(secret) : std::nullopt};
    });
    Json out = WebhookJson(saved.record);
    if (saved.new_secret) out["secret"] = *saved.new_secret;  // the only time it is shown
    return NoStore(Response::MakeJson(200, out));
  });

  AddGuarded(router, ctx, "GET", "/api/v1/workspaces/{id}/webhook", [&ctx](Request& req, const Caller&) {
    auto webhook = ctx.db->ReadValue([&](store::Tx& tx) { return store::webhooks::Find(tx, req.Param("id")); });
    if (!webhook) NoWebhook();
    return NoStore(Response::MakeJson(200, WebhookJson(*webhook)));
  });

  AddGuarded(router, ctx, "DELETE", "/api/v1/workspaces/{id}/webhook", [&ctx](Request& req, const Caller& caller) {
    ctx.db->Write([&](store::Tx& tx) {
      if (!store::webhooks::Delete(tx, req.Param("id"))) NoWebhook();
      identity::AppendAudit(tx, std::string(req.Param("id")), identity::ActorOf(caller.Get()), "webhook.delete",
                            "success", caller.meta);
    });
    return Response::NoContent();
  });
}

}  // namespace studio::api::v1
