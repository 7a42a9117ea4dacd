#include "obs/metrics.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>

namespace studio::obs {
namespace {

template <class Metric>
constexpr MetricType TypeOf() {
  if constexpr (std::is_same_v<Metric, Counter>) {
    return MetricType::kCounter;
  } else if constexpr (std::is_same_v<Metric, Gauge>) {
    return MetricType::kGauge;
  } else {
    static_assert(std::is_same_v<Metric, Histogram>);
    return MetricType::kHistogram;
  }
}

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// [a-z_][a-z0-9_]*, not starting with "__" (reserved for Prometheus' internal labels).
bool IsSnakeName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void ValidateMetricName(std::string_view name, MetricType type) {
  if (!IsSnakeName(name)) {
    throw std::invalid_argument("metric name '" + std::string(name) +
                                "' must match [a-z_][a-z0-9_]* and not start with \"__\"");
  }
  bool total = EndsWith(name, "_total");
  if (type == MetricType::kCounter && !total) {
    throw std::invalid_argument("counter '" + std::string(name) + "' must end in \"_total\"");
  }
  if (type != MetricType::kCounter && total) {
    throw std::invalid_argument(std::string(TypeName(type)) + " '" + std::string(name) +
                                "' must not end in \"_total\", which marks counters");
  }
  for (std::string_view reserved : {"_bucket", "_count", "_sum"}) {
    if (EndsWith(name, reserved)) {
      throw std::invalid_argument("metric name '" + std::string(name) + "' must not end in \"" + std::string(reserved) +
                                  "\", which is reserved for histogram series");
    }
  }
}

void ValidateHelp(std::string_view name, std::string_view help) {
  if (help.empty()) throw std::invalid_argument("metric '" + std::string(name) + "' needs a help text");
}

template <class Names>
void ValidateLabelNames(std::string_view metric, const Names& names) {
  for (auto it = names.begin(); it != names.end(); ++it) {
    std::string_view label = *it;
    if (!IsSnakeName(label)) {
      throw std::invalid_argument("label '" + std::string(label) + "' of metric '" + std::string(metric) +
                                  "' must match [a-z_][a-z0-9_]* and not start with \"__\"");
    }
    if (label == "le" || label == "quantile") {
      throw std::invalid_argument("label '" + std::string(label) + "' of metric '" + std::string(metric) +
                                  "' is reserved for histograms and summaries");
    }
    for (auto prev = names.begin(); prev != it; ++prev) {
      if (std::string_view(*prev) == label) {
        throw std::invalid_argument("label '" + std::string(label) + "' of metric '" + std::string(metric) +
                                    "' is repeated");
      }
    }
  }
}

// Drops a trailing +Inf (every histogram has one) and insists on finite, strictly increasing bounds.
std::vector<double> NormalizeBuckets(std::string_view name, std::vector<double> buckets) {
  if (!buckets.empty() && buckets.back() == std::numeric_limits<double>::infinity()) buckets.pop_back();
  if (buckets.empty()) {
    throw std::invalid_argument("histogram '" + std::string(name) + "' needs at least one finite bucket");
  }
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (!std::isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1]))) {
      throw std::invalid_argument("histogram '" + std::string(name) +
                                  "' buckets must be finite and strictly increasing");
    }
  }
  return buckets;
}

// Length of the well-formed UTF-8 sequence starting at s[i] (Unicode table 3-7), 0 if ill-formed.
std::size_t Utf8Length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t len;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // UTF-16 surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return len;
}

// s with every ill-formed byte replaced by U+FFFD, the way AppendEscaped renders it.
std::string ToValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    std::size_t len = Utf8Length(s, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s, i, len);
      i += len;
    }
  }
  return out;
}

// Escapes per the text format (backslash, newline and, in label values, double quote). Ill-formed
// UTF-8 becomes U+FFFD: Prometheus rejects the whole scrape otherwise, and label values may come
// from request data.
void AppendEscaped(std::string& out, std::string_view s, bool quote) {
  for (std::size_t i = 0; i < s.size();) {
    char c = s[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      std::size_t len = Utf8Length(s, i);
      if (len == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
        continue;
      }
      out.append(s, i, len);
      i += len;
      continue;
    }
    ++i;
  }
}

// Integral values print as integers ("16777216", not "1.6777216e+07"); others in the shortest form
// that round-trips. Prometheus parses both with Go's ParseFloat.
void AppendDouble(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  std::to_chars_result r;
  constexpr double kExactIntegers = 9007199254740992.0;  // 2^53
  if (v == std::trunc(v) && std::fabs(v) < kExactIntegers) {
    r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v));
  } else {
    r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
  }
  out.append(buf, r.ptr);
}

void AppendUint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

template <class Names, class Values>
std::string LabelText(const Names& names, const Values& values) {
  std::string text;
  auto value = values.begin();
  for (auto name = names.begin(); name != names.end(); ++name, ++value) {
    if (!text.empty()) text += ',';
    text += *name;
    text += "=\"";
    AppendEscaped(text, *value, true);
    text += '"';
  }
  return text;
}

