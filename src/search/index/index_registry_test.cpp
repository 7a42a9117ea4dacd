#include "search/index/index_registry.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace studio::search {
namespace {

namespace fs = std::filesystem;

const IndexIdentity kIdentity{"local", "glove-100d-sif", 8};
// A small construction beam keeps the sanitizer build fast.
const IndexParams kParams{.ef_construction = 40};

class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest() : dir_(fs::temp_directory_path() / ("studio-registry-" + std::to_string(std::random_device{}()))) {
    fs::create_directories(dir_);
  }
  ~RegistryTest() override { fs::remove_all(dir_); }

  static std::vector<IdVector> Vectors(std::size_t n) {
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0, 1);
    std::vector<IdVector> out;
    for (std::size_t i = 0; i < n; ++i) {
      Vector v(8);
      for (float& x : v) x = normal(rng);
      out.push_back({static_cast<std::int64_t>(100 + i), v});
    }
    return out;
  }

  // The database side of a rebuild: hands out the rows one by one.
  static VectorSource SourceOf(const std::vector<IdVector>& rows) {
    return [&rows, next = std::size_t{0}]() mutable -> std::optional<IdVector> {
      if (next == rows.size()) return std::nullopt;
      return rows[next++];
    };
  }

  fs::path dir_;
};

TEST_F(RegistryTest, WorkspaceIdsAreValidatedBeforeTouchingPaths) {
  EXPECT_TRUE(IndexRegistry::IsValidWorkspaceId("wks_5Jx9aB-z"));
  EXPECT_TRUE(IndexRegistry::IsValidWorkspaceId(std::string(128, 'a')));
  for (std::string bad : {"", ".", "..", "../etc", "a/b", "a\\b", "a b", "a.b", "caf\xc3\xa9", "a\n"}) {
    EXPECT_FALSE(IndexRegistry::IsValidWorkspaceId(bad)) << bad;
  }
  EXPECT_FALSE(IndexRegistry::IsValidWorkspaceId(std::string(129, 'a')));
  EXPECT_FALSE(IndexRegistry::IsValidWorkspaceId(std::string("a\0b", 3)));

  IndexRegistry registry(dir_, kIdentity, kParams);
  EXPECT_EQ(registry.DirectoryOf("wks_1"), dir_ / "vectors" / "wks_1");
  EXPECT_THROW(registry.DirectoryOf("../x"), std::invalid_argument);
  EXPECT_THROW(registry.Open("../x"), std::invalid_argument);
  const std::vector<IdVector> none;
  EXPECT_THROW(registry.Rebuild("/tmp", SourceOf(none), 1), std::invalid_argument);
  EXPECT_THROW(registry.Drop(".."), std::invalid_argument);
  EXPECT_FALSE(fs::exists(dir_ / "vectors"));
}

TEST_F(RegistryTest, MissingIndexIsRebuiltSavedAndReloaded) {
  const auto rows = Vectors(300);
  {
    IndexRegistry registry(dir_, kIdentity, kParams);
    auto opened = registry.Open("wks_a");
    EXPECT_EQ(opened.status, LoadStatus::kMissing);
    EXPECT_EQ(opened.index, nullptr);

    auto index = registry.Rebuild("wks_a", SourceOf(rows), 41);
    ASSERT_NE(index, nullptr);
    EXPECT_EQ(index->Size(), 300u);
    EXPECT_EQ(index->Watermark(), 41);
    EXPECT_FALSE(index->Dirty());
    EXPECT_TRUE(fs::exists(dir_ / "vectors" / "wks_a" / "meta.json"));

    auto again = registry.Open("wks_a");
    EXPECT_EQ(again.status, LoadStatus::kLoaded);
    EXPECT_EQ(again.index, index);  // cached, not reloaded
  }
  // A restart finds it on disk.
  IndexRegistry registry(dir_, kIdentity, kParams);
  auto opened = registry.Open("wks_a");
  ASSERT_EQ(opened.status, LoadStatus::kLoaded) << opened.reason;
  EXPECT_EQ(opened.index->Size(), 300u);
  EXPECT_EQ(opened.index->Watermark(), 41);
  EXPECT_EQ(opened.index->Search(rows[7].vector, 1).at(0).id, rows[7].id);
  // Workspaces are separate.
  EXPECT_EQ(registry.Open("wks_b").status, LoadStatus::kMissing);
}

TEST_F(RegistryTest, OtherEmbedderNeedsRebuild) {
  const auto rows = Vectors(20);
  IndexRegistry(dir_, kIdentity, kParams).Rebuild("wks_a", SourceOf(rows), 1);
  IndexRegistry other(dir_, {"openai", "text-embedding-3-small", 8});
  auto opened = other.Open("wks_a");
  EXPECT_EQ(opened.status, LoadStatus::kNeedsRebuild);
  EXPECT_EQ(opened.index, nullptr);
  auto rebuilt = other.Rebuild("wks_a", SourceOf(rows), 2);
  EXPECT_EQ(rebuilt->identity().embedder, "openai");
  EXPECT_EQ(IndexRegistry(dir_, {"openai", "text-embedding-3-small", 8}).Open("wks_a").status, LoadStatus::kLoaded);
}

TEST_F(RegistryTest, SaveAllWritesOnlyChangedIndexes) {
  const auto rows = Vectors(50);
  {
    IndexRegistry registry(dir_, kIdentity, kParams);
    auto a = registry.Rebuild("wks_a", SourceOf(rows), 5);
    registry.Rebuild("wks_b", SourceOf(rows), 5);
    EXPECT_EQ(registry.SaveAll().saved, 0u);

    a->Add(1, Vector(8, 1.0f));
    a->AdvanceWatermark(6);
    const auto report = registry.SaveAll();
    EXPECT_EQ(report.saved, 1u);
    EXPECT_TRUE(report.failures.empty());
    EXPECT_EQ(registry.SaveAll().saved, 0u);
  }
  IndexRegistry registry(dir_, kIdentity, kParams);
  auto a = registry.Open("wks_a");
  ASSERT_EQ(a.status, LoadStatus::kLoaded);
  EXPECT_EQ(a.index->Size(), 51u);
  EXPECT_EQ(a.index->Watermark(), 6);
  EXPECT_EQ(registry.Open("wks_b").index->Watermark(), 5);
}

TEST_F(RegistryTest, SaveFailuresAreReportedPerWorkspace) {
  const auto rows = Vectors(10);
  IndexRegistry registry(dir_, kIdentity, kParams);
  auto a = registry.Rebuild("wks_a", SourceOf(rows), 1);
  a->Add(1, Vector(8, 1.0f));
  // A file where the workspace directory should be makes the save fail.
  fs::remove_all(dir_ / "vectors" / "wks_a");
  { std::ofstream(dir_ / "vectors" / "wks_a") << "x"; }
  const auto report = registry.SaveAll();
  EXPECT_EQ(report.saved, 0u);
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_EQ(report.failures[0].first, "wks_a");
  EXPECT_TRUE(a->Dirty());  // still to be saved
}

TEST_F(RegistryTest, DropForgetsAndDeletes) {
  const auto rows = Vectors(10);
  IndexRegistry registry(dir_, kIdentity, kParams);
  registry.Rebuild("wks_a", SourceOf(rows), 1);
  registry.Drop("wks_a");
  EXPECT_FALSE(fs::exists(dir_ / "vectors" / "wks_a"));
  EXPECT_EQ(registry.Open("wks_a").status, LoadStatus::kMissing);
  registry.Drop("wks_never");  // nothing there: no error
}

}  // namespace
}  // namespace studio::search
