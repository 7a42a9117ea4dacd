// Micro-benchmarks of the metrics hot paths: what a request pays (Inc, Observe, a series lookup) and
// what a scrape pays (RenderPrometheus). Run by bench/run.sh; build with -DSTUDIO_BENCH=ON.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "obs/metrics.hpp"

namespace studio::obs {
namespace {

// The intended use: a series looked up once and kept. Static so that with Threads(n) every thread
// increments the same series (each thread runs this function, so a local registry would be per thread).
Counter& SharedCounter() {
  static Registry registry;
  static Counter& counter = registry.AddCounter("http_requests_total", "Requests.", {"method", "route", "status"})
                                .WithLabels({"GET", "/v1/items", "200"});
  return counter;
}

void BM_CounterIncCached(benchmark::State& state) {
  Counter& counter = SharedCounter();
  for ([[maybe_unused]] auto _ : state) counter.Inc();
  benchmark::DoNotOptimize(counter.Value());
}
BENCHMARK(BM_CounterIncCached);
// Two threads on one series: the cost of contention on one atomic.
BENCHMARK(BM_CounterIncCached)->Threads(2);

void BM_HistogramObserve(benchmark::State& state) {
  Registry registry;
  Histogram& histogram =
      registry.AddHistogram("http_request_duration_seconds", "Latency.", {}, kLatencySecondsBuckets).Get();
  // Cycle through values spread over the buckets so the bucket search is not always the same branch.
  const std::vector<double> values = {0.0003, 0.002, 0.007, 0.04, 0.3, 1.7, 12};
  std::size_t i = 0;
  for ([[maybe_unused]] auto _ : state) {
    histogram.Observe(values[i]);
    i = i + 1 == values.size() ? 0 : i + 1;
  }
  benchmark::DoNotOptimize(histogram.Count());
}
BENCHMARK(BM_HistogramObserve);

// A lookup of an existing series per event, as code that does not cache the reference pays it.
void BM_WithLabelsExisting(benchmark::State& state) {
  Registry registry;
  CounterFamily& family = registry.AddCounter("http_requests_total", "Requests.", {"method", "route", "status"});
  for (const char* route : {"/v1/items", "/v1/items/{id}", "/v1/users", "/status/live", "/metrics"}) {
    for (const char* status : {"200", "201", "404", "500"}) family.WithLabels({"GET", route, status});
  }
  for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(&family.WithLabels({"GET", "/v1/items/{id}", "404"}));
}
BENCHMARK(BM_WithLabelsExisting);

// A scrape of ~100 series: 80 counter series, 2 histogram series (17 samples each) and a few gauges.
void BM_RenderPrometheus(benchmark::State& state) {
  Registry registry;
  CounterFamily& requests = registry.AddCounter("http_requests_total", "Requests.", {"method", "route", "status"});
  for (const char* method : {"GET", "POST", "PUT", "DELETE"}) {
    for (int route = 0; route < 5; ++route) {
      for (const char* status : {"200", "201", "404", "500"}) {
        requests.WithLabels({method, "/v1/resource" + std::to_string(route), status}).Inc(12345);
      }
    }
  }
  HistogramFamily& latency =
      registry.AddHistogram("http_request_duration_seconds", "Latency.", {"method"}, kLatencySecondsBuckets);
  latency.WithLabels({"GET"}).Observe(0.01);
  latency.WithLabels({"POST"}).Observe(0.2);
  for (const char* name : {"connections_open", "queue_depth", "cache_entries"}) {
    registry.AddGauge(name, "A gauge.").Get().Set(42);
  }
  std::size_t bytes = 0;
  for ([[maybe_unused]] auto _ : state) {
    std::string text = registry.RenderPrometheus();
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
  state.counters["output_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RenderPrometheus);

}  // namespace
}  // namespace studio::obs

BENCHMARK_MAIN();
