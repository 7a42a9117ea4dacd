// Vector index benchmark: builds an index of N clustered vectors, saves and loads it, then measures
// single-thread k=10 search latency and recall@10 (against exact search) for several ef_search
// values. Prints a table; the numbers and this command go in docs/PERFORMANCE.md.
//   search_bench [--n 100000] [--dim 100] [--clusters 1000] [--noise 1] [--queries 1000] [--ef 16,32,64,128,256]
//
// Data: gaussian blobs around random centres, normalised — the shape of real embeddings (topics).
// Uniformly random unit vectors would be the worst case for HNSW and unlike any real corpus.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "search/index/vector_index.hpp"

namespace {

using studio::search::Hit;
using studio::search::IdVector;
using studio::search::IndexIdentity;
using studio::search::IndexParams;
using studio::search::LoadStatus;
using studio::search::Vector;
using studio::search::VectorIndex;
using Clock = std::chrono::steady_clock;

struct Options {
  std::size_t n = 100000;
  int dim = 100;
  std::size_t clusters = 1000;
  std::size_t queries = 1000;
  float noise = 1.0f;
  std::vector<std::size_t> efs{16, 32, 64, 128, 256};
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::vector<std::size_t> ParseList(std::string_view text) {
  std::vector<std::size_t> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    out.push_back(std::stoul(std::string(text.substr(start, comma - start))));
    start = comma + 1;
  }
  return out;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--n") {
      o.n = std::stoul(value);
    } else if (flag == "--dim") {
      o.dim = std::stoi(value);
    } else if (flag == "--clusters") {
      o.clusters = std::stoul(value);
    } else if (flag == "--queries") {
      o.queries = std::stoul(value);
    } else if (flag == "--noise") {
      o.noise = std::stof(value);
    } else if (flag == "--ef") {
      o.efs = ParseList(value);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      std::exit(2);
    }
  }
  return o;
}

class Blobs {
 public:
  Blobs(std::size_t clusters, int dim, float noise, std::uint32_t seed)
      : rng_(seed), noise_(noise), dim_(static_cast<std::size_t>(dim)) {
    centres_.resize(clusters, Vector(dim_));
    for (auto& c : centres_) {
      for (float& x : c) x = normal_(rng_);
    }
  }
  // Centre plus noise: with noise 1 a vector has cosine ~0.7 to its centre, with 2 ~0.45.
  Vector Next() {
    std::uniform_int_distribution<std::size_t> pick(0, centres_.size() - 1);
    Vector v = centres_[pick(rng_)];
    for (float& x : v) x += noise_ * normal_(rng_);
    return v;
  }

 private:
  std::mt19937 rng_;
  float noise_;
  std::normal_distribution<float> normal_{0, 1};
  std::size_t dim_;
  std::vector<Vector> centres_;
};

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto i = static_cast<std::size_t>(std::lround(p * static_cast<double>(values.size() - 1)));
  return values[i];
}

double RssMiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024;
  }
  return 0;
}

std::uintmax_t DirBytes(const std::filesystem::path& dir) {
  std::uintmax_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) total += entry.file_size();
  return total;
}

struct Row {
  double p50_ms, p95_ms, p99_ms, mean_ms, recall;
};

Row Measure(const VectorIndex& index, const std::vector<Vector>& queries, const std::vector<std::vector<Hit>>& truth,
            const studio::search::IdFilter& allow = {}) {
  std::vector<double> ms;
  ms.reserve(queries.size());
  std::size_t found = 0, wanted = 0;
  for (std::size_t q = 0; q < queries.size(); ++q) {
    const auto start = Clock::now();
    const std::vector<Hit> hits = index.Search(queries[q], 10, allow);
    ms.push_back(Seconds(Clock::now() - start) * 1000);
    std::set<std::int64_t> got;
    for (const Hit& h : hits) got.insert(h.id);
    for (const Hit& h : truth[q]) found += got.count(h.id);
    wanted += truth[q].size();
  }
  double mean = 0;
  for (double v : ms) mean += v;
  mean /= static_cast<double>(ms.size());
  return {Percentile(ms, 0.50), Percentile(ms, 0.95), Percentile(ms, 0.99), mean,
          static_cast<double>(found) / static_cast<double>(wanted)};
}

