#include "queue/worker_pool.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "core/json.hpp"
#include "obs/log.hpp"

namespace studio::queue {

namespace detail {
/// One leased job while the pool holds it (shared by its worker, the heartbeat thread and Stop).
struct RunningJob {
  LeasedJob job;
  const QueueConfig* config = nullptr;
  store::Db* db = nullptr;
  JobQueue* queue = nullptr;
  const std::atomic<bool>* pool_stopping = nullptr;
  std::atomic<bool> lost{false};      // a heartbeat or progress found the lease gone
  std::atomic<bool> released{false};  // Stop gave the job back
  std::optional<std::string> result;  // only the worker thread touches it
};
}  // namespace detail

using detail::RunningJob;

const std::string& JobContext::job_id() const { return job_.job.lease.job_id; }
const std::optional<std::string>& JobContext::workspace_id() const { return job_.job.workspace_id; }
const std::string& JobContext::queue() const { return job_.job.queue; }
const std::string& JobContext::type() const { return job_.job.type; }
const std::string& JobContext::payload() const { return job_.job.payload; }
int JobContext::attempt() const { return job_.job.lease.attempt; }
int JobContext::max_attempts() const { return job_.job.max_attempts; }

bool JobContext::stopping() const { return job_.pool_stopping->load() || job_.lost.load() || job_.released.load(); }

void JobContext::SetResult(std::string result_json) {
  // Checked here so a bad result fails this job instead of the transaction that records a batch.
  if (!Json::accept(result_json)) throw std::invalid_argument("job result must be JSON");
  job_.result = std::move(result_json);
}

bool JobContext::Progress(int percent, std::string_view stage) {
  if (job_.lost.load() || job_.released.load()) return false;
  try {
    bool ok =
        job_.db->WriteValue([&](store::Tx& tx) { return job_.queue->Progress(tx, job_.job.lease, percent, stage); });
    if (!ok) job_.lost = true;
    return ok;
  } catch (const std::exception& e) {
    // Progress is informational: a database hiccup must not fail the job.
    obs::LogWarn("job progress not recorded", {{"job_id", job_id()}, {"error", e.what()}});
    return true;
  }
}

namespace {

using Clock = std::chrono::steady_clock;
using Outcome = JobFinished::Outcome;

/// What a worker decided for one job, written with the rest of its batch.
struct Decision {
  enum class Kind { kComplete, kRetry, kPermanent, kRelease };
  std::shared_ptr<RunningJob> job;
  Kind kind = Kind::kRelease;
  std::string error;
  std::chrono::nanoseconds duration{0};
};

struct QueueState {
  QueueConfig config;
  std::mutex mutex;
  std::condition_variable wake;
  std::uint64_t generation = 0;  // bumped by Notify; guarded by mutex
};

std::string DefaultWorkerName() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return std::string(host[0] != '\0' ? host : "worker") + ":" + std::to_string(getpid());
}

}  // namespace

struct WorkerPool::Impl {
  store::Db& db;
  JobQueue& queue;
  WorkerPoolOptions options;

  std::vector<std::unique_ptr<QueueState>> queues;  // fixed after Start
  std::map<std::string, JobHandler, std::less<>> handlers;

  std::atomic<bool> stopping{false};
  std::mutex lifecycle_mutex;
  bool started = false;
  bool stopped = false;

  std::vector<std::thread> workers;
  std::mutex workers_mutex;
  std::condition_variable workers_done;
  int running_workers = 0;  // guarded by workers_mutex

  std::thread heartbeat;
  std::mutex heartbeat_mutex;
  std::condition_variable heartbeat_wake;
  bool heartbeat_stop = false;  // guarded by heartbeat_mutex

  mutable std::mutex held_mutex;
  std::map<std::string, std::shared_ptr<RunningJob>> held;  // by job id

  Impl(store::Db& d, JobQueue& q, WorkerPoolOptions o) : db(d), queue(q), options(std::move(o)) {
    if (options.worker_name.empty()) options.worker_name = DefaultWorkerName();
    options.idle_min = std::max(options.idle_min, std::chrono::milliseconds(1));
    options.idle_max = std::max(options.idle_max, options.idle_min);
  }