void AppendHeader(std::string& out, std::string_view name, std::string_view help, MetricType type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  AppendEscaped(out, help, false);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += TypeName(type);
  out += '\n';
}

// name{labels} value\n, where extra is an additional pre-rendered label (le="...").
void AppendSampleStart(std::string& out, std::string_view name, std::string_view suffix, std::string_view labels,
                       std::string_view extra = {}) {
  out += name;
  out += suffix;
  if (!labels.empty() || !extra.empty()) {
    out += '{';
    out += labels;
    if (!labels.empty() && !extra.empty()) out += ',';
    out += extra;
    out += '}';
  }
  out += ' ';
}

}  // namespace

void Counter::Inc(double v) {
  if (!(v >= 0) || std::isinf(v)) return;
  value_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Histogram(std::span<const double> upper_bounds)
    : upper_bounds_(upper_bounds), counts_(new std::atomic<std::uint64_t>[upper_bounds.size() + 1]) {
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  if (!std::isfinite(v)) return;
  // First bound >= v: `le` is inclusive. Past the last bound lands on the +Inf slot.
  auto bucket = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), v) - upper_bounds_.begin();
  counts_[static_cast<std::size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::uint64_t Histogram::Count() const {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) total += counts_[i].load(std::memory_order_relaxed);
  return total;
}

std::vector<std::uint64_t> Histogram::CumulativeCounts() const {
  std::vector<std::uint64_t> cumulative(upper_bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < cumulative.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    cumulative[i] = total;
  }
  return cumulative;
}

FamilyBase::FamilyBase(MetricType type, std::string name, std::string help, std::vector<std::string> label_names)
    : type_(type), name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

template <class Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       std::vector<double> upper_bounds)
    : FamilyBase(TypeOf<Metric>(), std::move(name), std::move(help), std::move(label_names)),
      upper_bounds_(std::move(upper_bounds)) {
  // A label-less family has exactly one series. Creating it now makes it show up (at 0) from the first
  // scrape rather than from the first event, so rate() and absent() behave from the start.
  if (LabelNames().empty()) Get();
}

template <class Metric>
Metric& Family<Metric>::WithLabels(std::initializer_list<std::string_view> values) {
  return Find(std::span<const std::string_view>(values.begin(), values.size()));
}

template <class Metric>
Metric& Family<Metric>::WithLabels(const std::vector<std::string>& values) {
  return Find(std::span<const std::string>(values));
}

template <class Metric>
Metric& Family<Metric>::Get() {
  return Find(std::span<const std::string_view>());
}

template <class Metric>
template <class Value>
Metric& Family<Metric>::Find(std::span<const Value> values) {
  if (values.size() != LabelNames().size()) {
    throw std::invalid_argument("metric '" + Name() + "' takes " + std::to_string(LabelNames().size()) +
                                " label values, got " + std::to_string(values.size()));
  }
  {
    std::shared_lock lock(mu_);
    auto it = series_.find(values);
    if (it != series_.end()) return it->second.metric;
  }
  // Key new series by the values as rendered: distinct ill-formed values all render as U+FFFD, and
  // two series with the same label text would put a duplicate sample into every scrape. Such values
  // then miss the fast path above and land here each time, which only costs invalid input.
  std::vector<std::string> key;
  key.reserve(values.size());
  for (const Value& value : values) key.push_back(ToValidUtf8(value));
  std::string label_text = LabelText(LabelNames(), key);
  std::unique_lock lock(mu_);
  // Another thread may have created it since the shared lock was dropped; try_emplace keeps theirs.
  if constexpr (std::is_same_v<Metric, Histogram>) {
    return series_.try_emplace(std::move(key), std::move(label_text), std::span<const double>(upper_bounds_))
        .first->second.metric;
  } else {
    return series_.try_emplace(std::move(key), std::move(label_text)).first->second.metric;
  }
}

