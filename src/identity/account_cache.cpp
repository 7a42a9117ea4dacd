#include "identity/account_cache.hpp"

namespace studio::identity {

const std::string* CachedAccount::RoleIn(std::string_view workspace_id) const {
  for (const auto& [ws, role] : workspaces) {
    if (ws.id == workspace_id) return &role;
  }
  return nullptr;
}

std::shared_ptr<const CachedAccount> AccountCache::Find(const std::string& user_id, std::int64_t epoch) const {
  std::lock_guard lock(mu_);
  if (epoch != epoch_) return nullptr;
  auto it = entries_.find(user_id);
  return it == entries_.end() ? nullptr : it->second;
}

void AccountCache::Put(const std::string& user_id, std::int64_t epoch, std::shared_ptr<const CachedAccount> account) {
  std::lock_guard lock(mu_);
  if (epoch < epoch_) return;
  // Bounded by dropping everything: simpler than LRU, and a refill costs one query per user.
  if (epoch > epoch_ || entries_.size() >= max_entries_) entries_.clear();
  epoch_ = epoch;
  entries_[user_id] = std::move(account);
}

std::size_t AccountCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace studio::identity
