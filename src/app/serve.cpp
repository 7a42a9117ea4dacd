#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <exception>
#include <fstream>
#include <memory>
#include <thread>

#include "api/access.hpp"
#include "api/debug_routes.hpp"
#include "api/system_context.hpp"
#include "api/v1/agent_routes.hpp"
#include "api/v1/api_key_routes.hpp"
#include "api/v1/audit_routes.hpp"
#include "api/v1/auth_routes.hpp"
#include "api/v1/document_routes.hpp"
#include "api/v1/conversation_routes.hpp"
#include "api/v1/job_routes.hpp"
#include "api/v1/openai_routes.hpp"
#include "api/v1/search_routes.hpp"
#include "api/v1/openapi_routes.hpp"
#include "api/v1/policy.hpp"
#include "api/v1/system_routes.hpp"
#include "api/v1/webhook_routes.hpp"
#include "api/v1/widget_routes.hpp"
#include "api/v1/workspace_routes.hpp"
#include "app/agent_setup.hpp"
#include "app/commands.hpp"
#include "app/database.hpp"
#include "app/knowledge_base.hpp"
#include "app/version.hpp"
#include "auth/secrets.hpp"
#include "http/blocking_pool.hpp"
#include "http/server.hpp"
#include "identity/api_key_service.hpp"
#include "identity/auth_service.hpp"
#include "obs/log.hpp"
#include "obs/metrics.hpp"
#include "obs/process_metrics.hpp"
#include "ratelimit/limiter.hpp"
#include "store/db.hpp"
#include "store/migrate.hpp"

namespace studio::app {
namespace {

int Cores() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

void RegisterServerMetrics(obs::Registry& registry, http::BlockingPool& pool, api::SystemContext& ctx) {
  registry.AddCollector([&pool, &ctx](obs::MetricWriter& w) {
    w.WriteGauge("http_connections_open", "Open client connections.",
                 static_cast<double>(ctx.open_connections ? ctx.open_connections() : 0));
    w.WriteGauge("http_streams_open", "Stream handlers running (agent chat, SSE), each on its own thread.",
                 static_cast<double>(ctx.open_streams ? ctx.open_streams() : 0));
    w.WriteGauge("blocking_pool_threads", "Threads of the blocking pool.", static_cast<double>(pool.threads()));
    w.WriteGauge("blocking_pool_busy", "Blocking-pool threads running a task.", static_cast<double>(pool.busy()));
    w.WriteGauge("blocking_pool_queued", "Tasks waiting for a blocking-pool thread.",
                 static_cast<double>(pool.queued()));
    w.WriteCounter("blocking_pool_rejected_total", "Tasks refused because the pool queue was full (503).",
                   static_cast<double>(pool.rejected_total()));
  });
}

// The access-token secret. Scale-out instances must share one, so it has to be configured; the
// embedded default generates one on first start and keeps it (0600) in the data dir so tokens
// survive restarts.
std::string LoadJwtSecret(const Config& c, bool embedded) {
  if (!c.jwt_secret.empty()) return c.jwt_secret;
  if (!embedded) {
    throw std::runtime_error("JWT_SECRET must be set (>= 32 bytes) when DATABASE_URL points at PostgreSQL");
  }
  std::string path = c.data_dir + "/jwt.secret";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    std::string secret = auth::NewRefreshToken() + auth::NewRefreshToken();  // 512 random bits
    bool ok = ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) throw std::runtime_error("cannot write " + path);
    obs::LogInfo("generated the access-token secret", {{"path", path}});
    return secret;
  }
  std::ifstream in(path);
  std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (secret.size() < 32) throw std::runtime_error(path + " holds fewer than 32 bytes; delete it to regenerate");
  return secret;
}

}  // namespace

int RunMigrate(const Config& c) {
  try {
    auto db = OpenAndMigrate(c, true);
    obs::LogInfo("schema up to date",
                 {{"version", store::SchemaVersion(*db)}, {"database", store::RedactUrl(c.EffectiveDatabaseUrl())}});
    db->Close();
    return 0;
  } catch (const std::exception& e) {
    obs::LogError("migration failed", {{"error", e.what()}});
    return 1;
  }
}

