#pragma once
// Shared between SseStream (pool thread) and the connection's writer coroutine (io strand).

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http/asio.hpp"

namespace studio::http {

struct SseState : std::enable_shared_from_this<SseState> {
  SseState(asio::any_io_executor ex, std::size_t max_queued)
      : strand(std::move(ex)), wake(strand), max_queued_bytes(max_queued) {}

  /// Wakes the writer coroutine (posted to the strand that owns `wake`).
  void Notify();
  /// Marks the stream cancelled, runs the cancel callbacks once, wakes the writer and any WaitFor.
  void Cancel();
  /// Queues bytes for the writer; cancels the stream when the client falls too far behind.
  bool Push(std::string bytes);
  void Finish();

  asio::any_io_executor strand;
  asio::steady_timer wake;  // touched only on `strand`
  const std::size_t max_queued_bytes;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> queue;                 // guarded by mu
  std::size_t queued_bytes = 0;                  // guarded by mu
  bool finished = false;                         // guarded by mu: the handler returned
  std::vector<std::function<void()>> on_cancel;  // guarded by mu
  std::atomic<bool> cancelled{false};
  std::atomic<bool> draining{false};
};

}  // namespace studio::http
