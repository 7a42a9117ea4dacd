#pragma once
// Delivery of webhook events: the handler of "webhook.deliver" jobs on the queue "webhooks".
//
// Each run reads the workspace's endpoint as it is now (a deleted endpoint, or one no longer
// subscribed to the event, completes the job without sending anything), signs the job's payload
// and POSTs it with libcurl: connect timeout 5 s, total 10 s, no redirects followed. A 2xx answer
// completes the job; anything else (another status, a timeout, a refused connection) is a
// retryable failure, so the queue retries with backoff up to kMaxDeliveryAttempts and then keeps
// the job in the dead-letter queue, where an owner can see and retry it. Delivery is therefore at
// least once: receivers dedupe on Studio-Event-Id.
//
// Neither the secret nor the URL's path and query ever reach a log line or a job error (the
// endpoint is named by its origin only).

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "queue/worker_pool.hpp"
#include "store/db.hpp"

namespace studio::webhooks {

struct DeliveryOptions {
  /// "studio-webhooks/<version>".
  std::string user_agent = "studio-webhooks";
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{10000};
  /// Unix seconds for the signature; empty means the system clock.
  std::function<std::int64_t()> now_seconds = {};
};

/// The request headers of one attempt ("Name: value"): Content-Type, Studio-Signature (over
/// `body` at `unix_seconds`), Studio-Event-Id, User-Agent, and an empty Expect (no 100-continue
/// round trip).
std::vector<std::string> DeliveryHeaders(std::string_view secret, std::string_view event_id, std::string_view body,
                                         std::int64_t unix_seconds, std::string_view user_agent);

class Deliverer {
 public:
  /// `db` must outlive the Deliverer. Initialises libcurl once per process.
  Deliverer(store::Db& db, DeliveryOptions options);

  /// The job handler for kDeliverJobType.
  void Run(queue::JobContext& job);

 private:
  std::int64_t NowSeconds() const;

  store::Db& db_;
  DeliveryOptions options_;
};

}  // namespace studio::webhooks
