#pragma once
// Per-process cache of what authenticating a session needs: the user's access-relevant fields
// and memberships. Entries belong to one identity epoch (store/identity_epoch_repo.hpp); a
// request reads the current epoch in its own transaction and uses an entry only when the epochs
// match, so a logout, role change or removal — made by any process — is seen by the next
// request. The cache saves the user and membership queries, not the database round trip.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/users_repo.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::identity {

struct CachedAccount {
  store::UserRecord user;                                                  // without its password hash
  std::vector<std::pair<store::WorkspaceRecord, std::string>> workspaces;  // with the user's role

  /// The user's role in a workspace, or nullptr when not a member.
  const std::string* RoleIn(std::string_view workspace_id) const;
};

class AccountCache {
 public:
  explicit AccountCache(std::size_t max_entries = 10000) : max_entries_(max_entries) {}

  /// The account cached at exactly this epoch, or nullptr.
  std::shared_ptr<const CachedAccount> Find(const std::string& user_id, std::int64_t epoch) const;
  /// Remembers an account read at `epoch`. A newer epoch drops every older entry; an older one
  /// (a reader with an earlier snapshot) is not stored.
  void Put(const std::string& user_id, std::int64_t epoch, std::shared_ptr<const CachedAccount> account);
  std::size_t size() const;

 private:
  const std::size_t max_entries_;
  mutable std::mutex mu_;
  std::int64_t epoch_ = -1;                                                        // guarded by mu_
  std::unordered_map<std::string, std::shared_ptr<const CachedAccount>> entries_;  // guarded by mu_
};

}  // namespace studio::identity
