#include "obs/metrics.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "obs/process_metrics.hpp"

namespace studio::obs {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Every line of `text` that starts with `prefix`.
std::vector<std::string> LinesStartingWith(const std::string& text, const std::string& prefix) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (line.starts_with(prefix)) lines.push_back(line);
    pos = end + 1;
  }
  return lines;
}

std::size_t CountOccurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++count;
  return count;
}

// ---- Counter / Gauge / Histogram semantics ----

TEST(CounterTest, IncAddsAndIgnoresInvalidIncrements) {
  Registry registry;
  Counter& c = registry.AddCounter("jobs_total", "Jobs.").Get();
  EXPECT_EQ(c.Value(), 0);
  c.Inc();
  c.Inc(2.5);
  EXPECT_DOUBLE_EQ(c.Value(), 3.5);
  // A counter only goes up, and one bad increment must not poison the series.
  c.Inc(-1);
  c.Inc(kNaN);
  c.Inc(kInf);
  c.Inc(-kInf);
  EXPECT_DOUBLE_EQ(c.Value(), 3.5);
  c.Inc(0);
  EXPECT_DOUBLE_EQ(c.Value(), 3.5);
}

TEST(GaugeTest, SetIncDec) {
  Registry registry;
  Gauge& g = registry.AddGauge("connections_open", "Open connections.").Get();
  g.Set(10);
  g.Inc();
  g.Inc(4);
  g.Dec(2);
  g.Dec();
  EXPECT_DOUBLE_EQ(g.Value(), 12);
  g.Set(-3.25);
  EXPECT_DOUBLE_EQ(g.Value(), -3.25);
}

TEST(HistogramTest, BucketsAreInclusiveAndCumulative) {
  const std::vector<double> bounds = {1, 2, 5};
  Histogram h(bounds);
  for (double v : {0.5, 1.0, 1.5, 2.0, 4.0, 5.0, 6.0, 100.0, -3.0}) h.Observe(v);
  // le is inclusive: 1.0 lands in le=1, 2.0 in le=2, 5.0 in le=5; -3 is <= every bound.
  EXPECT_EQ(h.CumulativeCounts(), (std::vector<std::uint64_t>{3, 5, 7, 9}));
  EXPECT_EQ(h.Count(), 9u);
  EXPECT_DOUBLE_EQ(h.Sum(), 0.5 + 1 + 1.5 + 2 + 4 + 5 + 6 + 100 - 3);
}

TEST(HistogramTest, IgnoresNonFiniteObservations) {
  const std::vector<double> bounds = {1};
  Histogram h(bounds);
  h.Observe(0.5);
  h.Observe(kNaN);
  h.Observe(kInf);
  h.Observe(-kInf);
  EXPECT_EQ(h.Count(), 1u);
  EXPECT_DOUBLE_EQ(h.Sum(), 0.5);
  EXPECT_EQ(h.CumulativeCounts(), (std::vector<std::uint64_t>{1, 1}));
}

TEST(HistogramTest, EmptyHistogramIsAllZero) {
  const std::vector<double> bounds = {1, 2};
  Histogram h(bounds);
  EXPECT_EQ(h.Count(), 0u);
  EXPECT_EQ(h.Sum(), 0);
  EXPECT_EQ(h.CumulativeCounts(), (std::vector<std::uint64_t>{0, 0, 0}));
}

// ---- Families and series ----

TEST(FamilyTest, WithLabelsReturnsTheSameSeriesForTheSameValues) {
  Registry registry;
  CounterFamily& family = registry.AddCounter("http_requests_total", "Requests.", {"method", "status"});
  Counter& a = family.WithLabels({"GET", "200"});
  Counter& b = family.WithLabels(std::vector<std::string>{"GET", "200"});
  Counter& c = family.WithLabels({"GET", "500"});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  a.Inc();
  b.Inc();
  EXPECT_EQ(family.WithLabels({"GET", "200"}).Value(), 2);
  EXPECT_EQ(c.Value(), 0);
}

