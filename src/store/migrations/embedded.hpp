#pragma once
// The migrations compiled into the binary (generated from migrations/<backend>/NNNN_name.sql
// by embed.cmake). Internal to the store; use store/migrate.hpp.

#include <span>
#include <string_view>

#include "store/db.hpp"

namespace studio::store::detail {

struct EmbeddedMigration {
  int version;            ///< 1, 2, 3, … without gaps (checked at build time)
  std::string_view name;  ///< the file name's NAME part
  std::string_view sql;   ///< the whole file, run with Tx::ExecScript
};

/// Oldest first. Both backends carry the same versions and names.
std::span<const EmbeddedMigration> EmbeddedMigrations(Backend backend);

}  // namespace studio::store::detail
