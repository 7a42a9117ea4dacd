#pragma once
// Prometheus metrics: a registry of counter, gauge and histogram families plus scrape-time collectors,
// rendered in the text exposition format 0.0.4.
//
// Hot path: look a series up once (Family::WithLabels / Get), keep the reference, then Inc/Set/Observe
// on it. Those calls are lock-free atomics; only creating a series or registering a family takes a lock.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace studio::obs {

/// Content-Type of RenderPrometheus() output.
inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

/// Histogram buckets (seconds) for request latency: 0.5 ms .. 10 s.
inline constexpr std::array<double, 14> kLatencySecondsBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                                  0.1,    0.25,  0.5,    1,     2.5,  5,     10};

/// Histogram buckets (bytes) for body and payload sizes: 64 B .. 16 MiB, factor 4.
inline constexpr std::array<double, 10> kSizeBytesBuckets = {64,    256,    1024,    4096,    16384,
                                                             65536, 262144, 1048576, 4194304, 16777216};

enum class MetricType { kCounter, kGauge, kHistogram };

/// A monotonically increasing value, e.g. requests served. Thread-safe, lock-free.
class Counter {
 public:
  /// Adds v. Negative, NaN and infinite increments are ignored rather than thrown: a counter must only
  /// go up, and one bad call on a request path must neither fail the request nor poison the series.
  void Inc(double v = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// A value that goes up and down, e.g. connections open. Thread-safe, lock-free.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Inc(double v = 1) { value_.fetch_add(v, std::memory_order_relaxed); }
  void Dec(double v = 1) { value_.fetch_sub(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// Observations counted into buckets with inclusive upper bounds (`le`), plus their sum and count.
/// Thread-safe, lock-free.
class Histogram {
 public:
  /// upper_bounds: strictly increasing, without +Inf; must outlive the histogram (the family owns them).
  explicit Histogram(std::span<const double> upper_bounds);

  /// Records v. NaN and infinities are ignored: one would turn _sum into NaN/Inf for good.
  void Observe(double v);
  /// Number of observations.
  std::uint64_t Count() const;
  /// Sum of observations.
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  /// Cumulative counts per bucket, the last one being +Inf (so it equals Count()).
  std::vector<std::uint64_t> CumulativeCounts() const;

 private:
  std::span<const double> upper_bounds_;
  // Per-bucket (not cumulative) counts, one more than upper_bounds_ for +Inf. An observation touches
  // one bucket; scrapes accumulate. _count is derived from them so it always equals the +Inf bucket.
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

class Registry;

/// Name, help, type and label names shared by every series of a metric.
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& Name() const { return name_; }
  const std::string& Help() const { return help_; }
  MetricType Type() const { return type_; }
  const std::vector<std::string>& LabelNames() const { return label_names_; }

 protected:
  FamilyBase(MetricType type, std::string name, std::string help, std::vector<std::string> label_names);

 private:
  friend class Registry;
  /// Appends the # HELP / # TYPE lines and every series.
  virtual void Render(std::string& out) const = 0;

  MetricType type_;
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
};

/// All series of one metric, one per distinct tuple of label values. Series live as long as the family
/// (i.e. the registry): references returned here stay valid, so cache them off the hot path.
template <class Metric>
class Family final : public FamilyBase {
 public:
  /// The series for these label values, in LabelNames() order; created on first use.
  /// Throws std::invalid_argument when the number of values differs from the number of label names.
  Metric& WithLabels(std::initializer_list<std::string_view> values);
  Metric& WithLabels(const std::vector<std::string>& values);
  /// The only series of a family without labels (throws std::invalid_argument if it has labels).
  Metric& Get();

  /// Bucket upper bounds (histograms only; empty otherwise), without +Inf.
  const std::vector<double>& UpperBounds() const { return upper_bounds_; }

 private:
  friend class Registry;

  struct Series {
    template <class... Args>
    explicit Series(std::string label_text_in, Args&&... args)
        : label_text(std::move(label_text_in)), metric(std::forward<Args>(args)...) {}
    // `a="x",b="y"`, escaped once at creation so a scrape only copies it.
    std::string label_text;
    Metric metric;
  };
  // Compares stored label values with a lookup key of string_views or strings without building a
  // std::vector<std::string>, so finding an existing series allocates nothing.
  struct ValuesLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                          [](std::string_view x, std::string_view y) { return x < y; });
    }
  };

  Family(std::string name, std::string help, std::vector<std::string> label_names, std::vector<double> upper_bounds);
  template <class Value>
  Metric& Find(std::span<const Value> values);
  void Render(std::string& out) const override;

  std::vector<double> upper_bounds_;
  mutable std::shared_mutex mu_;
  // std::map: node addresses are stable (the references handed out stay valid) and iteration is sorted,
  // which makes the output deterministic.
  std::map<std::vector<std::string>, Series, ValuesLess> series_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

/// One label of a sample written by a collector.
struct Label {
  std::string_view name;
  std::string_view value;
};

/// What a collector writes into: samples computed at scrape time (process stats, pool sizes, ...).
/// Samples of the same metric name are grouped under one # HELP / # TYPE, whatever order they come in.
class MetricWriter {
 public:
  /// Throws std::invalid_argument for a name/label that breaks the naming rules (see Registry), and
  /// std::logic_error when the name was written before with another type or the same labels.
  void WriteGauge(std::string_view name, std::string_view help, double value, const std::vector<Label>& labels = {});
  void WriteCounter(std::string_view name, std::string_view help, double value, const std::vector<Label>& labels = {});

 private:
  friend class Registry;
  struct CollectedFamily {
    MetricType type;
    std::string help;
    // Escaped label text → value; sorted for deterministic output, unique to catch duplicate series.
    std::map<std::string, double> samples;
  };

  MetricWriter() = default;
  void Write(MetricType type, std::string_view name, std::string_view help, double value,
             const std::vector<Label>& labels);

  std::map<std::string, CollectedFamily, std::less<>> families_;
};

/// The set of metrics a process exposes. Thread-safe. Families are never removed.
///
/// Naming rules, checked on registration (std::invalid_argument): names match [a-z_][a-z0-9_]*
/// (the Prometheus grammar, minus upper case and the ':' reserved for recording rules, both of which
/// promtool lints), must not start with "__"; counters end in "_total" and nothing else does; no name
/// ends in "_bucket", "_count" or "_sum", which are a histogram's series. Label names match
/// [a-z_][a-z0-9_]*, must not start with "__", be "le" or "quantile", or repeat. Help must not be empty.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// Registers a family, or returns the one already registered under this name when type, label names
  /// (and buckets) match; a mismatch throws std::logic_error. The first registration's help is kept.
  CounterFamily& AddCounter(std::string_view name, std::string_view help, std::vector<std::string> label_names = {});
  GaugeFamily& AddGauge(std::string_view name, std::string_view help, std::vector<std::string> label_names = {});
  /// buckets: finite, strictly increasing upper bounds; a trailing +Inf is implied and may be omitted.
  HistogramFamily& AddHistogram(std::string_view name, std::string_view help, std::vector<std::string> label_names,
                                std::vector<double> buckets);
  template <std::size_t N>
  HistogramFamily& AddHistogram(std::string_view name, std::string_view help, std::vector<std::string> label_names,
                                const std::array<double, N>& buckets) {
    return AddHistogram(name, help, std::move(label_names), std::vector<double>(buckets.begin(), buckets.end()));
  }

  /// Adds a callback run on every RenderPrometheus(). It runs without the registry's lock held, may run
  /// concurrently with itself when scrapes overlap, and must not write a name that is registered here
  /// (RenderPrometheus throws std::logic_error then). Exceptions it throws propagate to the caller.
  void AddCollector(std::function<void(MetricWriter&)> collector);

  /// Every family and collected metric, sorted by name, in the Prometheus text format 0.0.4.
  std::string RenderPrometheus() const;

 private:
  template <class F>
  F& Add(MetricType type, std::string_view name, std::string_view help, std::vector<std::string> label_names,
         std::vector<double> buckets);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>, std::less<>> families_;
  std::vector<std::shared_ptr<const std::function<void(MetricWriter&)>>> collectors_;
};

}  // namespace studio::obs
