#include "search/index/vector_index.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/json.hpp"
#include "search/index/fusion.hpp"
#include "search/index/hnsw_file.hpp"

namespace studio::search {
namespace {

namespace fs = std::filesystem;

const IndexIdentity kIdentity{"local", "glove-100d-sif", 16};
// A smaller construction beam than production keeps the sanitizer build fast; the graphs here are small.
constexpr std::size_t kTestEfConstruction = 40;

// Gaussian blobs around random centres: the shape of real embeddings, unlike uniform noise.
std::vector<IdVector> Clustered(std::size_t n, int dim, std::uint32_t seed, std::size_t clusters = 20) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0, 1);
  std::vector<Vector> centres(clusters, Vector(static_cast<std::size_t>(dim)));
  for (auto& c : centres) {
    for (float& x : c) x = normal(rng);
  }
  std::vector<IdVector> out;
  for (std::size_t i = 0; i < n; ++i) {
    Vector v = centres[i % clusters];
    for (float& x : v) x += 0.3f * normal(rng);
    out.push_back({static_cast<std::int64_t>(i), std::move(v)});
  }
  return out;
}

Vector RandomQuery(int dim, std::mt19937& rng) {
  std::normal_distribution<float> normal(0, 1);
  Vector v(static_cast<std::size_t>(dim));
  for (float& x : v) x = normal(rng);
  return v;
}

std::vector<std::int64_t> Ids(const std::vector<Hit>& hits) {
  std::vector<std::int64_t> ids;
  ids.reserve(hits.size());
  for (const Hit& h : hits) ids.push_back(h.id);
  return ids;
}

double RecallAt(const VectorIndex& index, std::size_t k, int queries, int dim, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::size_t found = 0, wanted = 0;
  for (int q = 0; q < queries; ++q) {
    const Vector query = RandomQuery(dim, rng);
    const auto approx = Ids(index.Search(query, k));
    const std::set<std::int64_t> got(approx.begin(), approx.end());
    for (const Hit& h : index.ExactSearch(query, k)) found += got.count(h.id);
    wanted += k;
  }
  return static_cast<double>(found) / static_cast<double>(wanted);
}

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("studio-index-" + std::string(info->name()) + "-" + std::to_string(std::random_device{}()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

fs::path IndexFileIn(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".hnsw") return entry.path();
  }
  return {};
}

std::vector<IdVector> Built(VectorIndex& index, std::size_t n, std::uint32_t seed = 1) {
  auto data = Clustered(n, index.identity().dimension, seed);
  index.AddBatch(data);
  return data;
}

TEST(VectorIndexTest, ScoresAreCosineSimilarities) {
  VectorIndex index({"local", "m", 2});
  index.Add(1, std::vector<float>{1, 0});
  index.Add(2, std::vector<float>{0, 5});  // not normalised on purpose
  index.Add(3, std::vector<float>{1, 1});
  const auto hits = index.Search(std::vector<float>{2, 0}, 3);
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].id, 1);
  EXPECT_NEAR(hits[0].score, 1.0, 1e-6);
  EXPECT_EQ(hits[1].id, 3);
  EXPECT_NEAR(hits[1].score, std::sqrt(0.5), 1e-6);
  EXPECT_EQ(hits[2].id, 2);
  EXPECT_NEAR(hits[2].score, 0.0, 1e-6);
  EXPECT_EQ(index.Size(), 3u);
}

TEST(VectorIndexTest, SearchReturnsTheNearest) {
  VectorIndex index(kIdentity, {.ef_construction = kTestEfConstruction});
  const auto data = Built(index, 500);
  for (std::int64_t id : {0, 42, 499}) {
    Vector query = data[static_cast<std::size_t>(id)].vector;
    query[0] += 0.01f;
    const auto hits = index.Search(query, 5);
    ASSERT_EQ(hits.size(), 5u);
    EXPECT_EQ(hits[0].id, id);
    EXPECT_GT(hits[0].score, 0.99f);
    EXPECT_EQ(Ids(hits), Ids(index.ExactSearch(query, 5)));
  }
  EXPECT_TRUE(index.Search(data[0].vector, 0).empty());
}

