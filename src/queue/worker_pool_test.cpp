// WorkerPool on both backends with the real clock. Waits poll with a generous bound; nothing
// asserts how fast something happens.

#include "queue/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/json.hpp"
#include "queue/test_fixture.hpp"

namespace studio::queue::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

NewJob MakeJob(const char* workspace, std::string type, std::string queue = "work") {
  NewJob j;
  if (workspace != nullptr) j.workspace_id = workspace;
  j.queue = std::move(queue);
  j.type = std::move(type);
  return j;
}

/// Fast retries so retry paths finish quickly with the real clock.
JobQueueOptions FastRetries() {
  JobQueueOptions o;
  o.backoff = BackoffPolicy{milliseconds(10), milliseconds(50)};
  return o;
}

class WorkerPoolTest : public QueueTest {
 protected:
  JobStatus StatusOf(JobQueue& q, const std::string& id) { return Get(q, id).value().status; }
  bool Finished(JobQueue& q, const std::string& id) {
    JobStatus s = StatusOf(q, id);
    return s == JobStatus::kCompleted || s == JobStatus::kDead;
  }
};

TEST_P(WorkerPoolTest, RunsHandlersAndRecordsEveryOutcome) {
  JobQueue q(FastRetries());
  std::atomic<int> flaky_runs{0};
  std::mutex events_mutex;
  std::vector<JobFinished::Outcome> outcomes;
  WorkerPoolOptions options;
  options.on_job_finished = [&](const JobFinished& e) {
    std::lock_guard lock(events_mutex);
    outcomes.push_back(e.outcome);
  };
  WorkerPool pool(db(), q, options);
  pool.AddQueue({.name = "work", .concurrency = 2});
  pool.Handle("ok", [](JobContext& job) {
    EXPECT_EQ(job.workspace_id(), kWsA);
    EXPECT_EQ(job.attempt(), 1);
    job.SetResult(Json{{"echo", Json::parse(job.payload())}}.dump());
  });
  pool.Handle("flaky", [&](JobContext& job) {
    ++flaky_runs;
    if (job.attempt() < 3) throw std::runtime_error("transient " + std::to_string(job.attempt()));
  });
  pool.Handle("malformed", [](JobContext&) { throw PermanentJobError("not a PDF"); });
  pool.Handle("weird", [](JobContext&) { throw 42; });

  NewJob ok = MakeJob(kWsA, "ok");
  ok.payload = R"({"n":7})";
  std::string ok_id = Enqueue(q, ok);
  std::string flaky_id = Enqueue(q, MakeJob(kWsA, "flaky"));
  std::string malformed_id = Enqueue(q, MakeJob(kWsB, "malformed"));
  NewJob weird = MakeJob(nullptr, "weird");
  weird.max_attempts = 2;
  std::string weird_id = Enqueue(q, weird);
  NewJob unknown = MakeJob(kWsB, "nobody.handles.this");
  unknown.max_attempts = 1;
  std::string unknown_id = Enqueue(q, unknown);
  pool.Start();
  pool.Notify();

  const std::vector<std::string> ids{ok_id, flaky_id, malformed_id, weird_id, unknown_id};
  ASSERT_TRUE(Eventually([&] {
    for (const std::string& id : ids) {
      if (!Finished(q, id)) return false;
    }
    return true;
  }));
  pool.Stop(seconds(10));

  queue::Job done = Get(q, ok_id).value();
  EXPECT_EQ(done.status, JobStatus::kCompleted);
  EXPECT_EQ(Json::parse(done.result_json.value()), Json::parse(R"({"echo":{"n":7}})"));

  queue::Job flaky = Get(q, flaky_id).value();
  EXPECT_EQ(flaky.status, JobStatus::kCompleted);
  EXPECT_EQ(flaky.attempts, 3);
  EXPECT_EQ(flaky_runs.load(), 3);
  EXPECT_EQ(Json::parse(flaky.errors_json).size(), 2u);

  queue::Job malformed = Get(q, malformed_id).value();
  EXPECT_EQ(malformed.status, JobStatus::kDead);
  EXPECT_EQ(malformed.attempts, 1);
  EXPECT_EQ(malformed.last_error, "not a PDF");

  queue::Job weird_job = Get(q, weird_id).value();
  EXPECT_EQ(weird_job.status, JobStatus::kDead);
  EXPECT_EQ(weird_job.attempts, 2);
  EXPECT_NE(weird_job.last_error.value_or("").find("not a std::exception"), std::string::npos);

  queue::Job unknown_job = Get(q, unknown_id).value();
  EXPECT_EQ(unknown_job.status, JobStatus::kDead);
  EXPECT_NE(unknown_job.last_error.value_or("").find("no handler"), std::string::npos);

  std::lock_guard lock(events_mutex);
  std::map<JobFinished::Outcome, int> by_outcome;
  for (JobFinished::Outcome o : outcomes) ++by_outcome[o];
  EXPECT_EQ(by_outcome[JobFinished::Outcome::kCompleted], 2);
  EXPECT_EQ(by_outcome[JobFinished::Outcome::kRetrying], 3);  // flaky twice, weird once
  EXPECT_EQ(by_outcome[JobFinished::Outcome::kDead], 3);
}

