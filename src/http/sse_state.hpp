#pragma once
// Shared between SseStream (the handler's own thread) and the connection's coroutine (io strand).

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http/asio.hpp"
#include "http/request.hpp"

namespace studio::http {

/// What the handler has committed to. Moves only forward: kPreparing → kStreaming or kResponded.
/// Until it leaves kPreparing nothing has been written, so the answer can still be anything.
enum class SsePhase {
  kPreparing,  // nothing sent yet: a thrown studio::Error still becomes a problem response
  kStreaming,  // the first event is queued: the head (200, text/event-stream) goes out
  kResponded,  // Respond() (or an error before the first event): an ordinary response
};

struct SseState : std::enable_shared_from_this<SseState> {
  SseState(asio::any_io_executor ex, std::size_t max_queued)
      : strand(std::move(ex)), wake(strand), max_queued_bytes(max_queued) {}

  /// Wakes the connection's coroutine (posted to the strand that owns `wake`).
  void Notify();
  /// Marks the stream cancelled, runs the cancel callbacks once, wakes the writer and any WaitFor.
  void Cancel();
  /// Queues bytes for the writer; the first push starts the stream (kPreparing → kStreaming).
  /// Cancels the stream when the client falls too far behind. Throws std::logic_error after an
  /// answer (kResponded): a response cannot turn into a stream.
  bool Push(std::string bytes);
  /// Answers with an ordinary response instead of a stream if nothing was sent yet, and returns the
  /// phase found: kPreparing means this answer is the one the client gets. Never throws.
  /// `error` is the internal detail of a failure, for the access record only.
  SsePhase Answer(Response res, std::string error = {});
  /// The handler returned: cancel callbacks registered by it are dropped (waiting for any a concurrent
  /// Cancel() is running), since they may point into its finished stack frame.
  void Finish();

  asio::any_io_executor strand;
  asio::steady_timer wake;  // touched only on `strand`
  const std::size_t max_queued_bytes;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> queue;                 // guarded by mu
  std::size_t queued_bytes = 0;                  // guarded by mu
  SsePhase phase = SsePhase::kPreparing;         // guarded by mu
  std::optional<Response> response;              // guarded by mu: set on entering kResponded
  std::string error;                             // guarded by mu: why the handler failed (logged only)
  bool finished = false;                         // guarded by mu: the handler returned
  std::vector<std::function<void()>> on_cancel;  // guarded by mu
  std::mutex callbacks_mu;                       // held while on_cancel callbacks run (see Cancel)
  std::atomic<bool> cancelled{false};
  std::atomic<bool> draining{false};
};

}  // namespace studio::http