TEST(VectorIndexTest, WrongDimensionIsRejected) {
  VectorIndex index(kIdentity, {.ef_construction = kTestEfConstruction});
  EXPECT_THROW(index.Add(1, std::vector<float>(15, 1.0f)), std::invalid_argument);
  EXPECT_THROW(index.Search(std::vector<float>(17, 1.0f), 3), std::invalid_argument);
  EXPECT_THROW(VectorIndex({"local", "m", 0}), std::invalid_argument);
  EXPECT_EQ(index.Size(), 0u);
}

TEST(VectorIndexTest, RemoveHidesAndAddBringsBack) {
  VectorIndex index(kIdentity, {.ef_construction = kTestEfConstruction, .compact_ratio = 1.0});
  const auto data = Built(index, 200);
  EXPECT_TRUE(index.Remove(42));
  EXPECT_FALSE(index.Remove(42));
  EXPECT_FALSE(index.Remove(100000));
  EXPECT_EQ(index.Size(), 199u);
  EXPECT_EQ(index.DeletedCount(), 1u);
  EXPECT_FALSE(index.GetVector(42).has_value());
  for (const Hit& h : index.Search(data[42].vector, 50)) EXPECT_NE(h.id, 42);
  for (const Hit& h : index.ExactSearch(data[42].vector, 200)) EXPECT_NE(h.id, 42);

  index.Add(42, data[42].vector);
  EXPECT_EQ(index.Size(), 200u);
  EXPECT_EQ(index.DeletedCount(), 0u);
  EXPECT_EQ(index.Search(data[42].vector, 1).at(0).id, 42);
}

TEST(VectorIndexTest, AddingAnExistingIdReplacesItsVector) {
  VectorIndex index(kIdentity, {.ef_construction = kTestEfConstruction});
  const auto data = Built(index, 100);
  index.Add(7, data[80].vector);
  EXPECT_EQ(index.Size(), 100u);
  const auto stored = index.GetVector(7);
  ASSERT_TRUE(stored.has_value());
  EXPECT_NEAR(CosineSimilarity(*stored, data[80].vector), 1.0, 1e-5);
}

TEST(VectorIndexTest, CapacityGrowsWhenFull) {
  VectorIndex index(kIdentity, {.ef_construction = kTestEfConstruction, .initial_capacity = 8});
  const auto data = Built(index, 300);
  EXPECT_EQ(index.Size(), 300u);
  for (std::size_t i = 0; i < data.size(); i += 37) EXPECT_EQ(index.Search(data[i].vector, 1).at(0).id, data[i].id);
}

TEST(VectorIndexTest, FilteredSearchReturnsOnlyAllowedIds) {
  VectorIndex index(kIdentity, {.ef_construction = kTestEfConstruction});
  const auto data = Built(index, 1000);
  const auto even = [](std::int64_t id) { return id % 2 == 0; };
  const auto hits = index.Search(data[3].vector, 10, even);
  ASSERT_EQ(hits.size(), 10u);
  for (const Hit& h : hits) EXPECT_TRUE(even(h.id));
  EXPECT_EQ(Ids(hits), Ids(index.ExactSearch(data[3].vector, 10, even)));

  // A filter so selective that oversampling has to widen until the whole index is searched.
  const std::set<std::int64_t> rare{5, 555, 999};
  const auto rare_hits = index.Search(data[3].vector, 10, [&](std::int64_t id) { return rare.contains(id); });
  const auto rare_ids = Ids(rare_hits);
  EXPECT_EQ(std::set<std::int64_t>(rare_ids.begin(), rare_ids.end()), rare);
}

