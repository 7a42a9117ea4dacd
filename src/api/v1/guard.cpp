#include "api/v1/guard.hpp"

#include <chrono>
#include <optional>
#include <stdexcept>

#include "api/v1/policy.hpp"
#include "auth/secrets.hpp"
#include "core/error.hpp"
#include "core/json.hpp"

namespace studio::api::v1 {
namespace {

using http::Request;
using http::Response;

constexpr std::string_view kWorkspacePath = "/api/v1/workspaces/{id}";
constexpr std::string_view kAdminPath = "/api/v1/admin/";

std::optional<std::string_view> BearerToken(const Request& req) {
  auto auth = req.Header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!auth || auth->size() <= kBearer.size() || !http::IEquals(auth->substr(0, kBearer.size()), kBearer)) {
    return std::nullopt;
  }
  return auth->substr(kBearer.size());
}

// Credentials in a URL end up in proxy logs, browser history and Referer headers: refuse them
// outright rather than ignore them, so the mistake is found on the first call.
void RefuseCredentialsInQuery(const Request& req) {
  for (const auto& [name, value] : req.query) {
    if (name == "api_key" || name == "apiKey" || name == "access_token" || name == "accessToken") {
      throw BadRequest("Credentials are never accepted in the URL; send them in the Authorization header.",
                       {{name, "not allowed in the query string"}}, "CREDENTIALS_IN_URL");
    }
  }
}

ratelimit::Limit PerMinute(std::string name, std::uint32_t n) {
  return ratelimit::Limit{std::move(name), n, std::chrono::minutes(1), n};
}

// Takes one cell and remembers the decision with the fewest cells left, whose RateLimit-*
// headers the response carries.
void Take(ApiContext& ctx, const ratelimit::Limit& limit, const std::string& key, std::string_view what,
          std::optional<ratelimit::Decision>& tightest) {
  ratelimit::Decision d = ctx.limiter->Take(limit, key, std::chrono::steady_clock::now());
  ratelimit::EnforceOrThrow(d, what);
  if (!tightest || d.remaining < tightest->remaining) tightest = d;
}

// Refuses the request and records why in the workspace's audit log.
[[noreturn]] void Deny(ApiContext& ctx, const identity::Principal& p, const Request& req,
                       const identity::RequestMeta& meta, const std::string& detail, const std::string& code) {
  ctx.db->Write([&](store::Tx& tx) {
    identity::AppendAudit(
        tx, p.workspace_id, p.user_id.empty() ? std::nullopt : std::optional(p.user_id), "authz.denied", "denied", meta,
        Json{{"method", req.method}, {"route", req.route}, {"role", p.role}, {"apiKey", p.api_key}, {"reason", code}}
            .dump());
  });
  throw Forbidden(detail, code);
}

}  // namespace

identity::RequestMeta MetaOf(const ratelimit::ClientIpResolver* client_ip, const Request& req) {
  identity::RequestMeta m;
  m.ip = client_ip ? client_ip->Resolve(req.remote_addr, req.Header("X-Forwarded-For")) : req.remote_addr;
  m.user_agent = std::string(req.Header("User-Agent").value_or(""));
  m.request_id = req.request_id;
  return m;
}

std::optional<identity::Principal> Authenticate(ApiContext& ctx, const Request& req, bool operator_allowed) {
  if (auto key = req.Header("X-API-Key")) return ctx.api_keys->Authenticate(*key);
  auto token = BearerToken(req);
  if (!token) return std::nullopt;
  // Compared as hashes, in constant time: the key's length and bytes do not leak through timing.
  if (operator_allowed && !ctx.operator_key.empty() &&
      auth::SecretHashEquals(auth::HashSecret(*token), auth::HashSecret(ctx.operator_key))) {
    identity::Principal p;
    p.role = "operator";
    p.is_admin = true;
    p.token_id = "operator";
    return p;
  }
  if (token->rfind("sk_", 0) == 0) return ctx.api_keys->Authenticate(*token);
  try {
    return ctx.auth->Authenticate(*token);
  } catch (Error& e) {
    e.headers().emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    throw;
  }
}

namespace {

// The guard of one route, built once at registration: the limits are fixed at startup (a zero
// rate is never taken). Shared by AddGuarded and AddGuardedSse so both check exactly the same.
struct Guard {
  ApiContext* ctx;
  const RoutePolicy* policy;
  bool workspace_path;
  bool operator_allowed;
  ratelimit::Limit ip_limit;
  ratelimit::Limit workspace_limit;
  ratelimit::Limit endpoint;
  bool limit_endpoint;