TEST(FamilyTest, WrongNumberOfLabelValuesThrows) {
  Registry registry;
  CounterFamily& labelled = registry.AddCounter("a_total", "A.", {"x", "y"});
  EXPECT_THROW(labelled.WithLabels({"1"}), std::invalid_argument);
  EXPECT_THROW(labelled.WithLabels({"1", "2", "3"}), std::invalid_argument);
  EXPECT_THROW(labelled.Get(), std::invalid_argument);
  GaugeFamily& plain = registry.AddGauge("b", "B.");
  EXPECT_THROW(plain.WithLabels({"1"}), std::invalid_argument);
  EXPECT_NO_THROW(plain.WithLabels({}));
  EXPECT_EQ(&plain.WithLabels({}), &plain.Get());
}

TEST(FamilyTest, AccessorsDescribeTheFamily) {
  Registry registry;
  HistogramFamily& h = registry.AddHistogram("latency_seconds", "Latency.", {"route"}, {0.1, 1, kInf});
  EXPECT_EQ(h.Name(), "latency_seconds");
  EXPECT_EQ(h.Help(), "Latency.");
  EXPECT_EQ(h.Type(), MetricType::kHistogram);
  EXPECT_EQ(h.LabelNames(), (std::vector<std::string>{"route"}));
  // The trailing +Inf is implied, so it is dropped.
  EXPECT_EQ(h.UpperBounds(), (std::vector<double>{0.1, 1}));
  EXPECT_TRUE(registry.AddCounter("c_total", "C.").UpperBounds().empty());
}

// ---- Rendering ----

TEST(RenderTest, ExactTextFormat) {
  Registry registry;
  registry.AddGauge("temperature", "Current temperature.").Get().Set(21.5);
  CounterFamily& requests = registry.AddCounter("requests_total", "Requests served.", {"method", "code"});
  requests.WithLabels({"POST", "201"}).Inc(3);
  requests.WithLabels({"GET", "200"}).Inc(1e6);
  HistogramFamily& latency = registry.AddHistogram("latency_seconds", "Request latency.", {}, {0.25, 1});
  latency.Get().Observe(0.1);
  latency.Get().Observe(0.25);
  latency.Get().Observe(3);

  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP latency_seconds Request latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{le=\"0.25\"} 2\n"
            "latency_seconds_bucket{le=\"1\"} 2\n"
            "latency_seconds_bucket{le=\"+Inf\"} 3\n"
            "latency_seconds_sum 3.35\n"
            "latency_seconds_count 3\n"
            "# HELP requests_total Requests served.\n"
            "# TYPE requests_total counter\n"
            "requests_total{method=\"GET\",code=\"200\"} 1000000\n"
            "requests_total{method=\"POST\",code=\"201\"} 3\n"
            "# HELP temperature Current temperature.\n"
            "# TYPE temperature gauge\n"
            "temperature 21.5\n");
}

TEST(RenderTest, LabelledHistogramPutsLeLast) {
  Registry registry;
  HistogramFamily& h = registry.AddHistogram("size_bytes", "Sizes.", {"route"}, {100});
  h.WithLabels({"/a"}).Observe(50);
  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP size_bytes Sizes.\n"
            "# TYPE size_bytes histogram\n"
            "size_bytes_bucket{route=\"/a\",le=\"100\"} 1\n"
            "size_bytes_bucket{route=\"/a\",le=\"+Inf\"} 1\n"
            "size_bytes_sum{route=\"/a\"} 50\n"
            "size_bytes_count{route=\"/a\"} 1\n");
}

TEST(RenderTest, LabelFamiliesStartAtZeroOnlyOnceUsed) {
  Registry registry;
  registry.AddCounter("plain_total", "Plain.");
  registry.AddCounter("labelled_total", "Labelled.", {"k"});
  // A label-less series exists from registration; a labelled one only after WithLabels.
  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP labelled_total Labelled.\n"
            "# TYPE labelled_total counter\n"
            "# HELP plain_total Plain.\n"
            "# TYPE plain_total counter\n"
            "plain_total 0\n");
}

