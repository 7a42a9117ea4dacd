#include "api/v1/auth_routes.hpp"

#include <optional>
#include <string>

#include "api/v1/body.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "store/db.hpp"

namespace studio::api::v1 {
namespace {

using http::Request;
using http::Response;

constexpr std::string_view kRefreshCookie = "refresh_token";

std::optional<std::string> CookieValue(const Request& req, std::string_view name) {
  auto header = req.Header("Cookie");
  if (!header) return std::nullopt;
  std::string_view rest = *header;
  while (!rest.empty()) {
    auto semi = rest.find(';');
    std::string_view pair = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
  }
  return std::nullopt;
}

std::string SetRefreshCookie(const std::string& token, std::int64_t max_age) {
  return std::string(kRefreshCookie) + "=" + token + "; Max-Age=" + std::to_string(max_age) +
         "; Path=/api/v1/auth; HttpOnly; Secure; SameSite=Strict";
}

// A cookie is sent by the browser on cross-site requests too; accept a cookie-authenticated
// state change only from our own origin or an allow-listed one (Bearer requests are immune).
void CheckSameOrigin(const ApiContext& ctx, const Request& req) {
  auto origin = req.Header("Origin");
  if (!origin) return;  // not a browser (browsers send Origin on every POST)
  auto host = req.Header("Host").value_or("");
  if (*origin == "https://" + std::string(host) || *origin == "http://" + std::string(host)) return;
  for (const auto& allowed : ctx.allowed_origins) {
    if (allowed == *origin) return;
  }
  throw Forbidden("Cross-site request refused.", "CSRF_REJECTED");
}

// Browsers always send Origin on POST; a request without it is a non-browser client, which
// has no cookie jar and gets the refresh token in the body instead.
bool RefreshInBody(const Request& req) { return !req.Header("Origin").has_value(); }

Response SessionResponse(const Request& req, int status, const identity::Session& s, Json body) {
  body["ok"] = true;
  body["accessToken"] = s.access_token;
  body["expiresAt"] = s.expires_at;
  body["workspaceId"] = s.workspace_id;
  body["role"] = s.role;
  if (RefreshInBody(req)) {
    body["refreshToken"] = s.refresh_token;
    body["refreshExpiresAt"] = s.refresh_expires_at;
  }
  Response res = Response::MakeJson(status, body);
  res.headers.emplace_back("Set-Cookie",
                           SetRefreshCookie(s.refresh_token, s.refresh_expires_at - identity::AuthService::Now()));
  res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

}  // namespace

void AddAuthRoutes(http::Router& router, ApiContext& ctx) {
  auto onboarding = [&ctx](const Request& req, const Caller& caller) {
    Json body = ObjectBody(req);
    RejectUnknownFields(body, {"workspaceName", "workspaceSlug", "adminEmail", "adminPassword", "name"});
    identity::OnboardingInput in;
    in.workspace_name = RequiredString(body, "workspaceName", 100);
    in.workspace_slug = OptionalString(body, "workspaceSlug", 48);
    in.email = RequiredString(body, "adminEmail", 254);
    in.password = RequiredString(body, "adminPassword", 1024);
    in.name = OptionalString(body, "name", 200);
    identity::Session s = ctx.auth->Onboard(in, caller.meta);
    return SessionResponse(req, 201, s, Json{{"workspaceSlug", s.workspace_slug}, {"userId", s.user_id}});
  };
  AddGuarded(router, ctx, "POST", "/api/v1/auth/onboarding", onboarding);
  AddGuarded(router, ctx, "POST", "/api/v1/auth/create-workspace", onboarding);

  AddGuarded(router, ctx, "POST", "/api/v1/auth/register", [&ctx](const Request& req, const Caller& caller) {
    Json body = ObjectBody(req);
    RejectUnknownFields(body, {"email", "password", "name"});
    std::string email = RequiredString(body, "email", 254);
    std::string password = RequiredString(body, "password", 1024);
    auto name = OptionalString(body, "name", 200);
    std::string user_id = ctx.auth->Register(email, password, name, caller.meta);
    Response res = Response::MakeJson(201, Json{{"ok", true}, {"userId", user_id}});
    res.headers.emplace_back("Cache-Control", "no-store");
    return res;
  });

  AddGuarded(router, ctx, "POST", "/api/v1/auth/login", [&ctx](const Request& req, const Caller& caller) {
    Json body = ObjectBody(req);
    std::string email = RequiredString(body, "email", 254);
    std::string password = RequiredString(body, "password", 1024);
    auto workspace_id = OptionalString(body, "workspaceId", 64);
    identity::Session s = ctx.auth->Login(email, password, workspace_id, caller.meta);
    return SessionResponse(req, 200, s, Json{{"userId", s.user_id}});
  });

  auto refresh = [&ctx](const Request& req, const Caller& caller) {
    std::optional<std::string> token;
    if (!req.body.empty()) token = OptionalString(ObjectBody(req), "refreshToken", 4096);
    if (!token) {
      token = CookieValue(req, kRefreshCookie);
      if (token) CheckSameOrigin(ctx, req);
    }
    if (!token) throw Unauthorized("A refresh token is required (cookie or body).", "INVALID_REFRESH_TOKEN");
    identity::Session s = ctx.auth->Refresh(*token, caller.meta);
    return SessionResponse(req, 200, s, Json{{"userId", s.user_id}});
  };
  AddGuarded(router, ctx, "POST", "/api/v1/auth/token", refresh);
  AddGuarded(router, ctx, "POST", "/api/v1/auth/token/refresh", refresh);

  auto logout = [&ctx](const Request& req, const Caller& caller) {
    std::optional<std::string> token;
    if (!req.body.empty()) token = OptionalString(ObjectBody(req), "refreshToken", 4096);
    if (!token) {
      token = CookieValue(req, kRefreshCookie);
      if (token) CheckSameOrigin(ctx, req);
    }
    std::optional<identity::Principal> principal = Authenticate(ctx, req);
    if (principal && principal->api_key) {
      throw Forbidden("API keys cannot log out; revoke the key instead.", "API_KEY_NOT_ALLOWED");
    }
    if (!principal && !token) throw Unauthorized("Send the access token or the refresh token to log out.");
    ctx.auth->Logout(principal ? &*principal : nullptr, token, caller.meta);
    Response res = Response::NoContent();
    res.headers.emplace_back("Set-Cookie", SetRefreshCookie("", 0));
    return res;
  };
  AddGuarded(router, ctx, "POST", "/api/v1/auth/logout", logout);
  AddGuarded(router, ctx, "POST", "/api/v1/auth/token/revoke", logout);

  AddGuarded(router, ctx, "GET", "/api/v1/auth/me", [&ctx](const Request&, const Caller& caller) {
    identity::AccountView a = ctx.auth->Account(caller.Get());
    Json workspaces = Json::array();
    for (const auto& [ws, role] : a.workspaces) {
      workspaces.push_back(Json{{"id", ws.id}, {"name", ws.name}, {"slug", ws.slug}, {"role", role}});
    }
    Response res = Response::MakeJson(200, Json{{"userId", a.principal.user_id},
                                                {"email", a.email},
                                                {"name", a.name ? Json(*a.name) : Json(nullptr)},
                                                {"isAdmin", a.principal.is_admin},
                                                {"workspaceId", a.principal.workspace_id},
                                                {"role", a.principal.role},
                                                {"workspaces", std::move(workspaces)}});
    res.headers.emplace_back("Cache-Control", "no-store");
    return res;
  });

  AddGuarded(router, ctx, "POST", "/api/v1/auth/token/revoke-all", [&ctx](const Request&, const Caller& caller) {
    ctx.auth->RevokeAll(caller.Get(), caller.meta);
    Response res = Response::NoContent();
    res.headers.emplace_back("Set-Cookie", SetRefreshCookie("", 0));
    return res;
  });

  AddGuarded(router, ctx, "POST", "/api/v1/auth/password", [&ctx](const Request& req, const Caller& caller) {
    Json body = ObjectBody(req);
    RejectUnknownFields(body, {"currentPassword", "newPassword"});
    std::string current = RequiredString(body, "currentPassword", 1024);
    std::string next = RequiredString(body, "newPassword", 1024);
    identity::Session s = ctx.auth->ChangePassword(caller.Get(), current, next, caller.meta);
    return SessionResponse(req, 200, s, Json{{"userId", s.user_id}});
  });

  AddGuarded(router, ctx, "POST", "/api/v1/auth/switch-workspace", [&ctx](const Request& req, const Caller& caller) {
    std::string workspace_id = RequiredString(ObjectBody(req), "workspaceId", 64);
    identity::Session s = ctx.auth->SwitchWorkspace(caller.Get(), workspace_id, caller.meta);
    return SessionResponse(req, 200, s, Json{{"userId", s.user_id}, {"workspaceSlug", s.workspace_slug}});
  });
}

}  // namespace studio::api::v1
