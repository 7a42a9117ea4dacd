#include "search/embed/local_embedder.hpp"

#include <cmath>
#include <cstdint>

#include "search/embed/word_vectors.hpp"
#include "search/embed/words.hpp"

namespace studio::search {
namespace {

// splitmix64: a tiny, well-mixed generator; fixed here so the fallback vectors never change.
std::uint64_t SplitMix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t Fnv1a64(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

void AddHashedVector(std::string_view gram, Vector& sum) {
  std::uint64_t state = Fnv1a64(gram);
  std::uint64_t bits = 0;
  for (std::size_t k = 0; k < sum.size(); ++k) {
    if (k % 64 == 0) bits = SplitMix64(state);
    sum[k] += (bits >> (k % 64)) & 1U ? 1.0F : -1.0F;
  }
}

// Hashed character trigrams of "<word>" for each word, or of "<text>" when there is no word.
void AddTrigramVectors(const std::vector<std::string>& words, std::string_view text, Vector& sum) {
  auto add_word = [&sum](std::string_view word) {
    std::string padded;  // appended piecewise: `"<" + std::string(word)` trips GCC 12's -Wrestrict at -O3
    padded.reserve(word.size() + 2);
    padded.push_back('<');
    padded.append(word);
    padded.push_back('>');
    for (std::size_t i = 0; i + 3 <= padded.size(); ++i) AddHashedVector(std::string_view(padded).substr(i, 3), sum);
    if (padded.size() < 3) AddHashedVector(padded, sum);
  };
  if (words.empty()) {
    add_word(text);
  } else {
    for (const auto& w : words) add_word(w);
  }
}

// Returns false (and leaves v alone) when v is zero, so the caller can fall back.
bool Normalise(Vector& v) {
  double norm = 0;
  for (const float x : v) norm += double{x} * x;
  norm = std::sqrt(norm);
  if (!(norm > 1e-9)) return false;
  const auto inverse = static_cast<float>(1.0 / norm);
  for (float& x : v) x *= inverse;
  return true;
}

}  // namespace

LocalEmbedder::LocalEmbedder(const std::string& path) : vectors_(std::make_unique<const WordVectors>(path)) {}

LocalEmbedder::~LocalEmbedder() = default;

int LocalEmbedder::dimension() const { return vectors_->dimension(); }

std::vector<Vector> LocalEmbedder::Embed(std::span<const std::string> texts) {
  std::vector<Vector> out;
  out.reserve(texts.size());
  for (const auto& text : texts) out.push_back(EmbedOne(text));
  return out;
}

Vector LocalEmbedder::EmbedOne(std::string_view text) const {
  const WordVectors& wv = *vectors_;
  const std::size_t dim = static_cast<std::size_t>(wv.dimension());
  Vector sum(dim, 0.0F);
  const std::vector<std::string> words = SplitWords(text);
  auto add = [&](std::string_view word) {
    const auto index = wv.Find(word);
    if (!index) return false;
    const float weight = wv.Weight(*index);
    const auto v = wv.Vector(*index);
    for (std::size_t k = 0; k < dim; ++k) sum[k] += weight * v[k];
    return true;
  };
  bool known = false;
  for (const auto& word : words) {
    if (add(word)) {
      known = true;
    } else if (word.find('-') != std::string::npos) {
      std::string_view rest = word;
      for (auto dash = rest.find('-');; dash = rest.find('-')) {
        known = add(rest.substr(0, dash)) || known;
        if (dash == std::string_view::npos) break;
        rest.remove_prefix(dash + 1);
      }
    }
  }
  if (known) {
    // Common-component removal; the 1/|s| of the paper's average is dropped: only the direction matters.
    const auto pc = wv.CommonComponent();
    double dot = 0;
    for (std::size_t k = 0; k < dim; ++k) dot += double{sum[k]} * pc[k];
    for (std::size_t k = 0; k < dim; ++k) sum[k] -= static_cast<float>(dot) * pc[k];
    if (Normalise(sum)) return sum;
    sum.assign(dim, 0.0F);
  }
  AddTrigramVectors(words, text, sum);
  if (!Normalise(sum)) {
    // Trigram signs cancelled exactly (possible in principle); any fixed unit vector will do.
    sum.assign(dim, 0.0F);
    sum[0] = 1.0F;
  }
  return sum;
}

}  // namespace studio::search