TEST(RenderTest, EscapesLabelValuesAndHelp) {
  Registry registry;
  GaugeFamily& g = registry.AddGauge("escaped", "Help with \\ backslash\nand newline and \"quotes\".", {"v"});
  g.WithLabels({"back\\slash \"quoted\"\nnew line"}).Set(1);
  std::string text = registry.RenderPrometheus();
  // In help only backslash and newline are escaped; in label values also the double quote.
  EXPECT_NE(text.find("# HELP escaped Help with \\\\ backslash\\nand newline and \"quotes\".\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("escaped{v=\"back\\\\slash \\\"quoted\\\"\\nnew line\"} 1\n"), std::string::npos) << text;
}

TEST(RenderTest, InvalidUtf8InLabelValueBecomesReplacementCharacter) {
  Registry registry;
  GaugeFamily& g = registry.AddGauge("utf8", "UTF-8.", {"v"});
  g.WithLabels({"ok \xC3\xA9 bad \xFF\xC0\xAF end"}).Set(1);
  std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("utf8{v=\"ok \xC3\xA9 bad \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD end\"} 1\n"), std::string::npos)
      << text;
}

TEST(RenderTest, ValuesThatRenderAlikeShareOneSeries) {
  // Distinct ill-formed values all render as U+FFFD; two series with identical label text would make
  // the scrape carry a duplicate sample, so they must be one series.
  Registry registry;
  GaugeFamily& g = registry.AddGauge("utf8", "UTF-8.", {"v"});
  g.WithLabels({"x\xFF"}).Inc();
  g.WithLabels({"x\xFE"}).Inc();
  g.WithLabels({"x\xEF\xBF\xBD"}).Inc();  // U+FFFD itself
  EXPECT_EQ(&g.WithLabels({"x\xFF"}), &g.WithLabels({"x\xFE"}));
  EXPECT_EQ(registry.RenderPrometheus(), "# HELP utf8 UTF-8.\n# TYPE utf8 gauge\nutf8{v=\"x\xEF\xBF\xBD\"} 3\n");
}

TEST(RenderTest, SpecialValues) {
  Registry registry;
  GaugeFamily& g = registry.AddGauge("values", "Values.", {"k"});
  g.WithLabels({"nan"}).Set(kNaN);
  g.WithLabels({"pinf"}).Set(kInf);
  g.WithLabels({"ninf"}).Set(-kInf);
  g.WithLabels({"big"}).Set(16777216);
  g.WithLabels({"neg"}).Set(-2);
  g.WithLabels({"small"}).Set(0.0005);
  g.WithLabels({"huge"}).Set(1e300);
  std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("values{k=\"nan\"} NaN\n"), std::string::npos) << text;
  EXPECT_NE(text.find("values{k=\"pinf\"} +Inf\n"), std::string::npos) << text;
  EXPECT_NE(text.find("values{k=\"ninf\"} -Inf\n"), std::string::npos) << text;
  EXPECT_NE(text.find("values{k=\"big\"} 16777216\n"), std::string::npos) << text;
  EXPECT_NE(text.find("values{k=\"neg\"} -2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("values{k=\"small\"} 0.0005\n"), std::string::npos) << text;
  EXPECT_NE(text.find("values{k=\"huge\"} 1e+300\n"), std::string::npos) << text;
}

TEST(RenderTest, OutputIsSortedAndDeterministic) {
  // Registered and labelled in scrambled order; the output is sorted by name, then by label values.
  auto fill = [](Registry& registry, bool reversed) {
    std::vector<std::string> names = {"zeta", "alpha", "mid", "beta"};
    if (reversed) std::reverse(names.begin(), names.end());
    for (const std::string& name : names) {
      GaugeFamily& g = registry.AddGauge(name, "Help.", {"k"});
      std::vector<std::string> values = {"c", "a", "b"};
      if (reversed) std::reverse(values.begin(), values.end());
      for (const std::string& v : values) g.WithLabels({v}).Set(1);
    }
  };
  Registry a;
  Registry b;
  fill(a, false);
  fill(b, true);
  std::string text = a.RenderPrometheus();
  EXPECT_EQ(text, b.RenderPrometheus());
  EXPECT_EQ(text, a.RenderPrometheus());
  std::vector<std::string> types = LinesStartingWith(text, "# TYPE ");
  EXPECT_EQ(types, (std::vector<std::string>{"# TYPE alpha gauge", "# TYPE beta gauge", "# TYPE mid gauge",
                                             "# TYPE zeta gauge"}));
  EXPECT_EQ(LinesStartingWith(text, "mid{"),
            (std::vector<std::string>{"mid{k=\"a\"} 1", "mid{k=\"b\"} 1", "mid{k=\"c\"} 1"}));
}

