#include "api/access.hpp"

#include <chrono>
#include <cstdio>
#include <string>

#include "obs/log.hpp"
#include "store/db.hpp"

namespace studio::api {

HttpMetrics::HttpMetrics(obs::Registry& registry)
    : requests_(registry.AddCounter("http_requests_total", "HTTP requests served.", {"method", "route", "status"})),
      duration_(registry.AddHistogram("http_request_duration_seconds",
                                      "Time from the first byte of a request to the last byte of its response.",
                                      {"method", "route", "status"}, obs::kLatencySecondsBuckets)),
      request_size_(registry.AddHistogram("http_request_size_bytes", "Request body sizes.",
                                          {"method", "route", "status"}, obs::kSizeBytesBuckets)),
      response_size_(registry.AddHistogram("http_response_size_bytes", "Response body sizes.",
                                           {"method", "route", "status"}, obs::kSizeBytesBuckets)) {}

void HttpMetrics::Observe(const http::AccessRecord& r) {
  // Status codes come from a small set; formatting them is cheaper than a lookup table is clear.
  char status[8];
  int n = std::snprintf(status, sizeof status, "%d", r.status);
  std::string_view st(status, static_cast<std::size_t>(n));
  requests_.WithLabels({r.method, r.route, st}).Inc();
  duration_.WithLabels({r.method, r.route, st}).Observe(std::chrono::duration<double>(r.duration).count());
  request_size_.WithLabels({r.method, r.route, st}).Observe(static_cast<double>(r.bytes_in));
  response_size_.WithLabels({r.method, r.route, st}).Observe(static_cast<double>(r.bytes_out));
}

void LogAccess(const http::AccessRecord& r) {
  if (!obs::LogEnabled(obs::Level::kInfo)) return;
  double ms = std::chrono::duration<double, std::milli>(r.duration).count();
  if (!r.error.empty()) {
    // Rare, and the internal error text is free-form: take the fully redacted path.
    obs::LogError("request failed", {{"method", r.method},
                                     {"route", r.route},
                                     {"status", r.status},
                                     {"durationMs", ms},
                                     {"requestId", r.request_id},
                                     {"error", r.error}});
    return;
  }
  // Every field is a number or a value this process produced or validated (method token, route
  // template, request id, peer address), so the per-request line skips redaction.
  obs::LogTrusted(obs::Level::kInfo, "request",
                  {{"method", r.method},
                   {"route", r.route},
                   {"status", std::int64_t{r.status}},
                   {"durationMs", ms},
                   {"bytesIn", static_cast<std::int64_t>(r.bytes_in)},
                   {"bytesOut", static_cast<std::int64_t>(r.bytes_out)},
                   {"requestId", r.request_id},
                   {"remote", r.remote_addr}});
}

void RegisterDbMetrics(obs::Registry& registry, store::Db& db) {
  registry.AddCollector([&db](obs::MetricWriter& w) {
    store::PoolStats s = db.Stats();
    obs::Label backend{"backend", store::BackendName(db.backend())};
    auto gauge = [&](std::string_view name, std::string_view help, double v) {
      w.WriteGauge(name, help, v, {backend});
    };
    auto counter = [&](std::string_view name, std::string_view help, double v) {
      w.WriteCounter(name, help, v, {backend});
    };
    gauge("db_pool_size", "Maximum database connections.", static_cast<double>(s.size));
    gauge("db_pool_open", "Database connections open.", static_cast<double>(s.open));
    gauge("db_pool_in_use", "Database connections leased to a transaction.", static_cast<double>(s.in_use));
    gauge("db_pool_idle", "Database connections open and free.", static_cast<double>(s.idle));
    gauge("db_pool_waiting", "Threads waiting for a database connection.", static_cast<double>(s.waiting));
    counter("db_pool_acquires_total", "Database connection leases.", static_cast<double>(s.acquires_total));
    counter("db_pool_acquire_timeouts_total", "Leases that timed out waiting for a connection.",
            static_cast<double>(s.acquire_timeouts_total));
    counter("db_pool_connects_total", "Database connections opened.", static_cast<double>(s.connects_total));
    counter("db_pool_reconnects_total", "Broken database connections replaced.",
            static_cast<double>(s.reconnects_total));
    counter("db_queries_total", "Statements executed.", static_cast<double>(s.queries_total));
    counter("db_query_errors_total", "Statements that failed.", static_cast<double>(s.query_errors_total));
    counter("db_commits_total", "Transactions committed.", static_cast<double>(s.commits_total));
    counter("db_rollbacks_total", "Transactions rolled back.", static_cast<double>(s.rollbacks_total));
  });
}

}  // namespace studio::api
