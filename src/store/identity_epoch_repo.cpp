#include "store/identity_epoch_repo.hpp"

namespace studio::store::identity_epoch {
namespace {

constexpr Query kCurrent{"identity_epoch.current", "SELECT value FROM identity_epoch WHERE id = 1"};

}  // namespace

std::int64_t Current(Tx& tx) { return tx.Exec(kCurrent).front().GetInt(0); }

}  // namespace studio::store::identity_epoch
