#pragma once
// Pieces shared by the backends; not part of the public store API.

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/db.hpp"

namespace studio::store::detail {

/// Column names shared by every Row of one Result (and the query name, for error messages).
struct ResultMeta {
  std::string query;
  std::vector<std::string> columns;
};

/// Counters a Db keeps for all its transactions, and the observer to call per statement.
struct ExecStats {
  Backend backend = Backend::kSqlite;
  QueryObserver observer;
  std::atomic<std::uint64_t> queries{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> commits{0};
  std::atomic<std::uint64_t> rollbacks{0};
};

/// Shortest text that parses back to the same double (PostgreSQL spelling for inf/nan).
std::string FormatDouble(double v);

/// The client-safe detail texts, so both backends say the same thing.
inline constexpr std::string_view kBusyDetail = "The database is busy; try again shortly.";
inline constexpr std::string_view kUnreachableDetail = "The database is unavailable; try again shortly.";
inline constexpr std::string_view kClosedDetail = "The database is shutting down.";

/// The file path a sqlite: URL (or bare path) names; ":memory:" for sqlite::memory:.
std::string SqlitePathForUrl(std::string_view url);

/// Validates DbOptions shared by both backends (std::invalid_argument).
void CheckOptions(const DbOptions& options);

}  // namespace studio::store::detail
