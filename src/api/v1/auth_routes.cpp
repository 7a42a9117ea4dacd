#include "api/v1/auth_routes.hpp"

#include <optional>
#include <string>

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

identity::RequestMeta Meta(const AuthRoutesContext& ctx, const Request& req) { return MetaOf(ctx.client_ip, req); }

// A cookie is sent by the browser on cross-site requests too; accept a cookie-authenticated
// state change only from our own origin or an allow-listed one (Bearer requests are immune).
void CheckSameOrigin(const AuthRoutesContext& ctx, const Request& req) {
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
  res.headers.emplace_back("Set-Cookie", SetRefreshCookie(s.refresh_token, s.refresh_expires_at - identity::AuthService::Now()));
  res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

std::optional<std::string_view> BearerToken(const Request& req) {
  auto auth = req.Header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!auth || auth->size() <= kBearer.size() || !http::IEquals(auth->substr(0, kBearer.size()), kBearer)) {
    return std::nullopt;
  }
  return auth->substr(kBearer.size());
}

}  // namespace

std::string RequiredString(const Json& body, const char* field, std::size_t max) {
  auto it = body.find(field);
  if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    throw ValidationFailed(std::string("The field '") + field + "' is required.", {{field, "is required"}});
  }
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max) throw ValidationFailed(std::string("The field '") + field + "' is too long.", {{field, "too long"}});
  return s;
}

std::optional<std::string> OptionalString(const Json& body, const char* field, std::size_t max) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw ValidationFailed(std::string("The field '") + field + "' must be a string.", {{field, "must be a string"}});
  if (it->get_ref<const std::string&>().size() > max) {
    throw ValidationFailed(std::string("The field '") + field + "' is too long.", {{field, "too long"}});
  }
  return it->get<std::string>();
}

Json ObjectBody(const Request& req) {
  Json body = req.JsonBody();
  if (!body.is_object()) throw BadRequest("The request body must be a JSON object.", {{"body", "must be an object"}});
  return body;
}

void RejectUnknownFields(const Json& body, std::initializer_list<std::string_view> allowed) {
  std::vector<FieldError> errors;
  std::string names;
  for (const auto& [key, value] : body.items()) {
    bool ok = false;
    for (auto a : allowed) ok = ok || a == key;
    if (ok) continue;
    errors.push_back({key, "cannot be set"});
    names += (names.empty() ? "" : ", ") + key;
  }
  if (!errors.empty()) throw BadRequest("These fields cannot be set: " + names + ".", std::move(errors), "UNKNOWN_FIELDS");
}

identity::RequestMeta MetaOf(const ratelimit::ClientIpResolver* client_ip, const Request& req) {
  identity::RequestMeta m;
  m.ip = client_ip ? client_ip->Resolve(req.remote_addr, req.Header("X-Forwarded-For")) : req.remote_addr;
  m.user_agent = std::string(req.Header("User-Agent").value_or(""));
  m.request_id = req.request_id;
  return m;
}

identity::Principal RequireAuth(identity::AuthService& auth, const Request& req) {
  auto token = BearerToken(req);
  if (!token) {
    Unauthorized e("Authentication is required: send 'Authorization: Bearer <access token>'.");
    e.headers().emplace_back("WWW-Authenticate", "Bearer");
    throw e;
  }
  try {
    return auth.Authenticate(*token);
  } catch (Error& e) {
    e.headers().emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    throw;
  }
}

