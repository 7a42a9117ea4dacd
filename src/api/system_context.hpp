#pragma once
// What the operational endpoints (health, status, readiness, metrics) need to know about the
// running process. Owned by the app; the routes only read it.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace studio::store {
class Db;
}
namespace studio::obs {
class Registry;
}
namespace studio::http {
class BlockingPool;
}

namespace studio::api {

/// starting → ready → draining. Readiness answers 200 only while ready.
enum class Lifecycle { kStarting, kReady, kDraining };

struct SystemContext {
  std::string version;
  std::string commit;
  std::string mode = "embedded";  // "embedded" (SQLite) or "scale-out" (PostgreSQL)
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::chrono::system_clock::time_point started_wall = std::chrono::system_clock::now();
  std::atomic<Lifecycle> lifecycle{Lifecycle::kStarting};

  store::Db* db = nullptr;
  obs::Registry* metrics = nullptr;
  http::BlockingPool* pool = nullptr;
  std::function<std::size_t()> open_connections;  // set once the server exists
  std::function<std::size_t()> open_streams;      // stream handlers running (SSE / agent routes)

  /// When non-empty, the metrics endpoints require `Authorization: Bearer <operator_key>`.
  std::string operator_key;

  double UptimeSeconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }
};

}  // namespace studio::api
