#pragma once
// The guard in front of every /api/v1 route registered with AddGuarded: rate limits, credentials
// (session JWT or API key), the workspace the request addresses, and the role the policy table
// (policy.cpp) demands — in that order, so a flood is refused before any database work.
//
//   requireAuth      — a row without kAnonymous needs credentials (401 otherwise)
//   requireWorkspace — `X-Workspace-ID` must equal the credentials' workspace (403
//                      WORKSPACE_MISMATCH); a /workspaces/{id} path of another workspace answers
//                      404, so ids cannot be probed (platform admins excepted)
//   requireRole      — the caller's role must be in the row (403, audited)

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "http/router.hpp"
#include "http/sse.hpp"
#include "identity/api_key_service.hpp"
#include "identity/auth_service.hpp"
#include "identity/invitation_service.hpp"
#include "identity/workspace_service.hpp"
#include "ratelimit/limiter.hpp"
#include "store/db.hpp"

namespace studio::ingest {
class Ingestion;
}
namespace studio::search {
class Retriever;
}
namespace studio::queue {
class JobQueue;
}
namespace studio::agent {
class AgentService;
}

namespace studio::api::v1 {

struct RateLimitConfig {
  std::uint32_t per_ip_per_minute = 1200;         // every guarded request; 0 = off
  std::uint32_t per_workspace_per_minute = 6000;  // authenticated requests per workspace; 0 = off
  bool per_endpoint = true;                       // the per-route limits of the policy table
};

/// What the v1 routes share. Owned by serve.cpp; outlives the router.
struct ApiContext {
  store::Db* db = nullptr;
  identity::AuthService* auth = nullptr;
  identity::ApiKeyService* api_keys = nullptr;
  identity::WorkspaceService* workspaces = nullptr;
  identity::InvitationService* invitations = nullptr;
  ratelimit::Limiter* limiter = nullptr;
  const ratelimit::ClientIpResolver* client_ip = nullptr;
  std::vector<std::string> allowed_origins;  // besides the server's own origin (CSRF check)
  RateLimitConfig limits;
  /// `Authorization: Bearer <operator key>` acts as a platform admin on /api/v1/admin/* routes
  /// (and nowhere else). Empty: no operator key.
  std::string operator_key;

  // The knowledge base.
  ingest::Ingestion* ingestion = nullptr;
  search::Retriever* retriever = nullptr;
  queue::JobQueue* jobs = nullptr;
  std::function<void()> jobs_enqueued;  // wakes this process's workers after a commit
  std::size_t max_upload_bytes = std::size_t{50} * 1024 * 1024;

  // The agent.
  agent::AgentService* agent = nullptr;
};

/// The caller of a guarded request. `principal` is empty only on public routes.
struct Caller {
  std::optional<identity::Principal> principal;
  identity::RequestMeta meta;

  /// The principal of a route that requires one.
  const identity::Principal& Get() const { return *principal; }
};

using GuardedHandler = std::function<http::Response(http::Request&, const Caller&)>;
using GuardedSseHandler = std::function<void(http::Request&, const Caller&, http::SseStream&)>;
/// Renders a refusal or failure (a studio::Error from the guard or the handler) in a route's own
/// error shape, e.g. OpenAI's for /v1/*. Unset: the standard problem+json response.
using ErrorRenderer = std::function<http::Response(const Error&)>;

/// Registers a route behind the guard. Throws std::logic_error when the policy table has no row
/// for method + pattern.
void AddGuarded(http::Router& router, ApiContext& ctx, std::string method, std::string pattern, GuardedHandler handler,
                http::RouteOptions options = {}, ErrorRenderer render_error = {});

/// Registers an event-stream route (Router::AddSse) behind the same guard. The checks run on the
/// stream's thread before the handler, so nothing is sent yet when one refuses: the client gets the
/// ordinary problem response (401, 403, 404, 429 + Retry-After …), never a stream. The RateLimit-*
/// headers of an admitted request are not sent (an event stream's head carries no handler headers).
void AddGuardedSse(http::Router& router, ApiContext& ctx, std::string method, std::string pattern,
                   GuardedSseHandler handler, http::RouteOptions options = {}, ErrorRenderer render_error = {});

/// The credentials of a request: `X-API-Key: sk_…`, `Authorization: Bearer sk_…` (API key) or
/// `Authorization: Bearer <JWT>` (session). nullopt when there are none; 401 when they are bad.
/// With `operator_allowed`, the operator key is accepted too, as a platform admin.
std::optional<identity::Principal> Authenticate(ApiContext& ctx, const http::Request& req,
                                                bool operator_allowed = false);

/// Client IP (through trusted proxies), user agent and request id, for the audit log.
identity::RequestMeta MetaOf(const ratelimit::ClientIpResolver* client_ip, const http::Request& req);

}  // namespace studio::api::v1
