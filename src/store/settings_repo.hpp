#pragma once
// Instance-wide key/value settings (the `settings` table from migration 0001). Also the
// reference example of a repository: SQL as named Query constants in the .cpp, one
// transaction per call, the same code on both backends.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/db.hpp"

namespace studio::store {

class SettingsRepo {
 public:
  explicit SettingsRepo(Db& db) : db_(db) {}

  /// The value stored under key, or nullopt.
  std::optional<std::string> Get(std::string_view key);
  /// Inserts or replaces the value under key (and bumps updated_at).
  void Set(std::string_view key, std::string_view value);
  /// Removes key; false when it was not there.
  bool Erase(std::string_view key);
  /// Every (key, value), ordered by key bytewise (the same order on both backends).
  std::vector<std::pair<std::string, std::string>> List();

 private:
  Db& db_;
};

}  // namespace studio::store
