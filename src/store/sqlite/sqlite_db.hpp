#pragma once
// The SQLite backend: WAL, one writer connection (BEGIN IMMEDIATE) and a pool of read-only
// reader connections. Use OpenDb; this header is internal to the store.

#include <memory>
#include <string>

#include "store/db.hpp"

namespace studio::store::sqlite {

/// Opens (creating if needed) the database file at path, or an in-memory database for
/// ":memory:" (one connection shared by reads and writes, since every in-memory connection
/// would otherwise be a separate database).
std::unique_ptr<Db> OpenSqliteDb(const DbOptions& options, std::string path);

}  // namespace studio::store::sqlite
