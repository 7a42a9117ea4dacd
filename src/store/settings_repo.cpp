#include "store/settings_repo.hpp"

namespace studio::store {
namespace {

constexpr Query kGet{"settings.get", "SELECT value FROM settings WHERE key = $1"};
// An upsert is one atomic statement, so concurrent Set calls never collide on the primary key.
constexpr Query kSet{
    "settings.set",
    "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, now())"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"};
constexpr Query kErase{"settings.erase", "DELETE FROM settings WHERE key = $1"};
// SQLite compares TEXT bytewise; COLLATE "C" makes PostgreSQL do the same whatever the
// database's locale.
constexpr Query kList{"settings.list", "SELECT key, value FROM settings ORDER BY key",
                      "SELECT key, value FROM settings ORDER BY key COLLATE \"C\""};

}  // namespace

std::optional<std::string> SettingsRepo::Get(std::string_view key) {
  return db_.ReadValue([&](Tx& tx) -> std::optional<std::string> {
    Result r = tx.Exec(kGet, {key});
    if (r.empty()) return std::nullopt;
    return r.front().GetString(0);
  });
}

void SettingsRepo::Set(std::string_view key, std::string_view value) {
  db_.Write([&](Tx& tx) { tx.Exec(kSet, {key, value}); });
}

bool SettingsRepo::Erase(std::string_view key) {
  return db_.WriteValue([&](Tx& tx) { return tx.Exec(kErase, {key}).affected() > 0; });
}

std::vector<std::pair<std::string, std::string>> SettingsRepo::List() {
  return db_.ReadValue([](Tx& tx) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const Row& row : tx.Exec(kList)) out.emplace_back(row.GetString(0), row.GetString(1));
    return out;
  });
}

}  // namespace studio::store