void AddAuthRoutes(http::Router& router, AuthRoutesContext& ctx) {
  auto onboarding = [&ctx](const Request& req) {
    Json body = ObjectBody(req);
    identity::OnboardingInput in;
    in.workspace_name = RequiredString(body, "workspaceName", 100);
    in.workspace_slug = OptionalString(body, "workspaceSlug", 48);
    in.email = RequiredString(body, "adminEmail", 254);
    in.password = RequiredString(body, "adminPassword", 1024);
    in.name = OptionalString(body, "name", 200);
    identity::Session s = ctx.auth->Onboard(in, Meta(ctx, req));
    return SessionResponse(req, 201, s, Json{{"workspaceSlug", s.workspace_slug}, {"userId", s.user_id}});
  };
  router.Add("POST", "/api/v1/auth/onboarding", onboarding);
  router.Add("POST", "/api/v1/auth/create-workspace", onboarding);

  router.Add("POST", "/api/v1/auth/login", [&ctx](const Request& req) {
    Json body = ObjectBody(req);
    std::string email = RequiredString(body, "email", 254);
    std::string password = RequiredString(body, "password", 1024);
    auto workspace_id = OptionalString(body, "workspaceId", 64);
    identity::Session s = ctx.auth->Login(email, password, workspace_id, Meta(ctx, req));
    return SessionResponse(req, 200, s, Json{{"userId", s.user_id}});
  });

  auto refresh = [&ctx](const Request& req) {
    std::optional<std::string> token;
    if (!req.body.empty()) token = OptionalString(ObjectBody(req), "refreshToken", 128);
    if (!token) {
      token = CookieValue(req, kRefreshCookie);
      if (token) CheckSameOrigin(ctx, req);
    }
    if (!token) throw Unauthorized("A refresh token is required (cookie or body).", "INVALID_REFRESH_TOKEN");
    identity::Session s = ctx.auth->Refresh(*token, Meta(ctx, req));
    return SessionResponse(req, 200, s, Json{{"userId", s.user_id}});
  };
  router.Add("POST", "/api/v1/auth/token", refresh);
  router.Add("POST", "/api/v1/auth/token/refresh", refresh);

  auto logout = [&ctx](const Request& req) {
    std::optional<std::string> token;
    if (!req.body.empty()) token = OptionalString(ObjectBody(req), "refreshToken", 128);
    if (!token) {
      token = CookieValue(req, kRefreshCookie);
      if (token) CheckSameOrigin(ctx, req);
    }
    std::optional<identity::Principal> principal;
    if (BearerToken(req)) principal = RequireAuth(*ctx.auth, req);
    if (!principal && !token) throw Unauthorized("Send the access token or the refresh token to log out.");
    ctx.auth->Logout(principal ? &*principal : nullptr, token, Meta(ctx, req));
    Response res = Response::NoContent();
    res.headers.emplace_back("Set-Cookie", SetRefreshCookie("", 0));
    return res;
  };
  router.Add("POST", "/api/v1/auth/logout", logout);
  router.Add("POST", "/api/v1/auth/token/revoke", logout);

  router.Add("GET", "/api/v1/auth/me", [&ctx](const Request& req) {
    identity::AccountView a = ctx.auth->Account(RequireAuth(*ctx.auth, req));
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

  router.Add("POST", "/api/v1/auth/token/revoke-all", [&ctx](const Request& req) {
    identity::Principal p = RequireAuth(*ctx.auth, req);
    ctx.auth->RevokeAll(p, Meta(ctx, req));
    Response res = Response::NoContent();
    res.headers.emplace_back("Set-Cookie", SetRefreshCookie("", 0));
    return res;
  });

  router.Add("POST", "/api/v1/auth/password", [&ctx](const Request& req) {
    identity::Principal p = RequireAuth(*ctx.auth, req);
    Json body = ObjectBody(req);
    std::string current = RequiredString(body, "currentPassword", 1024);
    std::string next = RequiredString(body, "newPassword", 1024);
    identity::Session s = ctx.auth->ChangePassword(p, current, next, Meta(ctx, req));
    return SessionResponse(req, 200, s, Json{{"userId", s.user_id}});
  });

  router.Add("POST", "/api/v1/auth/switch-workspace", [&ctx](const Request& req) {
    identity::Principal p = RequireAuth(*ctx.auth, req);
    std::string workspace_id = RequiredString(ObjectBody(req), "workspaceId", 64);
    identity::Session s = ctx.auth->SwitchWorkspace(p, workspace_id, Meta(ctx, req));
    return SessionResponse(req, 200, s, Json{{"userId", s.user_id}, {"workspaceSlug", s.workspace_slug}});
  });
}

}  // namespace studio::api::v1
