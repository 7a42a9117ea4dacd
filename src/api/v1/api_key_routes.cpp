#include "api/v1/api_key_routes.hpp"

#include <string>
#include <vector>

#include "api/v1/body.hpp"
#include "api/v1/iso_time.hpp"
#include "api/v1/policy.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "identity/api_key_service.hpp"
#include "identity/workspace_service.hpp"

namespace studio::api::v1 {
namespace {

using http::Request;
using http::Response;

int Rank(std::string_view role) {
  if (role == "admin") return 4;
  if (role == "owner") return 3;
  if (role == "member") return 2;
  return 1;  // agent, service: machine identities
}

Json OptionalTime(const std::optional<std::int64_t>& seconds) {
  return seconds ? Json(IsoUtc(*seconds)) : Json(nullptr);
}

// Field by field on purpose: the record also holds key_hash, which never leaves the server.
Json KeyJson(const store::ApiKeyRecord& k) {
  return Json{{"id", k.id},
              {"name", k.name},
              {"prefix", k.prefix},
              {"role", k.role},
              {"scopes", Json::parse(k.scopes_json)},
              {"createdAt", IsoUtc(k.created_at)},
              {"lastUsedAt", OptionalTime(k.last_used_at)},
              {"revokedAt", OptionalTime(k.revoked_at)},
              {"createdBy", k.created_by ? Json(*k.created_by) : Json(nullptr)}};
}

std::string KnownScopesText() {
  std::string out = "*";
  for (const auto& s : KnownScopes()) out += ", " + s;
  return out;
}

std::vector<std::string> Scopes(const Json& body) {
  std::vector<std::string> out;
  auto it = body.find("scopes");
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_array())
    throw ValidationFailed("'scopes' must be an array of strings.", {{"scopes", "must be an array"}});
  for (const auto& s : *it) {
    if (!s.is_string())
      throw ValidationFailed("'scopes' must be an array of strings.", {{"scopes", "must be strings"}});
    out.push_back(s.get<std::string>());
    if (!IsKnownScope(out.back())) {
      throw ValidationFailed("Unknown scope '" + out.back() + "'. Known scopes: " + KnownScopesText() + ".",
                             {{"scopes", "unknown scope"}});
    }
  }
  return out;
}

Response NoStore(Response res) {
  res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

}  // namespace

void AddApiKeyRoutes(http::Router& router, ApiContext& ctx) {
  AddGuarded(router, ctx, "POST", "/api/v1/workspaces/{id}/api-keys", [&ctx](Request& req, const Caller& caller) {
    Json body = ObjectBody(req);
    RejectUnknownFields(body, {"name", "role", "scopes"});  // id, prefix, key, workspace… are ours
    identity::NewApiKeyInput in;
    in.name = RequiredString(body, "name", 100);
    if (auto role = OptionalString(body, "role", 32)) in.role = *role;
    in.scopes = Scopes(body);
    identity::CheckApiKeyInput(in);
    const identity::Principal& p = caller.Get();
    // The guard has established that the caller is an owner here or a platform admin.
    std::string creator_role = p.is_admin ? "admin" : p.role;
    if (Rank(in.role) > Rank(creator_role)) {
      throw Forbidden("An API key cannot have a higher role than its creator.", "ROLE_TOO_HIGH");
    }
    identity::IssuedApiKey issued = ctx.api_keys->Create(req.Param("id"), in, identity::ActorOf(p), caller.meta);
    Json out = KeyJson(issued.record);
    out["key"] = issued.secret;  // the only time it is shown
    return NoStore(Response::MakeJson(201, out));
  });

  AddGuarded(router, ctx, "GET", "/api/v1/workspaces/{id}/api-keys", [&ctx](Request& req, const Caller& caller) {
    ctx.workspaces->Get(caller.Get(), req.Param("id"));  // 404 for a platform admin's unknown id
    Json list = Json::array();
    for (const auto& k : ctx.api_keys->List(req.Param("id"))) list.push_back(KeyJson(k));
    return NoStore(Response::MakeJson(200, Json{{"apiKeys", std::move(list)}}));
  });

  AddGuarded(router, ctx, "DELETE", "/api/v1/workspaces/{id}/api-keys/{keyId}",
             [&ctx](Request& req, const Caller& caller) {
               ctx.api_keys->Revoke(req.Param("id"), req.Param("keyId"), identity::ActorOf(caller.Get()), caller.meta);
               return Response::NoContent();
             });
}

}  // namespace studio::api::v1