template <class Metric>
void Family<Metric>::Render(std::string& out) const {
  AppendHeader(out, Name(), Help(), Type());
  std::vector<std::string> le;
  if constexpr (std::is_same_v<Metric, Histogram>) {
    for (double bound : upper_bounds_) {
      std::string text = "le=\"";
      AppendDouble(text, bound);
      le.push_back(text + '"');
    }
    le.emplace_back("le=\"+Inf\"");
  }
  std::shared_lock lock(mu_);
  for (const auto& [values, series] : series_) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      std::vector<std::uint64_t> cumulative = series.metric.CumulativeCounts();
      for (std::size_t i = 0; i < cumulative.size(); ++i) {
        AppendSampleStart(out, Name(), "_bucket", series.label_text, le[i]);
        AppendUint(out, cumulative[i]);
        out += '\n';
      }
      AppendSampleStart(out, Name(), "_sum", series.label_text);
      AppendDouble(out, series.metric.Sum());
      out += '\n';
      AppendSampleStart(out, Name(), "_count", series.label_text);
      AppendUint(out, cumulative.back());
      out += '\n';
    } else {
      AppendSampleStart(out, Name(), "", series.label_text);
      AppendDouble(out, series.metric.Value());
      out += '\n';
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

void MetricWriter::WriteGauge(std::string_view name, std::string_view help, double value,
                              const std::vector<Label>& labels) {
  Write(MetricType::kGauge, name, help, value, labels);
}

void MetricWriter::WriteCounter(std::string_view name, std::string_view help, double value,
                                const std::vector<Label>& labels) {
  Write(MetricType::kCounter, name, help, value, labels);
}

void MetricWriter::Write(MetricType type, std::string_view name, std::string_view help, double value,
                         const std::vector<Label>& labels) {
  ValidateMetricName(name, type);
  ValidateHelp(name, help);
  std::vector<std::string_view> names;
  std::vector<std::string_view> values;
  for (const Label& label : labels) {
    names.push_back(label.name);
    values.push_back(label.value);
  }
  ValidateLabelNames(name, names);

  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), CollectedFamily{type, std::string(help), {}}).first;
  } else if (it->second.type != type) {
    throw std::logic_error("collected metric '" + std::string(name) + "' was written as both " +
                           std::string(TypeName(it->second.type)) + " and " + std::string(TypeName(type)));
  }
  if (!it->second.samples.emplace(LabelText(names, values), value).second) {
    throw std::logic_error("collected metric '" + std::string(name) + "' was written twice with the same labels");
  }
}

Registry::Registry() = default;
Registry::~Registry() = default;

template <class F>
F& Registry::Add(MetricType type, std::string_view name, std::string_view help, std::vector<std::string> label_names,
                 std::vector<double> buckets) {
  ValidateMetricName(name, type);
  ValidateHelp(name, help);
  ValidateLabelNames(name, label_names);
  if (type == MetricType::kHistogram) buckets = NormalizeBuckets(name, std::move(buckets));

  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    auto* existing = dynamic_cast<F*>(it->second.get());
    if (existing == nullptr || existing->LabelNames() != label_names || existing->UpperBounds() != buckets) {
      throw std::logic_error("metric '" + std::string(name) +
                             "' is already registered with a different type, labels or buckets");
    }
    return *existing;
  }
  // The constructor is private to Registry, so no make_unique.
  std::unique_ptr<F> family(new F(std::string(name), std::string(help), std::move(label_names), std::move(buckets)));
  F& ref = *family;
  families_.emplace(std::string(name), std::move(family));
  return ref;
}

CounterFamily& Registry::AddCounter(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names) {
  return Add<CounterFamily>(MetricType::kCounter, name, help, std::move(label_names), {});
}

GaugeFamily& Registry::AddGauge(std::string_view name, std::string_view help, std::vector<std::string> label_names) {
  return Add<GaugeFamily>(MetricType::kGauge, name, help, std::move(label_names), {});
}

HistogramFamily& Registry::AddHistogram(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names, std::vector<double> buckets) {
  return Add<HistogramFamily>(MetricType::kHistogram, name, help, std::move(label_names), std::move(buckets));
}

void Registry::AddCollector(std::function<void(MetricWriter&)> collector) {
  auto shared = std::make_shared<const std::function<void(MetricWriter&)>>(std::move(collector));
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(shared));
}

std::string Registry::RenderPrometheus() const {
  // Families are never removed and their nodes never move, so pointers taken under the lock stay valid
  // after it is released. Collectors then run unlocked: they may be slow (a DB pool) or use the registry.
  std::vector<const FamilyBase*> families;
  std::vector<std::shared_ptr<const std::function<void(MetricWriter&)>>> collectors;
  {
    std::lock_guard lock(mu_);
    families.reserve(families_.size());
    for (const auto& entry : families_) families.push_back(entry.second.get());
    collectors = collectors_;
  }
  MetricWriter writer;
  for (const auto& collector : collectors) (*collector)(writer);

  // Both sequences are sorted by name; merge them so the output is sorted as a whole.
  std::string out;
  auto family = families.begin();
  auto collected = writer.families_.begin();
  while (family != families.end() || collected != writer.families_.end()) {
    bool take_family =
        collected == writer.families_.end() || (family != families.end() && (*family)->Name() < collected->first);
    if (take_family) {
      (*family)->Render(out);
      ++family;
      continue;
    }
    if (family != families.end() && (*family)->Name() == collected->first) {
      throw std::logic_error("a collector wrote metric '" + collected->first + "', which is registered");
    }
    AppendHeader(out, collected->first, collected->second.help, collected->second.type);
    for (const auto& [labels, value] : collected->second.samples) {
      AppendSampleStart(out, collected->first, "", labels);
      AppendDouble(out, value);
      out += '\n';
    }
    ++collected;
  }
  return out;
}

}  // namespace studio::obs
