#include "search/index/vector_index.hpp"

// hnswlib.h defines non-inline functions (cpuid, AVXCapable, …), so it may be included by one
// translation unit only: this one.
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <stdexcept>
#include <string_view>

#include "core/json.hpp"
#include "search/index/durable_file.hpp"
#include "search/index/hnsw_file.hpp"

namespace studio::search {
namespace {

using Graph = hnswlib::HierarchicalNSW<float>;

constexpr std::string_view kFormat = "studio-hnswlib-0.6.2";
constexpr std::string_view kMetaFile = "meta.json";
constexpr std::uintmax_t kMaxMetaBytes = 1 << 20;

hnswlib::labeltype ToLabel(std::int64_t id) { return static_cast<hnswlib::labeltype>(id); }
std::int64_t FromLabel(hnswlib::labeltype label) { return static_cast<std::int64_t>(label); }

// The inner-product space scores 1 - dot only as a cosine distance when both sides have length 1.
Vector Normalised(std::span<const float> v) {
  Vector out(v.begin(), v.end());
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  if (norm > 0) {
    const double inv = 1 / std::sqrt(norm);
    for (float& x : out) x = static_cast<float>(x * inv);
  }
  return out;
}

// Best first; equal scores by id so exact results are deterministic.
bool Better(const Hit& a, const Hit& b) { return a.score != b.score ? a.score > b.score : a.id < b.id; }

std::string RandomHex64() {
  std::random_device device;
  std::uint64_t value = (static_cast<std::uint64_t>(device()) << 32) ^ device();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4) hex[static_cast<std::size_t>(i)] = kHex[value & 0xf];
  return hex;
}

// "index-<16 hex>.hnsw": meta.json names the file, so the name must not be able to leave the directory.
bool IsIndexFileName(std::string_view name) {
  constexpr std::string_view kPrefix = "index-", kSuffix = ".hnsw";
  if (name.size() != kPrefix.size() + 16 + kSuffix.size()) return false;
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return false;
  return std::all_of(name.begin() + kPrefix.size(), name.end() - kSuffix.size(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void ValidateParams(const IndexIdentity& identity, const IndexParams& params) {
  if (identity.dimension <= 0) throw std::invalid_argument("VectorIndex: dimension must be positive");
  if (params.m < 2 || params.m > 1024) throw std::invalid_argument("VectorIndex: m must be in [2, 1024]");
  if (params.ef_construction < 1 || params.ef_search < 1) throw std::invalid_argument("VectorIndex: ef must be >= 1");
  if (!(params.compact_ratio > 0 && params.compact_ratio <= 1)) {
    throw std::invalid_argument("VectorIndex: compact_ratio must be in (0, 1]");
  }
  if (params.filter_oversample < 1 || params.initial_capacity < 1) {
    throw std::invalid_argument("VectorIndex: filter_oversample and initial_capacity must be >= 1");
  }
}

// std::shared_mutex on glibc prefers readers: under a steady stream of searches a writer would
// never get in. A writer first takes the turnstile, which arriving readers must pass through, so
// it waits only for the searches already running.
class WriterFirstSharedMutex {
 public:
  void lock() {
    turnstile_.lock();
    inner_.lock();
  }
  void unlock() {
    inner_.unlock();
    turnstile_.unlock();
  }
  void lock_shared() {
    std::lock_guard pass(turnstile_);
    inner_.lock_shared();
  }
  void unlock_shared() { inner_.unlock_shared(); }

 private:
  std::mutex turnstile_;
  std::shared_mutex inner_;
};

LoadResult NeedsRebuild(std::string reason) { return {LoadStatus::kNeedsRebuild, nullptr, std::move(reason)}; }

}  // namespace

struct VectorIndex::Impl {
  IndexIdentity identity;
  IndexParams params;
  hnswlib::InnerProductSpace space;

  // Shared by searches and readers; exclusive while the graph changes or is swapped.
  mutable WriterFirstSharedMutex graph_mutex;
  std::unique_ptr<Graph> graph;  // guarded by graph_mutex

  // Held by every writer (Add, Remove, Compact, Save) for its whole run, so writers see no
  // concurrent change even while they hold graph_mutex only shared (Save, Compact's build).
  std::mutex writer_mutex;

  std::atomic<std::int64_t> watermark{0};
  std::atomic<bool> dirty{false};

  Impl(IndexIdentity id, IndexParams p)
      : identity(std::move(id)), params(p), space(static_cast<std::size_t>(identity.dimension)) {}

  std::size_t dimension() const { return static_cast<std::size_t>(identity.dimension); }

  void CheckDimension(std::span<const float> v, const char* what) const {
    if (v.size() != dimension()) {
      throw std::invalid_argument(std::string("VectorIndex: ") + what + " has dimension " + std::to_string(v.size()) +
                                  ", index has " + std::to_string(dimension()));
    }
  }

  std::unique_ptr<Graph> NewGraph(std::size_t capacity) {
    return std::make_unique<Graph>(&space, std::max(capacity, params.initial_capacity), params.m,
                                   params.ef_construction);
  }

  bool IsLive(const Graph& g, hnswlib::labeltype label) const {
    auto it = g.label_lookup_.find(label);
    return it != g.label_lookup_.end() && !g.isMarkedDeleted(it->second);
  }

  // Requires writer_mutex.
  void AddLocked(std::int64_t id, const Vector& normalised) {
    std::unique_lock lock(graph_mutex);
    const hnswlib::labeltype label = ToLabel(id);
    if (graph->cur_element_count >= graph->max_elements_ && !graph->label_lookup_.contains(label)) {
      graph->resizeIndex(std::max(graph->max_elements_ * 2, params.initial_capacity));
    }
    graph->addPoint(normalised.data(), label);  // replaces (and undeletes) an existing label
    dirty = true;
  }

  // Requires writer_mutex. Builds the replacement under a shared lock, so searches go on.
  void CompactLocked() {
    std::unique_ptr<Graph> fresh;
    {
      std::shared_lock lock(graph_mutex);
      const Graph& old = *graph;
      fresh = NewGraph((old.cur_element_count - old.num_deleted_) * 5 / 4);
      fresh->setEf(old.ef_);
      for (hnswlib::tableint i = 0; i < old.cur_element_count; ++i) {
        if (!old.isMarkedDeleted(i)) fresh->addPoint(old.getDataByInternalId(i), old.getExternalLabel(i));
      }
    }
    std::unique_lock lock(graph_mutex);
    graph.swap(fresh);
    dirty = true;
    lock.unlock();
    // `fresh` (the old graph) is freed here, outside the lock.
  }

  // Requires graph_mutex (shared). hnswlib returns a max-heap on distance (1 - dot).
  std::vector<Hit> Knn(const Vector& query, std::size_t k) const {
    auto heap = graph->searchKnn(query.data(), k);
    std::vector<Hit> hits(heap.size());
    for (std::size_t i = hits.size(); i-- > 0; heap.pop()) {
      hits[i] = {FromLabel(heap.top().second), 1.0f - heap.top().first};
    }
    return hits;
  }
};

VectorIndex::VectorIndex(IndexIdentity identity, IndexParams params) {
  ValidateParams(identity, params);
  impl_ = std::make_unique<Impl>(std::move(identity), params);
  impl_->graph = impl_->NewGraph(params.initial_capacity);
  impl_->graph->setEf(params.ef_search);
}

VectorIndex::~VectorIndex() = default;

const IndexIdentity& VectorIndex::identity() const { return impl_->identity; }

void VectorIndex::Add(std::int64_t id, std::span<const float> vector) {
  impl_->CheckDimension(vector, "vector");
  const Vector normalised = Normalised(vector);
  std::lock_guard writer(impl_->writer_mutex);
  impl_->AddLocked(id, normalised);
}

void VectorIndex::AddBatch(std::span<const IdVector> items) {
  for (const IdVector& item : items) impl_->CheckDimension(item.vector, "vector");
  std::lock_guard writer(impl_->writer_mutex);
  // One element per exclusive section: a large batch must not stall searches for its whole run.
  for (const IdVector& item : items) impl_->AddLocked(item.id, Normalised(item.vector));
}

bool VectorIndex::Remove(std::int64_t id) {
  std::lock_guard writer(impl_->writer_mutex);
  bool compact = false;
  {
    std::unique_lock lock(impl_->graph_mutex);
    Graph& g = *impl_->graph;
    if (!impl_->IsLive(g, ToLabel(id))) return false;
    g.markDelete(ToLabel(id));
    impl_->dirty = true;
    compact =
        static_cast<double>(g.num_deleted_) > impl_->params.compact_ratio * static_cast<double>(g.cur_element_count);
  }
  if (compact) impl_->CompactLocked();
  return true;
}

void VectorIndex::Compact() {
  std::lock_guard writer(impl_->writer_mutex);
  impl_->CompactLocked();
}

std::vector<Hit> VectorIndex::Search(std::span<const float> query, std::size_t k, const IdFilter& allow) const {
  impl_->CheckDimension(query, "query");
  if (k == 0) return {};
  const Vector q = Normalised(query);
  std::shared_lock lock(impl_->graph_mutex);
  const Graph& g = *impl_->graph;
  const std::size_t stored = g.cur_element_count;
  if (stored == 0) return {};
  k = std::min(k, stored);  // also keeps the oversampling below from overflowing
  if (!allow) return impl_->Knn(q, k);

  // The beam grows with the candidates asked for (hnswlib searches with max(ef, k)), so the
  // candidates are as accurate as an unfiltered top-k.
  std::vector<Hit> kept;
  for (std::size_t want = std::max(k, g.ef_) * impl_->params.filter_oversample;; want *= 2) {
    const std::size_t asked = std::min(want, stored);
    std::vector<Hit> hits = impl_->Knn(q, asked);
    kept.clear();
    for (const Hit& hit : hits) {
      if (allow(hit.id)) kept.push_back(hit);
      if (kept.size() == k) return kept;
    }
    if (asked >= stored) return kept;
  }
}

std::vector<Hit> VectorIndex::ExactSearch(std::span<const float> query, std::size_t k, const IdFilter& allow) const {
  impl_->CheckDimension(query, "query");
  const Vector q = Normalised(query);
  std::vector<Hit> hits;
  {
    std::shared_lock lock(impl_->graph_mutex);
    const Graph& g = *impl_->graph;
    for (hnswlib::tableint i = 0; i < g.cur_element_count; ++i) {
      if (g.isMarkedDeleted(i)) continue;
      const std::int64_t id = FromLabel(g.getExternalLabel(i));
      if (allow && !allow(id)) continue;
      const auto* v = reinterpret_cast<const float*>(g.getDataByInternalId(i));
      float dot = 0;
      for (std::size_t d = 0; d < q.size(); ++d) dot += q[d] * v[d];
      hits.push_back({id, dot});
    }
  }
  const std::size_t n = std::min(k, hits.size());
  std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(n), hits.end(), Better);
  hits.resize(n);
  return hits;
}

std::optional<Vector> VectorIndex::GetVector(std::int64_t id) const {
  std::shared_lock lock(impl_->graph_mutex);
  const Graph& g = *impl_->graph;
  auto it = g.label_lookup_.find(ToLabel(id));
  if (it == g.label_lookup_.end() || g.isMarkedDeleted(it->second)) return std::nullopt;
  const auto* v = reinterpret_cast<const float*>(g.getDataByInternalId(it->second));
  return Vector(v, v + impl_->dimension());
}

std::size_t VectorIndex::Size() const {
  std::shared_lock lock(impl_->graph_mutex);
  return impl_->graph->cur_element_count - impl_->graph->num_deleted_;
}

std::size_t VectorIndex::DeletedCount() const {
  std::shared_lock lock(impl_->graph_mutex);
  return impl_->graph->num_deleted_;
}

void VectorIndex::SetEfSearch(std::size_t ef) {
  if (ef < 1) throw std::invalid_argument("VectorIndex: ef_search must be >= 1");
  std::unique_lock lock(impl_->graph_mutex);  // hnswlib reads ef_ unsynchronised during searches
  impl_->params.ef_search = ef;
  impl_->graph->setEf(ef);
}

void VectorIndex::AdvanceWatermark(std::int64_t sequence) {
  std::int64_t current = impl_->watermark.load();
  while (sequence > current) {
    if (impl_->watermark.compare_exchange_weak(current, sequence)) {
      impl_->dirty = true;
      return;
    }
  }
}

std::int64_t VectorIndex::Watermark() const { return impl_->watermark.load(); }

bool VectorIndex::Dirty() const { return impl_->dirty.load(); }

void VectorIndex::Save(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::lock_guard writer(impl_->writer_mutex);
  fs::create_directories(dir);
  const std::string name = "index-" + RandomHex64() + ".hnsw";
  const fs::path final_path = dir / name;
  fs::path tmp = final_path;
  tmp += ".tmp";

  // Cleared before the snapshot: a change made during the write marks the index dirty again.
  impl_->dirty = false;
  const std::int64_t watermark = impl_->watermark.load();
  try {
    {
      std::shared_lock lock(impl_->graph_mutex);
      impl_->graph->saveIndex(tmp.string());
    }
    // saveIndex does not check its writes (a full disk leaves a short file): read it back.
    const detail::HnswFileInfo info = detail::InspectHnswFile(tmp, impl_->dimension());
    if (!info.problem.empty())
      throw std::runtime_error("VectorIndex: writing " + tmp.string() + " failed: " + info.problem);
    detail::FsyncFile(tmp);
    fs::rename(tmp, final_path);
    detail::FsyncDir(dir);

    const Json meta = {
        {"format", kFormat},
        {"embedder", impl_->identity.embedder},
        {"model", impl_->identity.model},
        {"dimension", impl_->identity.dimension},
        {"elements", info.elements},
        {"deleted", info.deleted},
        {"watermark", watermark},
        {"m", info.m},
        {"ef_construction", info.ef_construction},
        {"index_file", name},
        {"index_bytes", info.bytes},
        {"index_sha256", info.sha256},
    };
    detail::WriteFileAtomically(dir / kMetaFile, meta.dump(2) + "\n");
  } catch (...) {
    impl_->dirty = true;
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }

  // Earlier saves and leftovers of interrupted ones are garbage now.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    const bool stale_index = file.starts_with("index-") && file != name;
    if (stale_index || file.ends_with(".tmp")) fs::remove(entry.path(), ec);
  }
}

LoadResult VectorIndex::Load(const std::filesystem::path& dir, const IndexIdentity& expected, IndexParams params) {
  namespace fs = std::filesystem;
  ValidateParams(expected, params);
  const fs::path meta_path = dir / kMetaFile;
  std::error_code ec;
  if (!fs::exists(meta_path, ec)) return {LoadStatus::kMissing, nullptr, "no saved index"};

  const std::uintmax_t meta_bytes = fs::file_size(meta_path, ec);
  if (ec || meta_bytes > kMaxMetaBytes) return NeedsRebuild("meta.json unreadable or too large");
  std::string text(meta_bytes, '\0');
  {
    std::ifstream in(meta_path, std::ios::binary);
    if (!in.read(text.data(), static_cast<std::streamsize>(text.size()))) return NeedsRebuild("meta.json unreadable");
  }
  const Json meta = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto string_field = [&](const char* key) -> std::optional<std::string> {
    if (!meta.is_object() || !meta.contains(key) || !meta[key].is_string()) return std::nullopt;
    return meta[key].get<std::string>();
  };
  auto int_field = [&](const char* key) -> std::optional<std::int64_t> {
    if (!meta.is_object() || !meta.contains(key) || !meta[key].is_number_integer()) return std::nullopt;
    return meta[key].get<std::int64_t>();
  };
  const auto format = string_field("format");
  const auto embedder = string_field("embedder");
  const auto model = string_field("model");
  const auto dimension = int_field("dimension");
  const auto elements = int_field("elements");
  const auto watermark = int_field("watermark");
  const auto index_file = string_field("index_file");
  const auto index_bytes = int_field("index_bytes");
  const auto index_sha256 = string_field("index_sha256");
  if (!format || !embedder || !model || !dimension || !elements || !watermark || !index_file || !index_bytes ||
      !index_sha256) {
    return NeedsRebuild("meta.json is not a saved index description");
  }
  if (*format != kFormat)
    return NeedsRebuild("saved in format " + *format + ", this build reads " + std::string(kFormat));
  const IndexIdentity saved{*embedder, *model, static_cast<int>(*dimension)};
  if (*dimension != saved.dimension || !(saved == expected)) {
    return NeedsRebuild("saved for " + *embedder + "/" + *model + "/" + std::to_string(*dimension) + ", configured " +
                        expected.embedder + "/" + expected.model + "/" + std::to_string(expected.dimension));
  }
  if (!IsIndexFileName(*index_file)) return NeedsRebuild("meta.json names an invalid index file");

  const fs::path index_path = dir / *index_file;
  const detail::HnswFileInfo info = detail::InspectHnswFile(index_path, static_cast<std::size_t>(expected.dimension));
  if (!info.problem.empty()) return NeedsRebuild("index file: " + info.problem);
  if (static_cast<std::int64_t>(info.elements) != *elements || static_cast<std::int64_t>(info.bytes) != *index_bytes ||
      info.sha256 != *index_sha256) {
    return NeedsRebuild("index file does not match meta.json");
  }

  params.m = info.m;
  params.ef_construction = info.ef_construction;
  auto index = std::make_unique<VectorIndex>(expected, params);
  Impl& impl = *index->impl_;
  const std::size_t capacity = std::max<std::size_t>(info.elements + info.elements / 4, params.initial_capacity);
  try {
    // The file was checked above; the catch covers allocation failure and a file swapped since.
    impl.graph = std::make_unique<Graph>(&impl.space, index_path.string(), false, capacity);
  } catch (const std::exception& e) {
    return NeedsRebuild(std::string("hnswlib could not load the index: ") + e.what());
  }
  // hnswlib 0.6.2's loading constructor counts deleted elements into an uninitialised member.
  impl.graph->num_deleted_ = info.deleted;
  impl.graph->setEf(params.ef_search);
  impl.watermark = *watermark;
  impl.dirty = false;
  return {LoadStatus::kLoaded, std::move(index), {}};
}

}  // namespace studio::search