TEST_P(WorkerPoolTest, BatchesRunEveryJobOnce) {
  JobQueue q;
  std::mutex mutex;
  std::map<std::string, int> runs;
  WorkerPool pool(db(), q);
  pool.AddQueue({.name = "work", .concurrency = 2, .lease_batch = 8});
  pool.Handle("count", [&](JobContext& job) {
    std::lock_guard lock(mutex);
    ++runs[job.job_id()];
  });
  db().Write([&](store::Tx& tx) {
    for (int i = 0; i < 50; ++i) q.Enqueue(tx, MakeJob(i % 2 == 0 ? kWsA : kWsB, "count"));
  });
  pool.Start();
  ASSERT_TRUE(Eventually([&] {
    std::vector<QueueCounts> c = db().ReadValue([&](store::Tx& tx) { return q.Counts(tx); });
    return !c.empty() && c[0].completed == 50;
  }));
  pool.Stop(seconds(10));
  std::lock_guard lock(mutex);
  EXPECT_EQ(runs.size(), 50u);
  for (const auto& [id, n] : runs) EXPECT_EQ(n, 1) << id;
}

TEST_P(WorkerPoolTest, NotifyWakesAnIdleWorker) {
  // Idle polling is an hour apart: only Notify can get the job run within the bound.
  std::atomic<int> leases{0};
  store::DbOptions db_options = store::testing::TestDatabase::Defaults();
  db_options.on_query = [&](const store::QueryEvent& e) {
    if (e.name == "jobs.lease_fair") ++leases;
  };
  std::unique_ptr<store::Db> counted = database().Open(db_options);

  JobQueue q;
  WorkerPoolOptions options;
  options.idle_min = std::chrono::hours(1);
  options.idle_max = std::chrono::hours(1);
  WorkerPool pool(*counted, q, options);
  pool.AddQueue({.name = "work"});
  std::atomic<bool> ran{false};
  pool.Handle("ping", [&](JobContext&) { ran = true; });
  pool.Start();
  ASSERT_TRUE(Eventually([&] { return leases.load() >= 1; }));  // it found nothing and went idle

  std::string id = Enqueue(q, MakeJob(kWsA, "ping"));
  pool.Notify("other-queue");  // wakes nobody here
  pool.Notify("work");
  EXPECT_TRUE(Eventually([&] { return ran.load(); }));
  pool.Stop(seconds(10));
  EXPECT_EQ(StatusOf(q, id), JobStatus::kCompleted);
  counted->Close();
}

