#pragma once
// What happens after every request: the HTTP metrics and the JSON access log line.

#include <memory>

#include "http/server.hpp"
#include "obs/metrics.hpp"

namespace studio::store {
class Db;
}

namespace studio::api {

/// http_requests_total, http_request_duration_seconds, http_request_size_bytes and
/// http_response_size_bytes, labelled {method, route, status} with the route template (never
/// the raw path, so label cardinality stays bounded).
class HttpMetrics {
 public:
  explicit HttpMetrics(obs::Registry& registry);
  void Observe(const http::AccessRecord& record);

 private:
  obs::CounterFamily& requests_;
  obs::HistogramFamily& duration_;
  obs::HistogramFamily& request_size_;
  obs::HistogramFamily& response_size_;
};

/// One JSON line per request: method, route template, status, duration, bytes, request id.
/// The raw path and query are not logged (they may carry personal data or tokens).
void LogAccess(const http::AccessRecord& record);

/// db_pool_* gauges and db_* counters from Db::Stats(), read at scrape time.
void RegisterDbMetrics(obs::Registry& registry, store::Db& db);

}  // namespace studio::api
