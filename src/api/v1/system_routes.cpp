#include "api/v1/system_routes.hpp"

#include <openssl/crypto.h>

#include <chrono>
#include <ctime>
#include <string>

#include "core/error.hpp"
#include "core/json.hpp"
#include "http/blocking_pool.hpp"
#include "obs/metrics.hpp"
#include "obs/process_metrics.hpp"
#include "store/db.hpp"
#include "store/migrate.hpp"

namespace studio::api::v1 {
namespace {

using http::Request;
using http::Response;
using http::RouteOptions;

std::string IsoTime(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// One dependency check: status "ok" or "down", how long it took and, when down, a client-safe
// reason. The driver's message stays in the server log (the store already logs it).
Json CheckDatabase(store::Db& db) {
  auto start = std::chrono::steady_clock::now();
  Json check{{"backend", std::string(store::BackendName(db.backend()))}};
  try {
    db.Ping();
    check["status"] = "ok";
  } catch (const std::exception&) {
    check["status"] = "down";
    check["error"] = "The database did not answer.";
  }
  check["latencyMs"] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return check;
}

std::string_view LifecycleName(Lifecycle l) {
  switch (l) {
    case Lifecycle::kStarting: return "starting";
    case Lifecycle::kReady: return "ready";
    case Lifecycle::kDraining: return "draining";
  }
  return "unknown";
}

Response Health(SystemContext& ctx) {
  Json db = CheckDatabase(*ctx.db);
  bool healthy = db["status"] == "ok";
  Json body{{"status", healthy ? "ok" : "unhealthy"},
            {"timestamp", IsoTime(std::chrono::system_clock::now())},
            {"uptimeSeconds", ctx.UptimeSeconds()},
            {"checks", {{"database", db}}}};
  return Response::MakeJson(healthy ? 200 : 503, body);
}

Response Status(SystemContext& ctx) {
  Json db = CheckDatabase(*ctx.db);
  bool healthy = db["status"] == "ok";
  Json body{{"status", healthy ? "ok" : "unhealthy"},
            {"version", ctx.version},
            {"commit", ctx.commit},
            {"mode", ctx.mode},
            {"lifecycle", LifecycleName(ctx.lifecycle.load())},
            {"startedAt", IsoTime(ctx.started_wall)},
            {"uptimeSeconds", ctx.UptimeSeconds()},
            {"checks", {{"database", db}}}};
  try {
    body["schemaVersion"] = store::SchemaVersion(*ctx.db);
  } catch (const std::exception&) {
    body["schemaVersion"] = nullptr;
  }
  try {
    obs::ProcessStats p = obs::ReadProcessStats();
    body["memory"] = {{"rssBytes", p.rss_bytes}, {"virtualBytes", p.virtual_bytes}};
    body["process"] = {{"cpuSeconds", p.cpu_seconds}, {"openFds", p.open_fds}};
  } catch (const std::exception&) {
    body["memory"] = nullptr;
  }
  store::PoolStats s = ctx.db->Stats();
  body["database"] = {{"backend", std::string(store::BackendName(ctx.db->backend()))},
                      {"poolSize", s.size},
                      {"open", s.open},
                      {"inUse", s.in_use},
                      {"idle", s.idle},
                      {"waiting", s.waiting}};
  Json http{{"openConnections", ctx.open_connections ? ctx.open_connections() : 0}};
  if (ctx.pool) {
    http["blockingPool"] = {{"threads", ctx.pool->threads()},
                            {"busy", ctx.pool->busy()},
                            {"queued", ctx.pool->queued()},
                            {"capacity", ctx.pool->capacity()}};
  }
  body["http"] = http;
  return Response::MakeJson(healthy ? 200 : 503, body);
}

// Constant-time comparison so response timing does not reveal how much of a guess was right.
bool KeyMatches(std::string_view given, std::string_view expected) {
  return given.size() == expected.size() && CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

Response Metrics(SystemContext& ctx, const Request& req) {
  if (!ctx.operator_key.empty()) {
    auto auth = req.Header("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (!auth || auth->size() <= kBearer.size() || !http::IEquals(auth->substr(0, kBearer.size()), kBearer) ||
        !KeyMatches(auth->substr(kBearer.size()), ctx.operator_key)) {
      Unauthorized e("The metrics endpoint requires the operator key as a Bearer token.");
      e.headers().emplace_back("WWW-Authenticate", "Bearer realm=\"studio-operator\"");
      throw e;
    }
  }
  return Response::Text(200, std::string(obs::kPrometheusContentType), ctx.metrics->RenderPrometheus());
}

}  // namespace

void AddSystemRoutes(http::Router& router, SystemContext& ctx) {
  // Checks touch the database: run them on the blocking pool.
  for (const char* path : {"/health", "/api/v1/system/health"}) {
    router.Add("GET", path, [&ctx](const Request&) { return Health(ctx); });
  }
  for (const char* path : {"/status", "/api/v1/system/status"}) {
    router.Add("GET", path, [&ctx](const Request&) { return Status(ctx); });
  }
  for (const char* path : {"/metrics", "/api/v1/observability/metrics"}) {
    router.Add("GET", path, [&ctx](const Request& req) { return Metrics(ctx, req); });
  }

  // Readiness and liveness never block: answered on the io thread from memory.
  RouteOptions inline_route{.execution = http::Execution::kInline};
  router.Add(
      "GET", "/status/ready",
      [&ctx](const Request&) {
        Lifecycle l = ctx.lifecycle.load();
        if (l != Lifecycle::kReady) {
          throw ServiceUnavailable(
              l == Lifecycle::kDraining ? "The server is shutting down." : "The server is starting.", 1, "NOT_READY");
        }
        return Response::MakeJson(200, Json{{"status", "ready"}});
      },
      inline_route);
  router.Add(
      "GET", "/status/live",
      [](const Request&) {
        static const std::string kBody = R"({"status":"ok"})";
        return Response::Text(200, "application/json", kBody);
      },
      inline_route);
}

}  // namespace studio::api::v1