TEST_P(WorkerPoolTest, ProgressIsVisibleWhileTheJobRuns) {
  JobQueue q;
  WorkerPool pool(db(), q);
  pool.AddQueue({.name = "work"});
  std::atomic<bool> reported{false};
  std::atomic<bool> proceed{false};
  pool.Handle("long", [&](JobContext& job) {
    EXPECT_TRUE(job.Progress(40, "extracting"));
    reported = true;
    while (!proceed.load() && !job.stopping()) std::this_thread::sleep_for(milliseconds(5));
  });
  std::string id = Enqueue(q, MakeJob(kWsA, "long"));
  pool.Start();
  ASSERT_TRUE(Eventually([&] { return reported.load(); }));
  queue::Job running = Get(q, id).value();
  EXPECT_EQ(running.status, JobStatus::kActive);
  EXPECT_EQ(running.progress, 40);
  EXPECT_EQ(running.stage, "extracting");
  EXPECT_EQ(pool.held(), 1u);
  proceed = true;
  ASSERT_TRUE(Eventually([&] { return StatusOf(q, id) == JobStatus::kCompleted; }));
  pool.Stop(seconds(10));
  EXPECT_EQ(pool.held(), 0u);
}

TEST_P(WorkerPoolTest, HeartbeatsKeepALongJobLeased) {
  JobQueue q;
  WorkerPool pool(db(), q);
  pool.AddQueue({.name = "work", .concurrency = 1, .lease_batch = 1, .visibility = milliseconds(600)});
  std::set<std::int64_t> expiries;
  pool.Handle("long", [&](JobContext& job) {
    // Runs until the heartbeat has moved the lease twice (bounded, in case it never does).
    const auto give_up = std::chrono::steady_clock::now() + seconds(30);
    while (expiries.size() < 3 && std::chrono::steady_clock::now() < give_up) {
      queue::Job row = Get(q, job.job_id()).value();
      if (row.lease_expires_at_ms) expiries.insert(*row.lease_expires_at_ms);
      std::this_thread::sleep_for(milliseconds(20));
    }
  });
  std::string id = Enqueue(q, MakeJob(kWsA, "long"));
  pool.Start();
  ASSERT_TRUE(Eventually([&] { return Finished(q, id); }, seconds(60)));
  pool.Stop(seconds(10));
  EXPECT_GE(expiries.size(), 3u);
  queue::Job job = Get(q, id).value();
  EXPECT_EQ(job.status, JobStatus::kCompleted);
  EXPECT_EQ(job.attempts, 1);
}

TEST_P(WorkerPoolTest, StopWaitsForRunningJobsWithinTheGrace) {
  JobQueue q;
  WorkerPool pool(db(), q);
  pool.AddQueue({.name = "work"});
  std::atomic<bool> started{false};
  std::atomic<bool> saw_stopping{false};
  pool.Handle("finish", [&](JobContext& job) {
    started = true;
    while (!job.stopping()) std::this_thread::sleep_for(milliseconds(2));
    saw_stopping = true;  // finishes its work although the pool is stopping
  });
  std::string id = Enqueue(q, MakeJob(kWsA, "finish"));
  pool.Start();
  ASSERT_TRUE(Eventually([&] { return started.load(); }));
  pool.Stop(seconds(30));
  EXPECT_TRUE(saw_stopping.load());
  EXPECT_EQ(StatusOf(q, id), JobStatus::kCompleted);
}

TEST_P(WorkerPoolTest, StopReleasesJobsThatOutliveTheGrace) {
  JobQueue q;
  WorkerPool pool(db(), q);
  pool.AddQueue({.name = "work"});
  std::atomic<bool> started{false};
  std::atomic<bool> release_handler{false};
  pool.Handle("stubborn", [&](JobContext&) {
    started = true;
    while (!release_handler.load()) std::this_thread::sleep_for(milliseconds(2));
  });
  std::string id = Enqueue(q, MakeJob(kWsA, "stubborn"));
  pool.Start();
  ASSERT_TRUE(Eventually([&] { return started.load(); }));
  std::thread stopper([&] { pool.Stop(milliseconds(50)); });
  // Stop gives the job back once the grace is over, then waits for the handler to return.
  ASSERT_TRUE(Eventually([&] { return StatusOf(q, id) == JobStatus::kWaiting; }));
  release_handler = true;
  stopper.join();
  queue::Job job = Get(q, id).value();
  EXPECT_EQ(job.status, JobStatus::kWaiting);  // the late completion was refused
  EXPECT_EQ(job.attempts, 0);
  EXPECT_FALSE(job.lease_owner);
  // Another process can take it at once.
  EXPECT_EQ(q.Lease(db(), LeaseRequest{"work", "next", seconds(30), 1}).size(), 1u);
}