TEST(VectorIndexTest, CompactionDropsDeletedAndKeepsRecall) {
  constexpr int kDim = 16;
  VectorIndex index({"local", "m", kDim}, {.ef_construction = kTestEfConstruction, .compact_ratio = 0.25});
  Built(index, 1200);
  for (std::int64_t id = 0; id < 1200; id += 3) EXPECT_TRUE(index.Remove(id));  // a third of them
  EXPECT_EQ(index.Size(), 800u);
  // Compaction ran when a quarter was deleted; what was removed since is below the threshold.
  EXPECT_LT(index.DeletedCount(), 200u);
  for (std::int64_t id = 0; id < 1200; id += 120) EXPECT_FALSE(index.GetVector(id).has_value());
  EXPECT_TRUE(index.GetVector(1).has_value());
  EXPECT_GE(RecallAt(index, 10, 50, kDim, 7), 0.95);

  index.Compact();
  EXPECT_EQ(index.DeletedCount(), 0u);
  EXPECT_EQ(index.Size(), 800u);
  EXPECT_GE(RecallAt(index, 10, 50, kDim, 7), 0.95);
}

TEST(VectorIndexTest, SaveLoadRoundTripGivesIdenticalResults) {
  TempDir dir;
  VectorIndex index(kIdentity, {.ef_construction = kTestEfConstruction, .compact_ratio = 1.0});
  Built(index, 600);
  for (std::int64_t id = 0; id < 50; ++id) index.Remove(id * 7);
  index.AdvanceWatermark(77);
  index.AdvanceWatermark(50);  // never lowers
  EXPECT_TRUE(index.Dirty());
  index.Save(dir.path());
  EXPECT_FALSE(index.Dirty());

  // A small initial capacity makes the loaded index hold 600 * 1.25 slots, so adding below must grow it.
  LoadResult loaded = VectorIndex::Load(dir.path(), kIdentity, {.initial_capacity = 16});
  ASSERT_EQ(loaded.status, LoadStatus::kLoaded) << loaded.reason;
  VectorIndex& copy = *loaded.index;
  EXPECT_EQ(copy.Size(), index.Size());
  EXPECT_EQ(copy.DeletedCount(), 50u);
  EXPECT_EQ(copy.Watermark(), 77);
  EXPECT_FALSE(copy.Dirty());
  std::mt19937 rng(3);
  for (int q = 0; q < 30; ++q) {
    const Vector query = RandomQuery(kIdentity.dimension, rng);
    EXPECT_EQ(copy.Search(query, 10), index.Search(query, 10));
  }
  // The loaded index keeps working: growth past its loaded capacity, removal, compaction.
  const auto more = Clustered(400, kIdentity.dimension, 9);
  for (const auto& item : more) copy.Add(item.id + 10000, item.vector);
  EXPECT_EQ(copy.Size(), index.Size() + 400);
  EXPECT_TRUE(copy.Remove(10000));
  copy.Compact();
  EXPECT_EQ(copy.DeletedCount(), 0u);
  EXPECT_EQ(copy.Search(more[5].vector, 1).at(0).id, 10005);
}

TEST(VectorIndexTest, EmptyIndexRoundTrips) {
  TempDir dir;
  VectorIndex index(kIdentity, {.ef_construction = kTestEfConstruction});
  index.Save(dir.path());
  LoadResult loaded = VectorIndex::Load(dir.path(), kIdentity);
  ASSERT_EQ(loaded.status, LoadStatus::kLoaded) << loaded.reason;
  EXPECT_EQ(loaded.index->Size(), 0u);
  EXPECT_TRUE(loaded.index->Search(Vector(16, 1.0f), 5).empty());
  loaded.index->Add(1, Vector(16, 1.0f));
  EXPECT_EQ(loaded.index->Search(Vector(16, 1.0f), 5).size(), 1u);
}

