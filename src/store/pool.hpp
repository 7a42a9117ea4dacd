#pragma once
// A bounded connection pool shared by both backends (SQLite's writer is a pool of one).
// Connections are opened lazily up to `size`; Acquire waits up to acquire_timeout for one to
// come free and then throws DbUnavailable, so an overloaded database turns into a quick 503
// instead of an unbounded queue of blocked threads.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "store/db.hpp"
#include "store/internal.hpp"

namespace studio::store::detail {

struct PoolCounters {
  std::size_t size = 0;
  std::size_t open = 0;
  std::size_t in_use = 0;
  std::size_t idle = 0;
  std::size_t waiting = 0;
  std::uint64_t acquires = 0;
  std::uint64_t acquire_timeouts = 0;
  std::uint64_t connects = 0;
  std::uint64_t reconnects = 0;
};

template <class Conn>
class ConnectionPool {
 public:
  /// Opens one connection; throws (DbUnavailable / DbError) when it cannot.
  using Factory = std::function<std::unique_ptr<Conn>()>;

  /// Exclusive use of one connection; returns it to the pool on destruction.
  class Lease {
   public:
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)), discard_(other.discard_) {}
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->Release(std::move(conn_), discard_);
    }

    Conn& operator*() const { return *conn_; }
    Conn* operator->() const { return conn_.get(); }
    /// The connection is broken or in an unknown state: close it instead of reusing it.
    void Discard() { discard_ = true; }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}

    ConnectionPool* pool_;
    std::unique_ptr<Conn> conn_;
    bool discard_ = false;
  };

  ConnectionPool(std::size_t size, std::chrono::milliseconds acquire_timeout, Factory factory)
      : size_(size), acquire_timeout_(acquire_timeout), factory_(std::move(factory)) {}
  ~ConnectionPool() { Close(); }
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  Lease Acquire() {
    std::unique_lock lock(mu_);
    ++acquires_;
    auto available = [this] { return closed_ || !idle_.empty() || open_ < size_; };
    if (!available()) {
      ++waiting_;
      bool ok = cv_.wait_for(lock, acquire_timeout_, available);
      --waiting_;
      if (!ok) {
        ++acquire_timeouts_;
        throw DbUnavailable(std::string(kBusyDetail), "acquire",
                            "no free connection within " + std::to_string(acquire_timeout_.count()) +
                                " ms (pool size " + std::to_string(size_) + ")");
      }
    }
    if (closed_) throw DbUnavailable(std::string(kClosedDetail), "acquire", "the pool is closed");
    ++in_use_;
    if (!idle_.empty()) {
      // Most recently used first: it is the one most likely to still be alive and warm.
      std::unique_ptr<Conn> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    ++open_;
    lock.unlock();
    // Connecting can take seconds (network, TLS, auth); other threads keep using the pool.
    try {
      std::unique_ptr<Conn> conn = factory_();
      lock.lock();
      ++connects_;
      lock.unlock();
      return Lease(this, std::move(conn));
    } catch (...) {
      lock.lock();
      --open_;
      --in_use_;
      cv_.notify_all();
      throw;
    }
  }

  /// Refuses new leases, closes idle connections and waits until every lease has come back.
  /// Idempotent. Must not be called while the calling thread holds a lease.
  void Close() {
    std::vector<std::unique_ptr<Conn>> doomed;
    {
      std::unique_lock lock(mu_);
      closed_ = true;
      doomed.swap(idle_);
      open_ -= doomed.size();
      cv_.notify_all();
      cv_.wait(lock, [this] { return in_use_ == 0; });
    }
    doomed.clear();  // outside the lock: closing a network connection may block
  }

  void NoteReconnect() {
    std::lock_guard lock(mu_);
    ++reconnects_;
  }

  PoolCounters Counters() const {
    std::lock_guard lock(mu_);
    return PoolCounters{size_,     open_,      in_use_, idle_.size(), waiting_, acquires_, acquire_timeouts_,
                        connects_, reconnects_};
  }

 private:
  void Release(std::unique_ptr<Conn> conn, bool discard) {
    std::unique_lock lock(mu_);
    --in_use_;
    if (discard || closed_ || conn == nullptr) {
      --open_;
      cv_.notify_all();
      lock.unlock();
      conn.reset();
      return;
    }
    idle_.push_back(std::move(conn));
    cv_.notify_all();
  }

  const std::size_t size_;
  const std::chrono::milliseconds acquire_timeout_;
  const Factory factory_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;  // guarded by mu_
  std::size_t open_ = 0;                     // idle + in use + being opened; guarded by mu_
  std::size_t in_use_ = 0;                   // guarded by mu_
  std::size_t waiting_ = 0;                  // guarded by mu_
  std::uint64_t acquires_ = 0;               // guarded by mu_
  std::uint64_t acquire_timeouts_ = 0;       // guarded by mu_
  std::uint64_t connects_ = 0;               // guarded by mu_
  std::uint64_t reconnects_ = 0;             // guarded by mu_
  bool closed_ = false;                      // guarded by mu_
};

}  // namespace studio::store::detail