// ---- Naming rules ----

TEST(NamingTest, RejectsBadMetricNames) {
  Registry registry;
  for (const char* name : {"", "Requests_total", "1requests_total", "requests-total", "requests:rate_total",
                           "__reserved_total", "requests total", "requests\xC3\xA9_total"}) {
    EXPECT_THROW(registry.AddCounter(name, "Help."), std::invalid_argument) << name;
  }
  // Counters end in _total and nothing else does.
  EXPECT_THROW(registry.AddCounter("requests", "Help."), std::invalid_argument);
  EXPECT_THROW(registry.AddGauge("requests_total", "Help."), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("latency_total", "Help.", {}, {1}), std::invalid_argument);
  // A histogram's own series names are reserved.
  EXPECT_THROW(registry.AddGauge("queue_bucket", "Help."), std::invalid_argument);
  EXPECT_THROW(registry.AddGauge("queue_count", "Help."), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("queue_sum", "Help.", {}, {1}), std::invalid_argument);
  // Help must not be empty.
  EXPECT_THROW(registry.AddGauge("queue_depth", ""), std::invalid_argument);
  // A leading single underscore and digits after the first character are fine.
  EXPECT_NO_THROW(registry.AddGauge("_internal_depth2", "Help."));
  EXPECT_NO_THROW(registry.AddCounter("x_total", "Help."));
  // Nothing rejected above got registered.
  EXPECT_EQ(CountOccurrences(registry.RenderPrometheus(), "# TYPE"), 2u);
}

TEST(NamingTest, RejectsBadLabelNames) {
  Registry registry;
  for (std::vector<std::string> labels : std::vector<std::vector<std::string>>{
           {"Method"}, {"1st"}, {"__name__"}, {"le"}, {"quantile"}, {"a-b"}, {""}, {"method", "method"}}) {
    EXPECT_THROW(registry.AddCounter("r_total", "Help.", labels), std::invalid_argument) << labels[0];
  }
  EXPECT_THROW(registry.AddHistogram("h", "Help.", {"le"}, {1}), std::invalid_argument);
  EXPECT_NO_THROW(registry.AddCounter("r_total", "Help.", {"_method", "status2"}));
}

