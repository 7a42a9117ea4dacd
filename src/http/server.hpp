#pragma once
// The HTTP/1.1 server: Beast over Asio with C++20 coroutines, one strand per connection,
// N io threads. Handlers marked kBlocking run on the BlockingPool; SSE handlers each get a thread
// of their own (they mostly wait, and must not starve the pool); the io threads only parse, route
// and write. Limits, timeouts and security headers are enforced here for every route.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/blocking_pool.hpp"
#include "http/router.hpp"

namespace studio::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 = any free port (tests)
  int io_threads = 0;         // 0 = one per core
  std::size_t max_connections = 10'000;
  std::size_t header_limit = std::size_t{16} * 1024;  // request line + headers → 431
  std::size_t url_limit = std::size_t{8} * 1024;      // request target → 414
  std::size_t body_limit = std::size_t{1024} * 1024;  // default per-route body limit → 413
  std::chrono::milliseconds idle_timeout{60'000};     // keep-alive wait for the next request
  std::chrono::milliseconds header_timeout{10'000};   // first byte → end of headers (slowloris)
  std::chrono::milliseconds body_timeout{30'000};
  // Upload routes (RouteOptions::upload_to_file) stream multipart bodies to temp files.
  std::string upload_dir;  // empty = the system temp directory; when set, Listen() creates it (0700)
  std::size_t upload_limit = std::size_t{50} * 1024 * 1024;  // default per-route upload limit → 413
  // An upload may take body_timeout plus one second per upload_min_rate bytes received so far: a
  // client that stalls or drips is cut off once it falls body_timeout behind this rate.
  // 0 = no allowance (the whole upload must arrive within body_timeout).
  std::size_t upload_min_rate = std::size_t{32} * 1024;  // bytes per second
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds sse_heartbeat{15'000};
  std::size_t sse_max_queued_bytes = std::size_t{1024} * 1024;
  // SSE handlers run on one thread each (small stack: 1 MiB, 4 MiB under AddressSanitizer); past
  // this many open streams a new one is answered 503 SERVER_BUSY + Retry-After.
  std::size_t max_streams = 4096;
  std::chrono::milliseconds shutdown_grace{30'000};
  std::vector<std::string> cors_origins;  // exact origins, or "*" for any
  /// Paths whose handlers check the Origin themselves (the chat widget: each key has its own allowed
  /// origins): any origin gets CORS headers there, never with credentials.
  std::vector<std::string> open_cors_paths;
  int hsts_max_age = 0;                   // seconds; 0 = no Strict-Transport-Security header
};

/// One finished request, for the access log and metrics.
struct AccessRecord {
  std::string method;
  std::string route;  // the route template, or "unmatched"
  std::string path;
  int status = 0;  // as sent; 499 when the client left before any response was written
  std::chrono::nanoseconds duration{};
  std::size_t bytes_in = 0;
  std::size_t bytes_out = 0;
  std::string request_id;
  std::string remote_addr;
  std::string error;  // internal detail of a 5xx; logged, never sent
};

struct ServerHooks {
  std::function<void(const AccessRecord&)> on_complete;
  std::function<void(std::string_view what)> on_internal_error;  // unexpected failures outside a request
};

class Server {
 public:
  Server(ServerOptions options, const Router& router, BlockingPool& pool, ServerHooks hooks = {});
  /// Cancels any stream still open and waits for its handler to return.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds and listens; throws std::system_error with a clear message when the address is taken.
  void Listen();
  std::uint16_t port() const;
  /// Runs the io threads until shutdown completes (or the grace deadline passes), then waits until
  /// every SSE handler has returned (they are cancelled by then). Blocks.
  void Run();
  /// Thread-safe. Stops accepting, closes idle connections, lets in-flight requests finish, sends
  /// open SSE streams a retry hint and closes them by the deadline (a stream whose handler has not
  /// sent anything yet is answered 503 then). Run() then returns.
  void BeginShutdown();
  bool draining() const;
  std::size_t connections() const;
  /// SSE handlers running right now (each on its own thread); at most ServerOptions::max_streams.
  std::size_t open_streams() const;
  /// Registers a callback invoked on an io thread for SIGTERM/SIGINT (the server owns the io_context).
  void OnSignals(std::vector<int> signals, std::function<void(int)> fn);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace studio::http
