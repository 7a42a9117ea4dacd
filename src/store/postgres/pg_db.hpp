#pragma once
// The PostgreSQL backend: a pool of libpq connections opened lazily. Use OpenDb; this header
// is internal to the store.

#include <memory>

#include "store/db.hpp"

namespace studio::store::postgres {

/// Validates options.url (std::invalid_argument) without connecting: a database that is down
/// at startup shows up as DbUnavailable from the first transaction or Ping.
std::unique_ptr<Db> OpenPostgresDb(const DbOptions& options);

}  // namespace studio::store::postgres
