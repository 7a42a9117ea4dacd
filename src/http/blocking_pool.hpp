#pragma once
// A fixed set of threads for work that blocks or burns CPU (database, disk, parsing, hashing).
// asio::thread_pool has no bound on its queue; this one refuses work when full, so overload turns
// into a quick 503 + Retry-After instead of an ever-growing wait.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace studio::http {

class BlockingPool {
 public:
  BlockingPool(std::size_t threads, std::size_t queue_capacity);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  /// Queues a task; false when the queue is full or the pool is stopping.
  bool TrySubmit(std::function<void()> task);
  /// Runs queued tasks to completion, then joins the threads. Idempotent.
  void Stop();

  std::size_t threads() const { return thread_count_; }
  std::size_t capacity() const { return capacity_; }
  std::size_t queued() const;
  std::size_t busy() const;
  std::size_t rejected_total() const;

 private:
  void Loop();

  const std::size_t capacity_;
  const std::size_t thread_count_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  std::size_t busy_ = 0;                     // guarded by mu_
  std::size_t rejected_ = 0;                 // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace studio::http