  void WorkerLoop(QueueState& qs, int index) {
    const std::string owner = options.worker_name + "/" + qs.config.name + "/" + std::to_string(index);
    const LeaseRequest request{qs.config.name, owner, qs.config.visibility, qs.config.lease_batch};
    std::chrono::milliseconds idle = options.idle_min;
    while (!stopping.load()) {
      // Read before leasing: a Notify during the lease then cuts the following idle wait short.
      std::uint64_t seen;
      {
        std::lock_guard lock(qs.mutex);
        seen = qs.generation;
      }
      std::vector<LeasedJob> jobs;
      try {
        jobs = queue.Lease(db, request);
      } catch (const std::exception& e) {
        obs::LogWarn("job lease failed", {{"queue", qs.config.name}, {"error", e.what()}});
        IdleWait(qs, seen, options.idle_max);
        continue;
      }
      if (jobs.empty()) {
        IdleWait(qs, seen, idle);
        idle = std::min(idle * 2, options.idle_max);
        continue;
      }
      idle = options.idle_min;
      RunBatch(qs, std::move(jobs));
    }
    std::lock_guard lock(workers_mutex);
    --running_workers;
    workers_done.notify_all();
  }

  void IdleWait(QueueState& qs, std::uint64_t seen, std::chrono::milliseconds how_long) {
    std::unique_lock lock(qs.mutex);
    qs.wake.wait_for(lock, how_long, [&] { return stopping.load() || qs.generation != seen; });
  }

  void RunBatch(QueueState& qs, std::vector<LeasedJob> jobs) {
    std::vector<std::shared_ptr<RunningJob>> batch;
    batch.reserve(jobs.size());
    {
      std::lock_guard lock(held_mutex);
      for (LeasedJob& j : jobs) {
        auto rj = std::make_shared<RunningJob>();
        rj->job = std::move(j);
        rj->config = &qs.config;
        rj->db = &db;
        rj->queue = &queue;
        rj->pool_stopping = &stopping;
        held.insert_or_assign(rj->job.lease.job_id, rj);
        batch.push_back(std::move(rj));
      }
    }
    std::vector<Decision> decisions;
    decisions.reserve(batch.size());
    for (auto& rj : batch) {
      if (stopping.load() || rj->released.load()) {
        decisions.push_back(Decision{rj, Decision::Kind::kRelease, {}, {}});  // not started: give it back
        continue;
      }
      decisions.push_back(Run(rj));
    }
    Record(decisions);
    std::lock_guard lock(held_mutex);
    for (auto& rj : batch) held.erase(rj->job.lease.job_id);
  }

  Decision Run(const std::shared_ptr<RunningJob>& rj) {
    Decision d{rj, Decision::Kind::kComplete, {}, {}};
    const auto start = Clock::now();
    auto handler = handlers.find(rj->job.type);
    if (handler == handlers.end()) {
      d.kind = Decision::Kind::kRetry;
      d.error = "no handler registered for job type '" + rj->job.type + "'";
    } else {
      JobContext ctx(*rj);
      try {
        handler->second(ctx);
      } catch (const PermanentJobError& e) {
        d.kind = Decision::Kind::kPermanent;
        d.error = e.what();
      } catch (const std::exception& e) {
        d.kind = stopping.load() ? Decision::Kind::kRelease : Decision::Kind::kRetry;
        d.error = e.what();
      } catch (...) {
        d.kind = stopping.load() ? Decision::Kind::kRelease : Decision::Kind::kRetry;
        d.error = "the handler threw something that is not a std::exception";
      }
    }
    d.duration = Clock::now() - start;
    return d;
  }