  static Guard For(ApiContext& ctx, const std::string& method, const std::string& pattern) {
    const RoutePolicy* policy = FindPolicy(method, pattern);
    if (!policy) throw std::logic_error("route " + method + " " + pattern + " has no row in the access policy");
    return Guard{&ctx,
                 policy,
                 pattern.rfind(kWorkspacePath, 0) == 0,
                 pattern.rfind(kAdminPath, 0) == 0,
                 PerMinute("api:ip", ctx.limits.per_ip_per_minute),
                 PerMinute("api:workspace", ctx.limits.per_workspace_per_minute),
                 PerMinute(method + " " + pattern, policy->per_minute),
                 ctx.limits.per_endpoint && policy->per_minute > 0};
  }

  /// Runs every check in order and throws the first refusal. `tightest` gets the rate-limit
  /// decision with the fewest cells left, whose RateLimit-* headers the response carries.
  Caller Check(const Request& req, std::optional<ratelimit::Decision>& tightest) const {
    RefuseCredentialsInQuery(req);
    Caller caller;
    caller.meta = MetaOf(ctx->client_ip, req);
    if (ctx->limits.per_ip_per_minute > 0) {
      Take(*ctx, ip_limit, caller.meta.ip, "requests from this address", tightest);
    }

    if ((policy->roles & kAnonymous) != 0) {
      if (limit_endpoint) Take(*ctx, endpoint, caller.meta.ip, "requests to this endpoint", tightest);
      return caller;
    }
    caller.principal = Authenticate(*ctx, req, operator_allowed);
    if (!caller.principal) {
      Unauthorized e("Authentication is required: send 'Authorization: Bearer <access token or API key>'.");
      e.headers().emplace_back("WWW-Authenticate", "Bearer");
      throw e;
    }
    const identity::Principal& p = *caller.principal;
    if (auto header = req.Header("X-Workspace-ID"); header && *header != p.workspace_id) {
      throw Forbidden("X-Workspace-ID names another workspace than the credentials; switch workspace first.",
                      "WORKSPACE_MISMATCH");
    }
    std::string_view workspace = p.workspace_id;
    std::uint32_t roles = RoleBitOf(p.role) | (p.is_admin ? kAdmin : 0U);
    if (workspace_path && req.Param("id") != p.workspace_id) {
      if (!p.is_admin) throw NotFound("The workspace does not exist.");
      workspace = req.Param("id");
      roles = kAdmin;  // the admin's own workspace role means nothing here
    }
    if (p.api_key && !policy->api_keys) {
      throw Forbidden("API keys cannot call this endpoint; it needs a signed-in user.", "API_KEY_NOT_ALLOWED");
    }
    if ((roles & policy->roles) == 0) {
      Deny(*ctx, p, req, caller.meta, "This needs one of these roles: " + RoleNames(policy->roles) + ".", "FORBIDDEN");
    }
    if (p.api_key && !ScopesAllow(p.scopes, policy->scope)) {
      Deny(*ctx, p, req, caller.meta, "This API key lacks the scope '" + std::string(policy->scope) + "'.",
           "INSUFFICIENT_SCOPE");
    }
    if (ctx->limits.per_workspace_per_minute > 0) {
      Take(*ctx, workspace_limit, std::string(workspace), "requests for this workspace", tightest);
    }
    if (limit_endpoint) Take(*ctx, endpoint, std::string(workspace), "requests to this endpoint", tightest);
    return caller;
  }
};

}  // namespace

void AddGuarded(http::Router& router, ApiContext& ctx, std::string method, std::string pattern, GuardedHandler handler,
                http::RouteOptions options, ErrorRenderer render_error) {
  auto guarded = [guard = Guard::For(ctx, method, pattern), handler = std::move(handler),
                  render_error = std::move(render_error)](Request& req) {
    std::optional<ratelimit::Decision> tightest;
    Response res;
    try {
      Caller caller = guard.Check(req, tightest);
      res = handler(req, caller);
    } catch (const Error& e) {
      if (!render_error) throw;
      return render_error(e);
    }
    if (tightest) {
      for (auto& h : ratelimit::RateLimitHeaders(*tightest)) res.headers.push_back(std::move(h));
    }
    return res;
  };
  router.Add(std::move(method), std::move(pattern), std::move(guarded), options);
}

void AddGuardedSse(http::Router& router, ApiContext& ctx, std::string method, std::string pattern,
                   GuardedSseHandler handler, http::RouteOptions options, ErrorRenderer render_error) {
  auto guarded = [guard = Guard::For(ctx, method, pattern), handler = std::move(handler),
                  render_error = std::move(render_error)](Request& req, http::SseStream& stream) {
    std::optional<ratelimit::Decision> tightest;
    try {
      Caller caller = guard.Check(req, tightest);  // throws before the first event: a problem response
      handler(req, caller, stream);
    } catch (const Error& e) {
      if (!render_error || stream.Started()) throw;
      stream.Respond(render_error(e));
    }
  };
  router.AddSse(std::move(method), std::move(pattern), std::move(guarded), options);
}

}  // namespace studio::api::v1