void PrintRow(const std::string& label, const Row& r) {
  std::printf("%-22s %8.4f %8.4f %8.4f %8.4f %9.4f\n", label.c_str(), r.p50_ms, r.p95_ms, r.p99_ms, r.mean_ms,
              r.recall);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  const IndexIdentity identity{"bench", "blobs", o.dim};
  const IndexParams params;  // production defaults: M=16, ef_construction=200
  std::printf("vectors %zu, dimension %d, clusters %zu, noise %.2f, queries %zu, M %zu, ef_construction %zu, k 10\n",
              o.n, o.dim, o.clusters, static_cast<double>(o.noise), o.queries, params.m, params.ef_construction);

  Blobs blobs(o.clusters, o.dim, o.noise, 42);
  std::vector<IdVector> data;
  data.reserve(o.n);
  for (std::size_t i = 0; i < o.n; ++i) data.push_back({static_cast<std::int64_t>(i + 1), blobs.Next()});
  std::vector<Vector> queries;
  queries.reserve(o.queries);
  for (std::size_t i = 0; i < o.queries; ++i) queries.push_back(blobs.Next());

  const double rss_before = RssMiB();
  VectorIndex index(identity, params);
  auto start = Clock::now();
  index.AddBatch(data);
  const double build_s = Seconds(Clock::now() - start);
  const double rss_after = RssMiB();
  std::printf("build          %8.2f s   (%.0f vectors/s), RSS +%.0f MiB\n", build_s, static_cast<double>(o.n) / build_s,
              rss_after - rss_before);

  const auto dir = std::filesystem::temp_directory_path() / ("studio-search-bench-" + std::to_string(::getpid()));
  start = Clock::now();
  index.Save(dir);
  const double save_s = Seconds(Clock::now() - start);
  std::printf("save           %8.2f s   on disk %.1f MiB\n", save_s, static_cast<double>(DirBytes(dir)) / (1 << 20));
  start = Clock::now();
  auto loaded = VectorIndex::Load(dir, identity, params);
  const double load_s = Seconds(Clock::now() - start);
  std::printf("load           %8.2f s   (checks + SHA-256 + hnswlib load) status %s\n", load_s,
              loaded.status == LoadStatus::kLoaded ? "loaded" : loaded.reason.c_str());
  std::filesystem::remove_all(dir);
  if (loaded.status != LoadStatus::kLoaded) return 1;

  std::vector<std::vector<Hit>> truth;
  std::vector<double> exact_ms;
  truth.reserve(queries.size());
  exact_ms.reserve(queries.size());
  for (const Vector& q : queries) {
    start = Clock::now();
    truth.push_back(loaded.index->ExactSearch(q, 10));
    exact_ms.push_back(Seconds(Clock::now() - start) * 1000);
  }

  std::printf("\n%-22s %8s %8s %8s %8s %9s\n", "search (k=10)", "p50 ms", "p95 ms", "p99 ms", "mean ms", "recall@10");
  for (std::size_t ef : o.efs) {
    loaded.index->SetEfSearch(ef);
    PrintRow("ef_search " + std::to_string(ef), Measure(*loaded.index, queries, truth));
  }

  // A filter that keeps a quarter of the ids, at the default ef: oversampling then post-filtering.
  loaded.index->SetEfSearch(params.ef_search);
  const auto quarter = [](std::int64_t id) { return id % 4 == 0; };
  std::vector<std::vector<Hit>> filtered_truth;
  filtered_truth.reserve(queries.size());
  for (const Vector& q : queries) filtered_truth.push_back(loaded.index->ExactSearch(q, 10, quarter));
  PrintRow("ef " + std::to_string(params.ef_search) + " + 25% filter",
           Measure(*loaded.index, queries, filtered_truth, quarter));

  // Deletions: remove a fifth (below the automatic threshold), then compact explicitly.
  for (std::size_t i = 0; i < o.n; i += 5) loaded.index->Remove(static_cast<std::int64_t>(i + 1));
  start = Clock::now();
  loaded.index->Compact();
  const double compact_s = Seconds(Clock::now() - start);
  std::vector<std::vector<Hit>> live_truth;
  live_truth.reserve(queries.size());
  for (const Vector& q : queries) live_truth.push_back(loaded.index->ExactSearch(q, 10));
  PrintRow("ef " + std::to_string(params.ef_search) + " after compaction", Measure(*loaded.index, queries, live_truth));

  double exact_mean = 0;
  for (double v : exact_ms) exact_mean += v;
  std::printf("%-22s %8.4f %8.4f %8.4f %8.4f %9.4f\n", "exact (brute force)", Percentile(exact_ms, 0.5),
              Percentile(exact_ms, 0.95), Percentile(exact_ms, 0.99), exact_mean / static_cast<double>(exact_ms.size()),
              1.0);
  std::printf("\ncompaction of %zu live vectors: %.2f s (writers wait; searches continue on the old graph)\n",
              loaded.index->Size(), compact_s);
  return 0;
}