int RunServe(const Config& c) {
  std::signal(SIGPIPE, SIG_IGN);  // a vanished client must never kill the process
  api::SystemContext ctx;
  ctx.version = std::string(Version());
  ctx.commit = std::string(Commit());
  ctx.operator_key = c.operator_key;

  std::unique_ptr<store::Db> db;
  try {
    db = OpenAndMigrate(c, true);
  } catch (const std::exception& e) {
    obs::LogError("cannot open the database",
                  {{"error", e.what()}, {"database", store::RedactUrl(c.EffectiveDatabaseUrl())}});
    return 1;
  }
  ctx.db = db.get();
  ctx.mode = db->backend() == store::Backend::kSqlite ? "embedded" : "scale-out";

  std::unique_ptr<KnowledgeBase> kb;
  try {
    kb = std::make_unique<KnowledgeBase>(c, *db);
  } catch (const std::exception& e) {
    obs::LogError("cannot start the knowledge base", {{"error", e.what()}});
    return 1;
  }
  Agent agent;
  try {
    agent = MakeAgent(c, *db, *kb);
  } catch (const std::exception& e) {
    obs::LogError("cannot start the agent", {{"error", e.what()}});
    return 1;
  }

  obs::Registry registry;
  ctx.metrics = &registry;
  kb->RegisterMetrics(registry);
  agent.service->RegisterMetrics(registry);
  obs::RegisterProcessMetrics(registry);
  api::RegisterDbMetrics(registry, *db);
  api::HttpMetrics http_metrics(registry);

  int blocking = c.blocking_threads > 0 ? c.blocking_threads : std::max(4, 2 * Cores());
  http::BlockingPool pool(static_cast<std::size_t>(blocking), c.blocking_queue);
  ctx.pool = &pool;
  RegisterServerMetrics(registry, pool, ctx);

  identity::AuthConfig auth_config;
  try {
    auth_config.jwt_secret = LoadJwtSecret(c, db->backend() == store::Backend::kSqlite);
  } catch (const std::exception& e) {
    obs::LogError("cannot start", {{"error", e.what()}});
    return 1;
  }
  auth_config.lockout_seconds = std::chrono::duration_cast<std::chrono::seconds>(c.lockout_duration).count();
  if (c.test_routes) auth_config.hash_params = auth::FastTestParams();  // keeps the test suite fast
  ratelimit::InProcessLimiter limiter;
  ratelimit::ClientIpResolver client_ip(c.trusted_proxies);
  identity::AuthService auth_service(*db, limiter, auth_config);
  identity::ApiKeyService api_key_service(*db);
  identity::WorkspaceService workspace_service(*db);
  identity::InvitationService invitation_service(
      *db, auth_service, std::chrono::duration_cast<std::chrono::seconds>(c.invitation_ttl).count());
  api::v1::ApiContext api_ctx;
  api_ctx.db = db.get();
  api_ctx.auth = &auth_service;
  api_ctx.api_keys = &api_key_service;
  api_ctx.workspaces = &workspace_service;
  api_ctx.invitations = &invitation_service;
  api_ctx.limiter = &limiter;
  api_ctx.client_ip = &client_ip;
  api_ctx.allowed_origins = c.cors_origins;
  api_ctx.limits = {c.rate_limit_per_ip, c.rate_limit_per_workspace, c.rate_limit_endpoints};
  api_ctx.operator_key = c.operator_key;
  api_ctx.ingestion = &kb->ingestion();
  api_ctx.retriever = &kb->retriever();
  api_ctx.jobs = &kb->jobs();
  api_ctx.jobs_enqueued = [&kb] { kb->Notify(); };
  api_ctx.max_upload_bytes = c.max_upload_bytes;
  api_ctx.agent = agent.service.get();

  http::Router router;
  api::v1::AddSystemRoutes(router, ctx);
  api::v1::AddAuthRoutes(router, api_ctx);
  api::v1::AddApiKeyRoutes(router, api_ctx);
  api::v1::AddAuditRoutes(router, api_ctx);
  api::v1::AddWorkspaceRoutes(router, api_ctx);
  api::v1::AddDocumentRoutes(router, api_ctx);
  api::v1::AddSearchRoutes(router, api_ctx);
  api::v1::AddJobRoutes(router, api_ctx);
  api::v1::AddWebhookRoutes(router, api_ctx);
  api::v1::AddAgentRoutes(router, api_ctx);
  api::v1::AddConversationRoutes(router, api_ctx);
  api::v1::AddWidgetRoutes(router, api_ctx);
  api::v1::AddOpenAiRoutes(router, api_ctx);
  api::v1::AddOpenApiRoutes(router, api_ctx);
  try {
    api::v1::CheckEveryRouteHasPolicy(router);
  } catch (const std::logic_error& e) {
    obs::LogError("cannot start", {{"error", e.what()}});
    return 1;
  }
  if (c.test_routes) {
    api::AddDebugRoutes(router);
    api::AddRouteListing(router);
    obs::LogWarn("test routes enabled: /debug/* is reachable");
  }

  http::ServerOptions so;
  so.host = c.listen_host;
  so.port = c.listen_port;
  so.io_threads = c.io_threads;
  so.max_connections = c.max_connections;
  so.body_limit = c.max_body_bytes;
  so.upload_dir = c.data_dir + "/tmp";
  so.upload_limit = c.max_upload_bytes + std::size_t{64} * 1024;
  so.idle_timeout = c.idle_timeout;
  so.header_timeout = c.header_timeout;
  so.shutdown_grace = c.shutdown_grace;
  so.cors_origins = c.cors_origins;
  so.open_cors_paths = {"/api/v1/public/chat"};  // widget keys carry their own allowed origins
  so.hsts_max_age = c.hsts_max_age;

  http::ServerHooks hooks;
  bool access_log = c.access_log;
  hooks.on_complete = [&http_metrics, access_log](const http::AccessRecord& r) {
    http_metrics.Observe(r);
    if (access_log) api::LogAccess(r);
  };
  hooks.on_internal_error = [](std::string_view what) {
    obs::LogError("internal error", {{"error", std::string(what)}});
  };

  http::Server server(so, router, pool, hooks);
  try {
    server.Listen();
  } catch (const std::exception& e) {
    obs::LogError("cannot listen",
                  {{"error", e.what()}, {"listen", c.listen_host + ":" + std::to_string(c.listen_port)}});
    pool.Stop();
    db->Close();
    return 1;
  }
  ctx.open_connections = [&server] { return server.connections(); };
  ctx.open_streams = [&server] { return server.open_streams(); };
  server.OnSignals({SIGTERM, SIGINT}, [&ctx, &server](int signal) {
    if (ctx.lifecycle.exchange(api::Lifecycle::kDraining) == api::Lifecycle::kDraining) return;
    obs::LogInfo("shutting down", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
    server.BeginShutdown();
  });

  const int workers = c.workers >= 0 ? c.workers : Cores();
  kb->Start(workers);

  ctx.lifecycle = api::Lifecycle::kReady;
  obs::LogInfo("listening", {{"host", c.listen_host},
                             {"port", server.port()},
                             {"mode", ctx.mode},
                             {"database", store::RedactUrl(c.EffectiveDatabaseUrl())},
                             {"workers", workers},
                             {"embedder", std::string(kb->embedder().name())},
                             {"version", ctx.version},
                             {"commit", ctx.commit}});
  server.Run();

  // Run() returns once connections are drained (or the grace deadline passed); running jobs get
  // the same grace before their leases are released; finish queued work, then close the database
  // so every acknowledged write is on disk.
  kb->Stop(c.shutdown_grace);
  pool.Stop();
  db->Close();
  obs::LogInfo("stopped", {{"uptimeSeconds", ctx.UptimeSeconds()}});
  return 0;
}

}  // namespace studio::app
