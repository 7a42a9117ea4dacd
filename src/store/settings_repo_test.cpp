// SettingsRepo on both backends.

#include "store/settings_repo.hpp"

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/migrate.hpp"
#include "store/test_support.hpp"

namespace studio::store::testing {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST_P(StoreTest, SettingsRepoCrud) {
  Migrate(db());
  SettingsRepo repo(db());
  EXPECT_EQ(repo.Get("site.name"), std::nullopt);
  EXPECT_TRUE(repo.List().empty());

  repo.Set("site.name", "Studio");
  repo.Set("b.unicode", "\xE2\x9C\x93 ok");
  repo.Set("a.empty", "");
  EXPECT_EQ(repo.Get("site.name"), "Studio");
  EXPECT_EQ(repo.Get("b.unicode"), "\xE2\x9C\x93 ok");
  EXPECT_EQ(repo.Get("a.empty"), "");

  repo.Set("site.name", "Renamed");  // upsert replaces
  EXPECT_EQ(repo.Get("site.name"), "Renamed");
  EXPECT_EQ(repo.List(), (Pairs{{"a.empty", ""}, {"b.unicode", "\xE2\x9C\x93 ok"}, {"site.name", "Renamed"}}));

  EXPECT_TRUE(repo.Erase("a.empty"));
  EXPECT_FALSE(repo.Erase("a.empty"));
  EXPECT_EQ(repo.Get("a.empty"), std::nullopt);
  EXPECT_EQ(repo.List().size(), 2u);
}

TEST_P(StoreTest, SettingsRepoConcurrentUpsertsDoNotConflict) {
  Migrate(db());
  SettingsRepo repo(db());
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&repo, t] {
      for (int i = 0; i < 10; ++i) repo.Set("shared", std::to_string(t) + "-" + std::to_string(i));
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(repo.Get("shared").has_value());
  EXPECT_EQ(repo.List().size(), 1u);
}

}  // namespace
}  // namespace studio::store::testing
