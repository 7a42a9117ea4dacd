#pragma once
// Shared by the queue tests: a migrated database on either backend with two workspaces, and a
// JobQueue on a manual clock (tests move time instead of sleeping).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "queue/queue.hpp"
#include "store/migrate.hpp"
#include "store/test_support.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::queue::testing {

inline constexpr char kWsA[] = "wks_a";
inline constexpr char kWsB[] = "wks_b";
inline constexpr std::int64_t kStartMs = 1'700'000'000'000;

class QueueTest : public store::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    store::Migrate(db());
    db().Write([](store::Tx& tx) {
      for (const char* w : {kWsA, kWsB}) store::workspaces::Insert(tx, store::WorkspaceRecord{w, w, w, "free"});
    });
  }

  /// A queue whose clock only moves when the test says so.
  JobQueueOptions ManualClock() {
    JobQueueOptions o;
    o.now_ms = [this] { return now_ms_.load(); };
    return o;
  }
  void Advance(std::chrono::milliseconds d) { now_ms_ += d.count(); }
  std::int64_t now() const { return now_ms_.load(); }

  std::string Enqueue(JobQueue& q, NewJob job) {
    return db().WriteValue([&](store::Tx& tx) { return q.Enqueue(tx, job); });
  }
  std::optional<Job> Get(JobQueue& q, std::string_view id) {
    return db().ReadValue([&](store::Tx& tx) { return q.Get(tx, Scope::Platform(), id); });
  }

  std::atomic<std::int64_t> now_ms_{kStartMs};
};

/// Polls `done` every 10 ms; false after `limit` (a generous bound, not a timing assertion).
template <class F>
bool Eventually(F done, std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace studio::queue::testing
