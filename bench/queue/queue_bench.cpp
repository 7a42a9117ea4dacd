// Durable job-queue throughput: enqueue N jobs, then a WorkerPool runs a no-op handler until all
// are completed; prints jobs/min for each configuration.
//
//   queue_bench                 SQLite (a file in a fresh temp dir, synchronous=FULL as in production)
//   QUEUE_BENCH_PG_URL=postgresql://… queue_bench     adds PostgreSQL. Use a throwaway database:
//                               it is migrated and its jobs table is EMPTIED before each run.
//                               STUDIO_TEST_PG_URL (scripts/with-postgres.sh) is used when
//                               QUEUE_BENCH_PG_URL is unset.
//   QUEUE_BENCH_JOBS=20000      jobs per batched run (unbatched runs use a tenth)
//   QUEUE_BENCH_SQLITE_SYNC=normal   SQLite synchronous=NORMAL instead (survives a crash of the
//                               process, may lose the last commits on power loss: compare with
//                               Redis appendfsync=everysec)
//
// What is batched is printed on every line: "enqueue/tx" jobs per enqueue transaction and
// "lease/tx" jobs per lease transaction (a worker then records that batch's outcomes in one
// transaction too). Every commit is durable (fsync on SQLite; on PostgreSQL whatever the server's
// fsync/synchronous_commit say — with-postgres.sh turns both off).

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "queue/queue.hpp"
#include "queue/worker_pool.hpp"
#include "store/db.hpp"
#include "store/migrate.hpp"
#include "store/workspaces_repo.hpp"

namespace {

using namespace studio;
using Clock = std::chrono::steady_clock;

constexpr int kWorkspaces = 10;
constexpr store::Query kTruncate{"bench.truncate", "DELETE FROM jobs", "TRUNCATE jobs"};
constexpr store::Query kWorkspaceExists{"bench.workspace_exists", "SELECT 1 FROM workspaces WHERE id = $1"};

struct Config {
  int jobs;
  int enqueue_batch;  // jobs per enqueue transaction
  int concurrency;    // worker threads
  int lease_batch;    // jobs per lease transaction
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void Run(store::Db& db, std::string_view backend, const Config& c) {
  db.Write([](store::Tx& tx) { tx.Exec(kTruncate); });
  queue::JobQueue jobs;

  const auto enqueue_start = Clock::now();
  for (int done = 0; done < c.jobs;) {
    const int n = std::min(c.enqueue_batch, c.jobs - done);
    db.Write([&](store::Tx& tx) {
      for (int i = 0; i < n; ++i) {
        queue::NewJob j;
        j.workspace_id = "wks_bench" + std::to_string((done + i) % kWorkspaces);
        j.queue = "bench";
        j.type = "noop";
        j.payload = R"({"document":"doc_0123456789"})";
        jobs.Enqueue(tx, j);
      }
    });
    done += n;
  }
  const auto enqueue_end = Clock::now();

  std::atomic<int> finished{0};
  queue::WorkerPoolOptions options;
  options.idle_min = std::chrono::milliseconds(1);
  options.idle_max = std::chrono::milliseconds(20);
  options.on_job_finished = [&](const queue::JobFinished& e) {
    if (e.outcome == queue::JobFinished::Outcome::kCompleted) ++finished;
  };
  queue::WorkerPool pool(db, jobs, options);
  pool.AddQueue({.name = "bench", .concurrency = c.concurrency, .lease_batch = c.lease_batch});
  pool.Handle("noop", [](queue::JobContext&) {});
  const auto process_start = Clock::now();
  pool.Start();
  while (finished.load() < c.jobs) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto process_end = Clock::now();
  pool.Stop(std::chrono::seconds(10));

  const double enqueue_s = Seconds(enqueue_end - enqueue_start);
  const double process_s = Seconds(process_end - process_start);
  std::printf(
      "%-8s jobs=%-6d enqueue/tx=%-4d workers=%d lease/tx=%-3d  enqueue %8.0f jobs/min  process %8.0f jobs/min"
      "  end-to-end %8.0f jobs/min\n",
      std::string(backend).c_str(), c.jobs, c.enqueue_batch, c.concurrency, c.lease_batch, c.jobs / enqueue_s * 60,
      c.jobs / process_s * 60, c.jobs / (enqueue_s + process_s) * 60);
  std::fflush(stdout);
}

/// Median time of a 4 KiB write + fdatasync in `dir`: the floor under every durable commit, and
/// on shared virtual disks it varies by 20x from hour to hour, so it is printed with the numbers.
double FsyncMillis(const std::string& dir) {
  const std::string path = dir + "/fsync-probe";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + path);
  std::vector<char> block(4096, 'x');
  std::vector<double> samples;
  samples.reserve(100);
  for (int i = 0; i < 100; ++i) {
    const auto start = Clock::now();
    if (pwrite(fd, block.data(), block.size(), 0) != static_cast<ssize_t>(block.size()) || fdatasync(fd) != 0) {
      close(fd);
      throw std::runtime_error("fsync probe failed");
    }
    samples.push_back(Seconds(Clock::now() - start) * 1000);
  }
  close(fd);
  std::filesystem::remove(path);
  std::nth_element(samples.begin(), samples.begin() + 50, samples.end());
  return samples[50];
}

void Prepare(store::Db& db) {
  store::Migrate(db);
  db.Write([](store::Tx& tx) {
    for (int i = 0; i < kWorkspaces; ++i) {
      std::string id = "wks_bench" + std::to_string(i);
      if (tx.Exec(kWorkspaceExists, {id}).empty()) store::workspaces::Insert(tx, {id, id, id, "free"});
    }
  });
}

void RunAll(store::Db& db, std::string_view backend, int n) {
  Prepare(db);
  Run(db, backend, {n, 500, 1, 64});
  Run(db, backend, {n, 500, 4, 16});
  // Unbatched: one transaction per enqueue, per lease and per outcome.
  Run(db, backend, {n / 10, 1, 1, 1});
  Run(db, backend, {n / 10, 1, 4, 1});
}

}  // namespace

int main() {
  const char* jobs_env = std::getenv("QUEUE_BENCH_JOBS");
  const int n = jobs_env != nullptr ? std::max(std::atoi(jobs_env), 10) : 20000;
  try {
    std::string dir = (std::filesystem::temp_directory_path() / "queue-bench-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    std::printf("disk: 4 KiB write + fdatasync in %s takes %.3f ms (median of 100)\n", dir.c_str(), FsyncMillis(dir));
    {
      store::DbOptions o;
      o.url = "sqlite:" + dir + "/bench.db";
      const char* sync = std::getenv("QUEUE_BENCH_SQLITE_SYNC");
      o.sqlite_synchronous_full = sync == nullptr || std::string_view(sync) != "normal";
      std::unique_ptr<store::Db> db = store::OpenDb(o);
      RunAll(*db, o.sqlite_synchronous_full ? "sqlite" : "sqlite-normal", n);
      db->Close();
    }
    std::filesystem::remove_all(dir);

    const char* pg = std::getenv("QUEUE_BENCH_PG_URL");
    if (pg == nullptr || *pg == '\0') pg = std::getenv("STUDIO_TEST_PG_URL");
    if (pg == nullptr || *pg == '\0') {
      std::printf("postgres skipped (set QUEUE_BENCH_PG_URL)\n");
      return 0;
    }
    store::DbOptions o;
    o.url = pg;
    o.pool_size = 8;
    std::unique_ptr<store::Db> db = store::OpenDb(o);
    RunAll(*db, "postgres", n);
    db->Close();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "queue_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