TEST(VectorIndexTest, SavingAgainReplacesTheFiles) {
  TempDir dir;
  VectorIndex index(kIdentity, {.ef_construction = kTestEfConstruction});
  Built(index, 50);
  index.Save(dir.path());
  index.Add(1000, Vector(16, 0.5f));
  index.Save(dir.path());
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path())) names.insert(entry.path().filename().string());
  ASSERT_EQ(names.size(), 2u);
  EXPECT_TRUE(names.contains("meta.json"));
  LoadResult loaded = VectorIndex::Load(dir.path(), kIdentity);
  ASSERT_EQ(loaded.status, LoadStatus::kLoaded) << loaded.reason;
  EXPECT_EQ(loaded.index->Size(), 51u);
}

TEST(VectorIndexTest, NothingSavedIsMissing) {
  TempDir dir;
  EXPECT_EQ(VectorIndex::Load(dir.path(), kIdentity).status, LoadStatus::kMissing);
  EXPECT_EQ(VectorIndex::Load(dir.path() / "absent", kIdentity).status, LoadStatus::kMissing);
}

TEST(VectorIndexTest, AnotherEmbedderModelOrDimensionNeedsRebuild) {
  TempDir dir;
  VectorIndex index(kIdentity, {.ef_construction = kTestEfConstruction});
  Built(index, 50);
  index.Save(dir.path());
  for (const IndexIdentity& other :
       {IndexIdentity{"openai", kIdentity.model, 16}, IndexIdentity{"local", "other-model", 16},
        IndexIdentity{"local", kIdentity.model, 32}}) {
    LoadResult loaded = VectorIndex::Load(dir.path(), other);
    EXPECT_EQ(loaded.status, LoadStatus::kNeedsRebuild);
    EXPECT_EQ(loaded.index, nullptr);
    EXPECT_FALSE(loaded.reason.empty());
  }
  EXPECT_EQ(VectorIndex::Load(dir.path(), kIdentity).status, LoadStatus::kLoaded);
}

TEST(VectorIndexTest, TruncatedIndexNeedsRebuild) {
  TempDir dir;
  VectorIndex index(kIdentity, {.ef_construction = kTestEfConstruction});
  Built(index, 300);
  index.Save(dir.path());
  const fs::path file = IndexFileIn(dir.path());
  const auto full = fs::file_size(file);
  for (std::uintmax_t size : {std::uintmax_t{0}, std::uintmax_t{40}, std::uintmax_t{96}, full / 2, full - 1}) {
    fs::resize_file(file, size);
    LoadResult loaded = VectorIndex::Load(dir.path(), kIdentity);
    EXPECT_EQ(loaded.status, LoadStatus::kNeedsRebuild) << "size " << size;
  }
  fs::remove(file);
  EXPECT_EQ(VectorIndex::Load(dir.path(), kIdentity).status, LoadStatus::kNeedsRebuild);
}

TEST(VectorIndexTest, CorruptIndexOrMetaNeedsRebuild) {
  TempDir dir;
  VectorIndex index(kIdentity, {.ef_construction = kTestEfConstruction});
  Built(index, 300);
  index.Save(dir.path());
  const fs::path file = IndexFileIn(dir.path());
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(file) / 2));
    f.put('\x7f');
  }
  EXPECT_EQ(VectorIndex::Load(dir.path(), kIdentity).status, LoadStatus::kNeedsRebuild);

  for (const char* meta : {"", "{", "[]", "{\"format\":\"studio-hnswlib-0.6.2\"}", "\x01\x02garbage"}) {
    std::ofstream(dir.path() / "meta.json", std::ios::binary | std::ios::trunc) << meta;
    EXPECT_EQ(VectorIndex::Load(dir.path(), kIdentity).status, LoadStatus::kNeedsRebuild) << meta;
  }
}

TEST(VectorIndexTest, MetaCannotPointOutsideTheDirectory) {
  TempDir dir;
  VectorIndex index(kIdentity, {.ef_construction = kTestEfConstruction});
  Built(index, 20);
  index.Save(dir.path() / "ws");
  Json meta = Json::parse(std::ifstream(dir.path() / "ws" / "meta.json"));
  fs::copy_file(IndexFileIn(dir.path() / "ws"), dir.path() / "outside.hnsw");
  meta["index_file"] = "../outside.hnsw";
  std::ofstream(dir.path() / "ws" / "meta.json", std::ios::trunc) << meta.dump();
  LoadResult loaded = VectorIndex::Load(dir.path() / "ws", kIdentity);
  EXPECT_EQ(loaded.status, LoadStatus::kNeedsRebuild);
  EXPECT_NE(loaded.reason.find("invalid index file"), std::string::npos) << loaded.reason;
}