TEST(NamingTest, RejectsBadBuckets) {
  Registry registry;
  EXPECT_THROW(registry.AddHistogram("h1", "Help.", {}, std::vector<double>{}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h2", "Help.", {}, {kInf}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h3", "Help.", {}, {1, 1}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h4", "Help.", {}, {2, 1}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h5", "Help.", {}, {1, kNaN}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h6", "Help.", {}, {-kInf, 1}), std::invalid_argument);
  EXPECT_NO_THROW(registry.AddHistogram("h7", "Help.", {}, {-1, 0, 1}));
  EXPECT_NO_THROW(registry.AddHistogram("h8", "Help.", {}, kLatencySecondsBuckets));
  EXPECT_NO_THROW(registry.AddHistogram("h9", "Help.", {}, kSizeBytesBuckets));
}

// ---- Re-registration ----

TEST(ReRegistrationTest, SameDefinitionReturnsTheSameFamily) {
  Registry registry;
  CounterFamily& a = registry.AddCounter("r_total", "First help.", {"method"});
  CounterFamily& b = registry.AddCounter("r_total", "Second help.", {"method"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(b.Help(), "First help.");  // the first registration's help is kept
  a.WithLabels({"GET"}).Inc();
  EXPECT_EQ(b.WithLabels({"GET"}).Value(), 1);

  GaugeFamily& g1 = registry.AddGauge("g", "G.");
  EXPECT_EQ(&g1, &registry.AddGauge("g", "G."));

  HistogramFamily& h1 = registry.AddHistogram("h", "H.", {"x"}, {1, 2});
  // The implied +Inf may be given explicitly and still match.
  EXPECT_EQ(&h1, &registry.AddHistogram("h", "H.", {"x"}, {1, 2, kInf}));
  EXPECT_EQ(CountOccurrences(registry.RenderPrometheus(), "# HELP r_total"), 1u);
}

TEST(ReRegistrationTest, MismatchThrowsLogicError) {
  Registry registry;
  registry.AddCounter("r_total", "R.", {"method"});
  EXPECT_THROW(registry.AddCounter("r_total", "R.", {"route"}), std::logic_error);
  EXPECT_THROW(registry.AddCounter("r_total", "R.", {"method", "route"}), std::logic_error);
  EXPECT_THROW(registry.AddCounter("r_total", "R."), std::logic_error);

  registry.AddGauge("g", "G.", {"a", "b"});
  EXPECT_THROW(registry.AddGauge("g", "G.", {"b", "a"}), std::logic_error);  // order matters
  EXPECT_THROW(registry.AddHistogram("g", "G.", {"a", "b"}, {1}), std::logic_error);

  registry.AddHistogram("h", "H.", {}, {1, 2});
  EXPECT_THROW(registry.AddHistogram("h", "H.", {}, {1, 3}), std::logic_error);
  EXPECT_THROW(registry.AddHistogram("h", "H.", {}, {1}), std::logic_error);
  EXPECT_THROW(registry.AddGauge("h", "H."), std::logic_error);
  // logic_error, not invalid_argument: the definition is valid, it just conflicts.
  try {
    registry.AddGauge("h", "H.");
  } catch (const std::invalid_argument&) {
    ADD_FAILURE() << "expected std::logic_error that is not std::invalid_argument";
  } catch (const std::logic_error&) {
  }
}

// ---- Concurrency ----

TEST(ConcurrencyTest, ConcurrentIncSumsExactly) {
  Registry registry;
  CounterFamily& family = registry.AddCounter("hits_total", "Hits.", {"k"});
  Counter& shared = family.WithLabels({"shared"});
  HistogramFamily& hist = registry.AddHistogram("work_seconds", "Work.", {}, {0.5});
  Gauge& gauge = registry.AddGauge("inflight", "In flight.").Get();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Half the threads look the series up on every call, racing its (already done) creation.
      Counter& mine = family.WithLabels({"t" + std::to_string(t % 2)});
      for (int i = 0; i < kPerThread; ++i) {
        shared.Inc();
        mine.Inc(2);
        hist.Get().Observe(i % 2 == 0 ? 0.25 : 1.0);
        gauge.Inc();
        gauge.Dec();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(shared.Value(), kThreads * kPerThread);
  EXPECT_EQ(family.WithLabels({"t0"}).Value() + family.WithLabels({"t1"}).Value(), 2.0 * kThreads * kPerThread);
  EXPECT_EQ(hist.Get().Count(), static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(hist.Get().CumulativeCounts()[0], static_cast<std::uint64_t>(kThreads * kPerThread / 2));
  EXPECT_DOUBLE_EQ(hist.Get().Sum(), kThreads * kPerThread * (0.25 + 1.0) / 2);
  EXPECT_EQ(gauge.Value(), 0);
}

TEST(ConcurrencyTest, SeriesCreationRacesWithRenderingAndRegistration) {
  Registry registry;
  constexpr int kThreads = 4;
  constexpr int kSeries = 300;
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done.load()) {
      std::string text = registry.RenderPrometheus();
      ASSERT_TRUE(text.empty() || text.back() == '\n');
    }
  });
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      // Every thread registers the same family and creates the same series: they must converge.
      CounterFamily& family = registry.AddCounter("created_total", "Created.", {"id"});
      for (int i = 0; i < kSeries; ++i) family.WithLabels({std::to_string(i)}).Inc();
    });
  }
  for (auto& thread : threads) thread.join();
  done = true;
  scraper.join();
  CounterFamily& family = registry.AddCounter("created_total", "Created.", {"id"});
  for (int i = 0; i < kSeries; ++i) EXPECT_EQ(family.WithLabels({std::to_string(i)}).Value(), kThreads);
  EXPECT_EQ(LinesStartingWith(registry.RenderPrometheus(), "created_total{").size(), static_cast<std::size_t>(kSeries));
}

