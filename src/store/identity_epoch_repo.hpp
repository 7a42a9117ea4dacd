#pragma once
// The identity epoch (migration 0004): a counter that database triggers bump, in the same
// transaction, whenever a user's access-relevant fields, a membership or a workspace change.
// Caches of account data are valid exactly as long as the epoch they were read at.

#include <cstdint>

#include "store/db.hpp"

namespace studio::store::identity_epoch {

/// The current epoch, as of the transaction's snapshot.
std::int64_t Current(Tx& tx);

}  // namespace studio::store::identity_epoch
