#include "auth/verified_tokens.hpp"

#include <limits>

namespace studio::auth {

std::shared_ptr<const AccessClaims> VerifiedTokens::Find(std::string_view token, std::int64_t now_unix) const {
  std::lock_guard lock(mutex_);
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return nullptr;
  // Verify refuses exp <= now - leeway: so does a hit (the caller then verifies, and refuses).
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  const std::int64_t cutoff = now_unix < kMin + kJwtLeewaySeconds ? kMin : now_unix - kJwtLeewaySeconds;
  if (it->second->exp <= cutoff) return nullptr;
  return it->second;
}

void VerifiedTokens::Put(std::string_view token, std::shared_ptr<const AccessClaims> claims) {
  std::lock_guard lock(mutex_);
  if (tokens_.size() >= capacity_) tokens_.clear();
  tokens_.insert_or_assign(std::string(token), std::move(claims));
}

std::size_t VerifiedTokens::size() const {
  std::lock_guard lock(mutex_);
  return tokens_.size();
}

}  // namespace studio::auth