// ---- Collectors ----

TEST(CollectorTest, SamplesOfOneNameAreGroupedUnderOneHeader) {
  Registry registry;
  registry.AddGauge("m_registered", "Registered.").Get().Set(7);
  registry.AddCollector([](MetricWriter& w) {
    w.WriteGauge("pool_connections", "Pool connections.", 3, {{"state", "idle"}});
    w.WriteCounter("pool_waits_total", "Pool waits.", 11);
    w.WriteGauge("pool_connections", "Ignored second help.", 5, {{"state", "busy"}});
  });
  registry.AddCollector([](MetricWriter& w) {
    w.WriteGauge("pool_connections", "Pool connections.", 1, {{"state", "closing"}});
    w.WriteGauge("a_first", "Sorts first.", 0.5);
  });
  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP a_first Sorts first.\n"
            "# TYPE a_first gauge\n"
            "a_first 0.5\n"
            "# HELP m_registered Registered.\n"
            "# TYPE m_registered gauge\n"
            "m_registered 7\n"
            "# HELP pool_connections Pool connections.\n"
            "# TYPE pool_connections gauge\n"
            "pool_connections{state=\"busy\"} 5\n"
            "pool_connections{state=\"closing\"} 1\n"
            "pool_connections{state=\"idle\"} 3\n"
            "# HELP pool_waits_total Pool waits.\n"
            "# TYPE pool_waits_total counter\n"
            "pool_waits_total 11\n");
}

TEST(CollectorTest, RunsOnEveryScrape) {
  Registry registry;
  int calls = 0;
  registry.AddCollector([&calls](MetricWriter& w) {
    ++calls;
    w.WriteGauge("scrapes", "Scrapes.", calls);
  });
  EXPECT_NE(registry.RenderPrometheus().find("scrapes 1\n"), std::string::npos);
  EXPECT_NE(registry.RenderPrometheus().find("scrapes 2\n"), std::string::npos);
  EXPECT_EQ(calls, 2);
}

TEST(CollectorTest, EscapesLabelValues) {
  Registry registry;
  registry.AddCollector([](MetricWriter& w) {
    w.WriteGauge("collected", "Collected.", 1, {{"path", "C:\\dir \"x\"\n"}});
  });
  EXPECT_NE(registry.RenderPrometheus().find("collected{path=\"C:\\\\dir \\\"x\\\"\\n\"} 1\n"), std::string::npos);
}

TEST(CollectorTest, ConflictsThrow) {
  auto render_with = [](std::function<void(MetricWriter&)> collector) {
    Registry registry;
    registry.AddGauge("registered", "Registered.");
    registry.AddCollector(std::move(collector));
    return registry.RenderPrometheus();
  };
  EXPECT_THROW(render_with([](MetricWriter& w) {
                 w.WriteGauge("dup", "Dup.", 1, {{"a", "x"}});
                 w.WriteGauge("dup", "Dup.", 2, {{"a", "x"}});
               }),
               std::logic_error);
  EXPECT_THROW(render_with([](MetricWriter& w) {
                 w.WriteGauge("dup", "Dup.", 1);
                 w.WriteGauge("dup", "Dup.", 2);
               }),
               std::logic_error);
  EXPECT_THROW(render_with([](MetricWriter& w) { w.WriteGauge("registered", "Registered.", 1); }), std::logic_error);
  // Counter vs gauge under one name is impossible (the _total rule), so the suffix rule catches it first.
  EXPECT_THROW(render_with([](MetricWriter& w) { w.WriteGauge("x_total", "X.", 1); }), std::invalid_argument);
  EXPECT_THROW(render_with([](MetricWriter& w) { w.WriteCounter("x", "X.", 1); }), std::invalid_argument);
  EXPECT_THROW(render_with([](MetricWriter& w) { w.WriteGauge("Bad", "X.", 1); }), std::invalid_argument);
  EXPECT_THROW(render_with([](MetricWriter& w) { w.WriteGauge("g", "", 1); }), std::invalid_argument);
  EXPECT_THROW(render_with([](MetricWriter& w) { w.WriteGauge("g", "G.", 1, {{"le", "1"}}); }), std::invalid_argument);
  EXPECT_THROW(render_with([](MetricWriter& w) {
                 w.WriteGauge("g", "G.", 1, {{"a", "1"}, {"a", "2"}});
               }),
               std::invalid_argument);
  // A collector's own exception propagates.
  EXPECT_THROW(render_with([](MetricWriter&) { throw std::runtime_error("db down"); }), std::runtime_error);
  EXPECT_NO_THROW(render_with([](MetricWriter& w) {
    w.WriteGauge("ok", "Ok.", 1, {{"a", "x"}});
    w.WriteGauge("ok", "Ok.", 2, {{"a", "y"}});
  }));
}

