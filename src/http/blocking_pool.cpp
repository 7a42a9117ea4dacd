#include "http/blocking_pool.hpp"

namespace studio::http {

BlockingPool::BlockingPool(std::size_t threads, std::size_t queue_capacity)
    : capacity_(queue_capacity), thread_count_(threads == 0 ? 1 : threads) {
  threads_.reserve(thread_count_);
  for (std::size_t i = 0; i < thread_count_; ++i) threads_.emplace_back([this] { Loop(); });
}

BlockingPool::~BlockingPool() { Stop(); }

bool BlockingPool::TrySubmit(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    // Queue capacity counts waiting tasks only; idle threads take work at once.
    std::size_t idle = thread_count_ - busy_;
    if (stopping_ || queue_.size() >= capacity_ + idle) {
      ++rejected_;
      return false;
    }
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void BlockingPool::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

std::size_t BlockingPool::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::size_t BlockingPool::busy() const {
  std::lock_guard lock(mu_);
  return busy_;
}

std::size_t BlockingPool::rejected_total() const {
  std::lock_guard lock(mu_);
  return rejected_;
}

void BlockingPool::Loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    task();  // tasks catch their own exceptions (the server wraps handlers)
    std::lock_guard lock(mu_);
    --busy_;
  }
}

}  // namespace studio::http