// The checksum in meta.json catches accidents; the structural checks must hold even when a
// damaged file comes with a matching checksum, so they are tested on the file directly.
TEST(HnswFileTest, StructuralDamageIsReported) {
  TempDir dir;
  VectorIndex index(kIdentity, {.ef_construction = kTestEfConstruction});
  Built(index, 300);
  index.Save(dir.path());
  const fs::path file = IndexFileIn(dir.path());
  const auto intact = detail::InspectHnswFile(file, 16);
  ASSERT_TRUE(intact.problem.empty()) << intact.problem;
  EXPECT_EQ(intact.elements, 300u);
  EXPECT_EQ(intact.m, 16u);
  EXPECT_EQ(intact.sha256.size(), 64u);
  EXPECT_FALSE(detail::InspectHnswFile(file, 32).problem.empty());

  const fs::path damaged = dir.path() / "damaged.bin";
  auto patch = [&](std::streamoff offset, const void* bytes, std::size_t n) {
    fs::copy_file(file, damaged, fs::copy_options::overwrite_existing);
    std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(offset);
    f.write(static_cast<const char*>(bytes), static_cast<std::streamsize>(n));
  };
  constexpr std::streamoff kHeader = 96;
  const std::uint64_t huge = 1ull << 40;
  patch(16, &huge, sizeof huge);  // element count
  EXPECT_NE(detail::InspectHnswFile(damaged, 16).problem, "");
  patch(8, &huge, sizeof huge);  // capacity is not trusted either: it is never used to allocate
  EXPECT_EQ(detail::InspectHnswFile(damaged, 16).problem, "");
  const std::uint32_t out_of_range = 100000;
  patch(kHeader + 4, &out_of_range, sizeof out_of_range);  // first level-0 neighbour of element 0
  EXPECT_EQ(detail::InspectHnswFile(damaged, 16).problem, "level 0: link to a missing element");
  const std::uint32_t too_many = 33;  // M0 = 32
  patch(kHeader, &too_many, sizeof too_many);
  EXPECT_EQ(detail::InspectHnswFile(damaged, 16).problem, "level 0: link count above M");
  const std::uint32_t entry_point = 300;
  patch(52, &entry_point, sizeof entry_point);
  EXPECT_EQ(detail::InspectHnswFile(damaged, 16).problem, "bad entry point");
}

TEST(VectorIndexTest, SearchesRunWhileAdding) {
  constexpr std::size_t kCount = 600;
  // A small initial capacity forces resizes under the readers.
  VectorIndex index(kIdentity, {.ef_construction = kTestEfConstruction, .initial_capacity = 64});
  const auto data = Clustered(kCount, kIdentity.dimension, 5);
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  readers.reserve(3);
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937 rng(static_cast<std::uint32_t>(t));
      int searches = 0;
      while (!done || searches < 50) {
        const Vector query = RandomQuery(kIdentity.dimension, rng);
        for (const Hit& h :
             index.Search(query, 10, t == 0 ? IdFilter([](std::int64_t id) { return id % 3 != 0; }) : nullptr)) {
          if (h.id < 0 || h.id >= static_cast<std::int64_t>(kCount)) ++bad;
        }
        ++searches;
      }
    });
  }
  for (std::size_t i = 0; i < kCount; ++i) {
    index.Add(data[i].id, data[i].vector);
    if (i % 10 == 9) index.Remove(data[i - 5].id);
  }
  done = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(index.Size(), kCount - kCount / 10);
  EXPECT_EQ(index.Search(data[0].vector, 1).at(0).id, 0);
}

}  // namespace
}  // namespace studio::search