TEST(CollectorTest, MayUseTheRegistryItRunsIn) {
  // Collectors run without the registry lock, so registering from one must not deadlock.
  Registry registry;
  registry.AddCollector([&registry](MetricWriter& w) {
    registry.AddCounter("scrapes_total", "Scrapes.").Get().Inc();
    w.WriteGauge("collected", "Collected.", 1);
  });
  registry.RenderPrometheus();
  EXPECT_NE(registry.RenderPrometheus().find("scrapes_total 2\n"), std::string::npos);
}

// ---- promtool ----

TEST(PromtoolTest, FullRegistryPassesPromtoolCheckMetrics) {
  const char* promtool = "/usr/bin/promtool";
  if (access(promtool, X_OK) != 0) {
    const char* require = std::getenv("STUDIO_REQUIRE_PROMTOOL");
    if (require != nullptr && std::string(require) == "1") {
      FAIL() << promtool << " is required (STUDIO_REQUIRE_PROMTOOL=1) but absent";
    }
    GTEST_SKIP() << promtool << " not installed";
  }

  Registry registry;
  CounterFamily& requests =
      registry.AddCounter("http_requests_total", "HTTP requests served.", {"method", "route", "status"});
  requests.WithLabels({"GET", "/v1/items/{id}", "200"}).Inc(42);
  requests.WithLabels({"POST", "/v1/items", "201"}).Inc();
  requests.WithLabels({"GET", "/weird \"route\"\\with\nnewline", "404"}).Inc();
  HistogramFamily& latency = registry.AddHistogram("http_request_duration_seconds", "Request latency.",
                                                   {"method", "route", "status"}, kLatencySecondsBuckets);
  latency.WithLabels({"GET", "/v1/items/{id}", "200"}).Observe(0.003);
  latency.WithLabels({"GET", "/v1/items/{id}", "200"}).Observe(12);
  HistogramFamily& sizes = registry.AddHistogram("http_response_size_bytes", "Response sizes.", {}, kSizeBytesBuckets);
  sizes.Get().Observe(512);
  registry.AddGauge("http_connections_open", "Open connections.").Get().Set(3);
  registry.AddGauge("build_info", "Build information.", {"version"}).WithLabels({"1.2.3"}).Set(1);
  RegisterProcessMetrics(registry);
  registry.AddCollector([](MetricWriter& w) {
    w.WriteGauge("db_pool_connections", "Database pool connections.", 2, {{"state", "idle"}});
    w.WriteGauge("db_pool_connections", "Database pool connections.", 1, {{"state", "busy"}});
    w.WriteCounter("db_queries_total", "Database queries.", 99, {{"backend", "sqlite"}});
  });
  std::string text = registry.RenderPrometheus();
  ASSERT_NE(text.find("process_resident_memory_bytes"), std::string::npos);

  std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("obs_metrics_" + std::to_string(getpid()) + ".prom");
  {
    std::ofstream out(file, std::ios::binary);
    out << text;
    ASSERT_TRUE(out.good());
  }
  std::string command = std::string(promtool) + " check metrics < " + file.string() + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[512];
  while (std::size_t n = fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  int status = pclose(pipe);
  std::filesystem::remove(file);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n" << output << "\n" << text;
  EXPECT_EQ(output, "") << text;
}

}  // namespace
}  // namespace studio::obs