  /// Writes a batch's outcomes in one transaction, in job-id order (the heartbeat writes in the
  /// same order, so the two never deadlock on PostgreSQL).
  void Record(std::vector<Decision>& decisions) {
    std::sort(decisions.begin(), decisions.end(),
              [](const Decision& a, const Decision& b) { return a.job->job.lease.job_id < b.job->job.lease.job_id; });
    std::vector<Outcome> outcomes(decisions.size(), Outcome::kLeaseLost);
    constexpr int kTries = 3;
    for (int attempt = 1; attempt <= kTries; ++attempt) {
      try {
        db.Write([&](store::Tx& tx) {
          for (std::size_t i = 0; i < decisions.size(); ++i) outcomes[i] = Apply(tx, decisions[i]);
        });
        break;
      } catch (const std::exception& e) {
        // The jobs stay leased; if this keeps failing their leases expire and they run again.
        obs::LogWarn("job outcome not recorded", {{"jobs", decisions.size()}, {"try", attempt}, {"error", e.what()}});
        std::fill(outcomes.begin(), outcomes.end(), Outcome::kLeaseLost);
        if (attempt < kTries) std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
      }
    }
    if (!options.on_job_finished) return;
    for (std::size_t i = 0; i < decisions.size(); ++i) {
      const LeasedJob& job = decisions[i].job->job;
      options.on_job_finished(JobFinished{job.queue, job.type, outcomes[i], decisions[i].duration});
    }
  }

  Outcome Apply(store::Tx& tx, const Decision& d) {
    const RunningJob& rj = *d.job;
    if (rj.released.load()) return Outcome::kReleased;
    if (rj.lost.load()) return Outcome::kLeaseLost;
    const JobLease& lease = rj.job.lease;
    switch (d.kind) {
      case Decision::Kind::kComplete:
        return queue.Complete(tx, lease, rj.result) ? Outcome::kCompleted : Outcome::kLeaseLost;
      case Decision::Kind::kRelease: return queue.Release(tx, lease) ? Outcome::kReleased : Outcome::kLeaseLost;
      case Decision::Kind::kRetry:
      case Decision::Kind::kPermanent:
        switch (queue.Fail(tx, lease, d.error, d.kind == Decision::Kind::kRetry)) {
          case FailOutcome::kRetrying: return Outcome::kRetrying;
          case FailOutcome::kDead: return Outcome::kDead;
          case FailOutcome::kLeaseLost: return Outcome::kLeaseLost;
        }
    }
    return Outcome::kLeaseLost;
  }

  std::vector<std::shared_ptr<RunningJob>> HeldSnapshot() const {
    std::lock_guard lock(held_mutex);
    std::vector<std::shared_ptr<RunningJob>> out;
    out.reserve(held.size());
    for (const auto& [id, rj] : held) out.push_back(rj);  // map order = job-id order
    return out;
  }

  void HeartbeatLoop(std::chrono::milliseconds interval) {
    for (;;) {
      {
        std::unique_lock lock(heartbeat_mutex);
        if (heartbeat_wake.wait_for(lock, interval, [&] { return heartbeat_stop; })) return;
      }
      std::vector<std::shared_ptr<RunningJob>> jobs = HeldSnapshot();
      std::erase_if(jobs, [](const auto& rj) { return rj->lost.load() || rj->released.load(); });
      if (jobs.empty()) continue;
      std::vector<char> kept(jobs.size(), 0);
      try {
        db.Write([&](store::Tx& tx) {
          for (std::size_t i = 0; i < jobs.size(); ++i) {
            kept[i] = queue.Heartbeat(tx, jobs[i]->job.lease, jobs[i]->config->visibility) ? 1 : 0;
          }
        });
      } catch (const std::exception& e) {
        obs::LogWarn("job heartbeat failed", {{"jobs", jobs.size()}, {"error", e.what()}});
        continue;
      }
      // A job that finished since the snapshot also reports false; its worker is done with it.
      for (std::size_t i = 0; i < jobs.size(); ++i) {
        if (kept[i] == 0) jobs[i]->lost = true;
      }
    }
  }

  void ReleaseAbandoned() {
    std::vector<std::shared_ptr<RunningJob>> jobs = HeldSnapshot();
    if (jobs.empty()) return;
    for (auto& rj : jobs) rj->released = true;
    try {
      std::int64_t n = db.WriteValue([&](store::Tx& tx) {
        std::int64_t released = 0;
        for (auto& rj : jobs) released += queue.Release(tx, rj->job.lease) ? 1 : 0;
        return released;
      });
      obs::LogInfo("released the leases of jobs still running at shutdown", {{"jobs", n}});
    } catch (const std::exception& e) {
      // They come back when their leases expire.
      obs::LogWarn("could not release job leases at shutdown", {{"jobs", jobs.size()}, {"error", e.what()}});
    }
  }
};