TEST_P(WorkerPoolTest, ACrashedWorkersJobRunsAgainAfterItsLeaseExpires) {
  JobQueue q;
  std::string id = Enqueue(q, MakeJob(kWsA, "work.item"));
  // The "crashed" worker: leases with a short visibility timeout and never reports back.
  ASSERT_EQ(q.Lease(db(), LeaseRequest{"work", "crashed", milliseconds(200), 1}).size(), 1u);

  WorkerPoolOptions options;
  options.idle_max = milliseconds(50);
  WorkerPool pool(db(), q, options);
  pool.AddQueue({.name = "work"});
  std::atomic<int> attempt_seen{0};
  pool.Handle("work.item", [&](JobContext& job) { attempt_seen = job.attempt(); });
  pool.Start();
  ASSERT_TRUE(Eventually([&] { return StatusOf(q, id) == JobStatus::kCompleted; }));
  pool.Stop(seconds(10));
  EXPECT_EQ(attempt_seen.load(), 2);
  queue::Job job = Get(q, id).value();
  Json errors = Json::parse(job.errors_json);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0]["error"].get<std::string>().find("lease expired"), std::string::npos);
}

TEST_P(WorkerPoolTest, SeveralPoolsOnSeparateConnectionsNeverRunAJobTwice) {
  constexpr int kJobs = 500;
  db().Write([&](store::Tx& tx) {
    JobQueue q;
    const char* owners[] = {kWsA, kWsB, nullptr};
    for (int i = 0; i < kJobs; ++i) q.Enqueue(tx, MakeJob(owners[i % 3], "count"));
  });

  std::mutex mutex;
  std::set<std::string> running;
  std::map<std::string, int> runs;
  int overlaps = 0;
  auto handler = [&](JobContext& job) {
    {
      std::lock_guard lock(mutex);
      if (!running.insert(job.job_id()).second) ++overlaps;
      ++runs[job.job_id()];
    }
    std::this_thread::yield();
    std::lock_guard lock(mutex);
    running.erase(job.job_id());
  };

  // Each "process": its own Db connections, JobQueue and WorkerPool. Leases last long enough
  // that no legitimate re-lease happens.
  struct Process {
    std::unique_ptr<store::Db> db;
    std::unique_ptr<JobQueue> queue;
    std::unique_ptr<WorkerPool> pool;
  };
  std::vector<Process> processes(3);
  for (std::size_t i = 0; i < processes.size(); ++i) {
    Process& p = processes[i];
    p.db = database().Open();
    p.queue = std::make_unique<JobQueue>();
    WorkerPoolOptions options;
    options.worker_name = "process-" + std::to_string(i);
    options.idle_max = milliseconds(50);
    p.pool = std::make_unique<WorkerPool>(*p.db, *p.queue, options);
    p.pool->AddQueue({.name = "work", .concurrency = 2, .lease_batch = i == 1 ? 4 : 1, .visibility = seconds(60)});
    p.pool->Handle("count", handler);
  }
  for (Process& p : processes) p.pool->Start();
  JobQueue reader;
  ASSERT_TRUE(Eventually([&] {
    std::vector<QueueCounts> c = db().ReadValue([&](store::Tx& tx) { return reader.Counts(tx); });
    return !c.empty() && c[0].completed == kJobs;
  }));
  for (Process& p : processes) p.pool->Stop(seconds(10));
  for (Process& p : processes) p.db->Close();

  std::lock_guard lock(mutex);
  EXPECT_EQ(overlaps, 0);
  EXPECT_EQ(runs.size(), static_cast<std::size_t>(kJobs));
  for (const auto& [id, n] : runs) EXPECT_EQ(n, 1) << id;
}

INSTANTIATE_TEST_SUITE_P(Backends, WorkerPoolTest,
                         ::testing::Values(store::Backend::kSqlite, store::Backend::kPostgres),
                         [](const ::testing::TestParamInfo<store::Backend>& param) {
                           return std::string(store::BackendName(param.param));
                         });

}  // namespace
}  // namespace studio::queue::testing
