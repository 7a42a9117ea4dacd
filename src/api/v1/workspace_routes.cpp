#include "api/v1/workspace_routes.hpp"

#include <optional>
#include <string>

#include "api/v1/body.hpp"
#include "api/v1/iso_time.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "identity/invitation_service.hpp"
#include "identity/workspace_service.hpp"

namespace studio::api::v1 {
namespace {

using http::Request;
using http::Response;

Json WorkspaceJson(const identity::WorkspaceView& v) {
  return Json{{"id", v.workspace.id},
              {"name", v.workspace.name},
              {"slug", v.workspace.slug},
              {"plan", v.workspace.plan},
              {"role", v.role}};
}

Json MemberJson(const store::MemberRecord& m) {
  return Json{{"userId", m.user_id},
              {"email", m.email},
              {"name", m.name ? Json(*m.name) : Json(nullptr)},
              {"role", m.role},
              {"joinedAt", IsoUtc(m.joined_at)}};
}

// Deliberately field by field: the record also holds the token hash, which must never leave.
Json InvitationJson(const store::InvitationRecord& i) {
  return Json{{"id", i.id},
              {"workspaceId", i.workspace_id},
              {"email", i.email},
              {"role", i.role},
              {"invitedBy", i.invited_by ? Json(*i.invited_by) : Json(nullptr)},
              {"expiresAt", IsoUtc(i.expires_at)},
              {"createdAt", IsoUtc(i.created_at)}};
}

Response NoStore(Response res) {
  res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

// Like the login response, with the refresh token in the body (no cookie: its path is
// /api/v1/auth, and this client may not be a browser).
Response SessionJson(const identity::Session& s) {
  return NoStore(Response::MakeJson(200, Json{{"ok", true},
                                              {"userId", s.user_id},
                                              {"workspaceId", s.workspace_id},
                                              {"workspaceSlug", s.workspace_slug},
                                              {"role", s.role},
                                              {"accessToken", s.access_token},
                                              {"expiresAt", s.expires_at},
                                              {"refreshToken", s.refresh_token},
                                              {"refreshExpiresAt", s.refresh_expires_at}}));
}

void AddWorkspaceCrud(http::Router& router, ApiContext& ctx) {
  AddGuarded(router, ctx, "GET", "/api/v1/workspaces", [&ctx](Request&, const Caller& caller) {
    Json list = Json::array();
    for (const auto& v : ctx.workspaces->ListMine(caller.Get())) list.push_back(WorkspaceJson(v));
    return Response::MakeJson(200, Json{{"workspaces", std::move(list)}});
  });

  AddGuarded(router, ctx, "POST", "/api/v1/workspaces", [&ctx](Request& req, const Caller& caller) {
    Json body = ObjectBody(req);
    RejectUnknownFields(body, {"name", "slug"});
    std::string name = RequiredString(body, "name", 100);
    auto slug = OptionalString(body, "slug", 48);
    return Response::MakeJson(201, WorkspaceJson(ctx.workspaces->Create(caller.Get(), name, slug, caller.meta)));
  });

  AddGuarded(router, ctx, "GET", "/api/v1/workspaces/{id}", [&ctx](Request& req, const Caller& caller) {
    return Response::MakeJson(200, WorkspaceJson(ctx.workspaces->Get(caller.Get(), req.Param("id"))));
  });

  AddGuarded(router, ctx, "PATCH", "/api/v1/workspaces/{id}", [&ctx](Request& req, const Caller& caller) {
    Json body = ObjectBody(req);
    RejectUnknownFields(body, {"name"});  // id, slug, plan, role… are not the client's to set
    std::string name = RequiredString(body, "name", 100);
    return Response::MakeJson(200,
                              WorkspaceJson(ctx.workspaces->Rename(caller.Get(), req.Param("id"), name, caller.meta)));
  });

  AddGuarded(router, ctx, "DELETE", "/api/v1/workspaces/{id}", [&ctx](Request& req, const Caller& caller) {
    ctx.workspaces->Delete(caller.Get(), req.Param("id"), caller.meta);
    return Response::NoContent();
  });
}

void AddMemberRoutes(http::Router& router, ApiContext& ctx) {
  AddGuarded(router, ctx, "GET", "/api/v1/workspaces/{id}/members", [&ctx](Request& req, const Caller& caller) {
    Json list = Json::array();
    for (const auto& m : ctx.workspaces->Members(caller.Get(), req.Param("id"))) list.push_back(MemberJson(m));
    return Response::MakeJson(200, Json{{"members", std::move(list)}});
  });

  AddGuarded(
      router, ctx, "PATCH", "/api/v1/workspaces/{id}/members/{userId}", [&ctx](Request& req, const Caller& caller) {
        Json body = ObjectBody(req);
        RejectUnknownFields(body, {"role"});
        std::string role = RequiredString(body, "role", 32);
        return Response::MakeJson(200, MemberJson(ctx.workspaces->SetRole(caller.Get(), req.Param("id"),
                                                                          req.Param("userId"), role, caller.meta)));
      });

  AddGuarded(router, ctx, "DELETE", "/api/v1/workspaces/{id}/members/{userId}",
             [&ctx](Request& req, const Caller& caller) {
               ctx.workspaces->RemoveMember(caller.Get(), req.Param("id"), req.Param("userId"), caller.meta);
               return Response::NoContent();
             });
}

void AddInvitationRoutes(http::Router& router, ApiContext& ctx) {
  AddGuarded(router, ctx, "GET", "/api/v1/workspaces/{id}/invitations", [&ctx](Request& req, const Caller& caller) {
    Json list = Json::array();
    for (const auto& i : ctx.invitations->ListPending(caller.Get(), req.Param("id"))) list.push_back(InvitationJson(i));
    return Response::MakeJson(200, Json{{"invitations", std::move(list)}});
  });

  AddGuarded(router, ctx, "POST", "/api/v1/workspaces/{id}/invitations", [&ctx](Request& req, const Caller& caller) {
    Json body = ObjectBody(req);
    RejectUnknownFields(body, {"email", "role"});
    std::string email = RequiredString(body, "email", 254);
    std::string role = RequiredString(body, "role", 32);
    identity::IssuedInvitation issued =
        ctx.invitations->Create(caller.Get(), req.Param("id"), email, role, caller.meta);
    Json out = InvitationJson(issued.record);
    out["token"] = issued.token;  // the only time it is shown
    return NoStore(Response::MakeJson(201, out));
  });

  AddGuarded(router, ctx, "DELETE", "/api/v1/workspaces/{id}/invitations/{invitationId}",
             [&ctx](Request& req, const Caller& caller) {
               ctx.invitations->Revoke(caller.Get(), req.Param("id"), req.Param("invitationId"), caller.meta);
               return Response::NoContent();
             });

  // Public in the policy: the token is the credential. A Bearer session, when sent, says who
  // joins; otherwise the password does (and creates the account when there is none).
  AddGuarded(router, ctx, "POST", "/api/v1/invitations/accept", [&ctx](Request& req, const Caller& caller) {
    Json body = ObjectBody(req);
    RejectUnknownFields(body, {"token", "password", "name"});
    std::string token = RequiredString(body, "token", 128);
    std::optional<identity::Principal> session = Authenticate(ctx, req);
    if (session) {
      if (session->api_key) {
        throw Forbidden("API keys cannot accept invitations; a person does.", "API_KEY_NOT_ALLOWED");
      }
      return SessionJson(ctx.invitations->AcceptAsUser(*session, token, caller.meta));
    }
    std::string password = RequiredString(body, "password", 1024);
    auto name = OptionalString(body, "name", 200);
    return SessionJson(ctx.invitations->AcceptWithPassword(token, password, name, caller.meta));
  });
}

}  // namespace

void AddWorkspaceRoutes(http::Router& router, ApiContext& ctx) {
  AddWorkspaceCrud(router, ctx);
  AddMemberRoutes(router, ctx);
  AddInvitationRoutes(router, ctx);
}

}  // namespace studio::api::v1
