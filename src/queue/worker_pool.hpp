#pragma once
// Runs jobs: N threads per queue lease jobs (JobQueue::Lease), run the handler registered for the
// job's type, and record the outcome (Complete, or Fail on an exception). One heartbeat thread
// extends the leases of every job the pool holds at a third of the queue's visibility timeout.
//
//   queue::WorkerPool pool(db, jobs);
//   pool.AddQueue({.name = "ingest", .concurrency = 2});
//   pool.Handle("document.extract", [](queue::JobContext& job) { … job.Progress(50, "extract"); … });
//   pool.Start();
//   db.Write([&](store::Tx& tx) { …insert document…; jobs.Enqueue(tx, {…}); });
//   pool.Notify("ingest");   // after the commit: an idle worker picks it up now
//   pool.Stop(std::chrono::seconds(30));
//
// Handlers run at least once per job (a worker can crash after the work but before Complete), so
// they must be idempotent. A handler throws PermanentJobError for input that will never work (a
// malformed file): the job goes straight to the dead-letter queue. Any other exception is a
// retryable failure. A job whose type has no handler fails (retryably: a newer process may have
// one). Handlers should check stopping() in long loops.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "queue/queue.hpp"
#include "store/db.hpp"

namespace studio::queue {

/// Thrown by a handler for a failure that retrying cannot fix: the job goes to the dead-letter
/// queue at once, with this message in its error history.
class PermanentJobError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
struct RunningJob;
}

/// What a handler sees of its job. Valid only during the handler call.
class JobContext {
 public:
  explicit JobContext(detail::RunningJob& job) : job_(job) {}

  const std::string& job_id() const;
  const std::optional<std::string>& workspace_id() const;
  const std::string& queue() const;
  const std::string& type() const;
  /// JSON text, as enqueued.
  const std::string& payload() const;
  /// 1 on the first run.
  int attempt() const;
  int max_attempts() const;

  /// Records progress (0..100) and a short stage label in its own transaction. False when the
  /// lease was lost (the job is someone else's now: stop working on it).
  bool Progress(int percent, std::string_view stage = {});
  /// True once the pool is stopping or the lease was lost: return (or throw) soon. A handler that
  /// throws while the pool is stopping has its job released, not failed.
  bool stopping() const;
  /// JSON stored as the job's result when the handler returns normally.
  void SetResult(std::string result_json);

 private:
  detail::RunningJob& job_;
};

using JobHandler = std::function<void(JobContext&)>;

struct QueueConfig {
  std::string name;
  /// Worker threads for this queue.
  int concurrency = 1;
  /// Jobs leased per transaction. Above 1, a worker runs its batch one job after the other and
  /// records all outcomes in one transaction at the end: fewer commits (fsyncs) for short jobs,
  /// at the cost of holding finished jobs' outcomes until the batch is done.
  int lease_batch = 1;
  std::chrono::milliseconds visibility{30000};
};

/// After every job, for metrics (job_processing_duration_seconds) and logs.
struct JobFinished {
  enum class Outcome { kCompleted, kRetrying, kDead, kReleased, kLeaseLost };
  std::string_view queue;
  std::string_view type;
  Outcome outcome;
  std::chrono::nanoseconds duration;
};

struct WorkerPoolOptions {
  /// Prefix of lease_owner (shown on leased jobs); default "<hostname>:<pid>".
  std::string worker_name;
  /// Idle workers poll the queue after idle_min, doubling up to idle_max, and at once on Notify.
  std::chrono::milliseconds idle_min{25};
  std::chrono::milliseconds idle_max{1000};
  /// Called on the worker thread; must be cheap and not throw.
  std::function<void(const JobFinished&)> on_job_finished;
};

class WorkerPool {
 public:
  /// db and queue must outlive the pool.
  WorkerPool(store::Db& db, JobQueue& queue, WorkerPoolOptions options = {});
  /// Stop(0) if still running.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Before Start. std::invalid_argument for a duplicate name or concurrency/batch < 1.
  void AddQueue(QueueConfig config);
  /// Before Start. Replaces an earlier handler for the same type.
  void Handle(std::string type, JobHandler handler);
  void Start();
  /// Wakes the idle workers of `queue` (every queue when empty) to lease now.
  void Notify(std::string_view queue = {});
  /// Stops leasing, waits up to `grace` for running jobs, then releases the leases of the jobs
  /// still running (they become eligible at once for another process) and waits for their
  /// handlers to return. Idempotent.
  void Stop(std::chrono::milliseconds grace);

  /// Jobs currently leased by this pool (running or waiting in a batch).
  std::size_t held() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace studio::queue