WorkerPool::WorkerPool(store::Db& db, JobQueue& queue, WorkerPoolOptions options)
    : impl_(std::make_unique<Impl>(db, queue, std::move(options))) {}

WorkerPool::~WorkerPool() { Stop(std::chrono::milliseconds(0)); }

void WorkerPool::AddQueue(QueueConfig config) {
  std::lock_guard lock(impl_->lifecycle_mutex);
  if (impl_->started) throw std::logic_error("WorkerPool::AddQueue after Start");
  if (config.name.empty()) throw std::invalid_argument("queue name must not be empty");
  if (config.concurrency < 1 || config.lease_batch < 1) {
    throw std::invalid_argument("queue concurrency and lease_batch must be at least 1");
  }
  if (config.visibility.count() < 3) throw std::invalid_argument("queue visibility must be at least 3 ms");
  for (const auto& q : impl_->queues) {
    if (q->config.name == config.name) throw std::invalid_argument("queue '" + config.name + "' added twice");
  }
  auto state = std::make_unique<QueueState>();
  state->config = std::move(config);
  impl_->queues.push_back(std::move(state));
}

void WorkerPool::Handle(std::string type, JobHandler handler) {
  std::lock_guard lock(impl_->lifecycle_mutex);
  if (impl_->started) throw std::logic_error("WorkerPool::Handle after Start");
  impl_->handlers.insert_or_assign(std::move(type), std::move(handler));
}

void WorkerPool::Start() {
  std::lock_guard lock(impl_->lifecycle_mutex);
  if (impl_->started) throw std::logic_error("WorkerPool::Start called twice");
  impl_->started = true;
  if (impl_->queues.empty()) return;
  std::chrono::milliseconds interval = impl_->queues.front()->config.visibility / 3;
  for (const auto& q : impl_->queues) interval = std::min(interval, q->config.visibility / 3);
  {
    std::lock_guard workers_lock(impl_->workers_mutex);
    for (const auto& q : impl_->queues) impl_->running_workers += q->config.concurrency;
  }
  for (const auto& q : impl_->queues) {
    for (int i = 0; i < q->config.concurrency; ++i) {
      impl_->workers.emplace_back([this, state = q.get(), i] { impl_->WorkerLoop(*state, i); });
    }
  }
  impl_->heartbeat = std::thread([this, interval] { impl_->HeartbeatLoop(interval); });
}

void WorkerPool::Notify(std::string_view queue) {
  for (const auto& q : impl_->queues) {
    if (!queue.empty() && q->config.name != queue) continue;
    {
      std::lock_guard lock(q->mutex);
      ++q->generation;
    }
    q->wake.notify_all();
  }
}

void WorkerPool::Stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(impl_->lifecycle_mutex);
    if (!impl_->started || impl_->stopped) return;
    impl_->stopped = true;
  }
  impl_->stopping = true;
  for (const auto& q : impl_->queues) {
    { std::lock_guard lock(q->mutex); }  // a worker between its check and its wait sees `stopping`
    q->wake.notify_all();
  }
  bool drained;
  {
    std::unique_lock lock(impl_->workers_mutex);
    drained = impl_->workers_done.wait_for(lock, grace, [&] { return impl_->running_workers == 0; });
  }
  if (!drained) impl_->ReleaseAbandoned();
  {
    std::lock_guard lock(impl_->heartbeat_mutex);
    impl_->heartbeat_stop = true;
  }
  impl_->heartbeat_wake.notify_all();
  if (impl_->heartbeat.joinable()) impl_->heartbeat.join();
  // Handlers of released jobs still run to their end; their outcomes are refused by the lease check.
  for (auto& t : impl_->workers) t.join();
}

std::size_t WorkerPool::held() const {
  std::lock_guard lock(impl_->held_mutex);
  return impl_->held.size();
}

}  // namespace studio::queue
