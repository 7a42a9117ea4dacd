#include "search/embed/embedding_cache.hpp"

#include <openssl/sha.h>

#include <array>
#include <list>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace studio::search {

std::string EmbeddingCacheKey(std::string_view model, std::string_view text) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key(model);
  key.reserve(model.size() + 1 + 2 * digest.size());
  key.push_back(':');
  for (const unsigned char b : digest) {
    key.push_back(kHex[b >> 4]);
    key.push_back(kHex[b & 0xF]);
  }
  return key;
}

struct LruEmbeddingCache::State {
  using Entry = std::pair<std::string, Vector>;
  explicit State(std::size_t max) : max_entries(max) {}
  const std::size_t max_entries;
  mutable std::mutex mu;
  std::list<Entry> entries;                                                // guarded by mu; most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // guarded by mu; keys point into entries
};

LruEmbeddingCache::LruEmbeddingCache(std::size_t max_entries) {
  if (max_entries == 0) throw std::invalid_argument("embedding cache size must be at least 1");
  state_ = std::make_unique<State>(max_entries);
}

LruEmbeddingCache::~LruEmbeddingCache() = default;

std::vector<std::optional<Vector>> LruEmbeddingCache::Get(std::span<const std::string> keys) {
  std::vector<std::optional<Vector>> out(keys.size());
  std::lock_guard lock(state_->mu);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto it = state_->index.find(keys[i]);
    if (it == state_->index.end()) continue;
    state_->entries.splice(state_->entries.begin(), state_->entries, it->second);
    out[i] = it->second->second;
  }
  return out;
}

void LruEmbeddingCache::Put(std::span<const std::string> keys, std::span<const Vector> vectors) {
  if (keys.size() != vectors.size()) throw std::invalid_argument("embedding cache: keys and vectors differ in length");
  std::lock_guard lock(state_->mu);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto it = state_->index.find(keys[i]);
    if (it != state_->index.end()) {
      it->second->second = vectors[i];
      state_->entries.splice(state_->entries.begin(), state_->entries, it->second);
      continue;
    }
    state_->entries.emplace_front(keys[i], vectors[i]);
    state_->index.emplace(state_->entries.front().first, state_->entries.begin());
    if (state_->entries.size() > state_->max_entries) {
      state_->index.erase(state_->entries.back().first);
      state_->entries.pop_back();
    }
  }
}

std::size_t LruEmbeddingCache::size() const {
  std::lock_guard lock(state_->mu);
  return state_->entries.size();
}

}  // namespace studio::search
