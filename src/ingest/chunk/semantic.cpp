// Semantic chunking: sentences grouped while neighbouring sentences stay similar.

#include <unicode/brkiter.h>
#include <unicode/locid.h>
#include <unicode/utext.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "ingest/chunk/strategies.hpp"
#include "search/tokenizer/tokenizer.hpp"

namespace studio::chunk::detail {
namespace {

// Sentences per call of the embed function (OpenAI-compatible servers cap inputs per request).
constexpr std::size_t kEmbedBatch = 64;
// A neighbour similarity must also be this far below the mean to split: with (nearly) constant
// similarities the standard deviation is rounding noise, not a signal.
constexpr double kMinDrop = 1e-4;

std::unique_ptr<icu::BreakIterator> NewSentenceIterator() {
  UErrorCode status = U_ZERO_ERROR;
  // ss=standard suppresses breaks after common abbreviations ("Mr.", "e.g."); English's list is
  // the one ICU has, and it does no harm in other languages.
  const icu::Locale locale = icu::Locale::createFromName("en@ss=standard");
  std::unique_ptr<icu::BreakIterator> it(icu::BreakIterator::createSentenceInstance(locale, status));
  if (U_FAILURE(status) || !it) {
    throw std::runtime_error(std::string("cannot create the ICU sentence iterator: ") + u_errorName(status));
  }
  return it;
}

/// Appends the sentences of paragraph `r` to `out`.
void AppendSentences(icu::BreakIterator& it, std::string_view text, Range r, std::vector<Range>& out) {
  if (r.end - r.begin > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    out.push_back(r);  // ICU indexes with int32_t; fixed windows will cut it
    return;
  }
  // Line breaks inside a paragraph are usually wrapping (PDF and e-mail text), and ICU ends a
  // sentence at every one; as spaces (same byte length, so offsets hold) they stop doing that.
  std::string copy(text.substr(r.begin, r.end - r.begin));
  std::replace_if(
      copy.begin(), copy.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  UErrorCode status = U_ZERO_ERROR;
  icu::LocalUTextPointer utext(utext_openUTF8(nullptr, copy.data(), static_cast<std::int64_t>(copy.size()), &status));
  it.setText(utext.getAlias(), status);
  if (U_FAILURE(status)) throw std::runtime_error(std::string("ICU sentence iterator: ") + u_errorName(status));
  std::int32_t start = it.first();
  for (std::int32_t end = it.next(); end != icu::BreakIterator::DONE; start = end, end = it.next()) {
    const Range s = Trim(text, {r.begin + static_cast<std::size_t>(start), r.begin + static_cast<std::size_t>(end)});
    if (s.begin < s.end) out.push_back(s);
  }
}

/// Cosine similarity; NaN when it says nothing (a zero vector, or no vectors).
double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.empty() || a.size() != b.size()) return std::numeric_limits<double>::quiet_NaN();
  double dot = 0;
  double na = 0;
  double nb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (na == 0 || nb == 0) return std::numeric_limits<double>::quiet_NaN();
  return dot / std::sqrt(na * nb);
}

}  // namespace

std::vector<Range> Sentences(std::string_view text, Range r) {
  auto it = NewSentenceIterator();
  std::vector<Range> out;
  AppendSentences(*it, text, r, out);
  return out;
}

std::vector<Range> SemanticChunks(const ChunkInput& input, const ChunkOptions& options,
                                  const search::Tokenizer& tokenizer, const EmbedFn& embed) {
  const std::string_view text = input.text;
  auto it = NewSentenceIterator();
  std::vector<Unit> units;
  for (const Range& region : SectionRegions(input)) {
    bool first = true;
    for (const Range& paragraph : Paragraphs(text, region)) {
      std::vector<Range> sentences;
      AppendSentences(*it, text, paragraph, sentences);
      for (const Range& s : sentences) {
        const std::size_t tokens = tokenizer.Count(text.substr(s.begin, s.end - s.begin));
        units.push_back({s, static_cast<int>(std::min<std::size_t>(tokens, 1u << 30)), first});
        first = false;
      }
    }
  }

  // Embed every sentence that fits in a chunk (longer ones are cut on their own anyway).
  const auto max = options.max_tokens;
  std::vector<std::vector<float>> vectors(units.size());
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (units[i].tokens <= max) pending.push_back(i);
  }
  for (std::size_t b = 0; b < pending.size(); b += kEmbedBatch) {
    const std::size_t e = std::min(pending.size(), b + kEmbedBatch);
    std::vector<std::string> batch;
    for (std::size_t k = b; k < e; ++k) {
      const Range& r = units[pending[k]].range;
      batch.emplace_back(text.substr(r.begin, r.end - r.begin));
    }
    std::vector<std::vector<float>> got = embed(std::span<const std::string>(batch));
    if (got.size() != batch.size()) {
      throw std::runtime_error("embedder returned " + std::to_string(got.size()) + " vectors for " +
                               std::to_string(batch.size()) + " sentences");
    }
    for (std::size_t k = b; k < e; ++k) vectors[pending[k]] = std::move(got[k - b]);
  }

  // similarity[i]: unit i-1 against unit i, where both were embedded and no boundary is forced.
  std::vector<double> similarity(units.size(), std::numeric_limits<double>::quiet_NaN());
  double sum = 0;
  double sum_sq = 0;
  std::size_t n = 0;
  for (std::size_t i = 1; i < units.size(); ++i) {
    if (units[i].break_before) continue;
    const double s = Cosine(vectors[i - 1], vectors[i]);
    similarity[i] = s;
    if (std::isnan(s)) continue;
    sum += s;
    sum_sq += s * s;
    ++n;
  }
  if (n > 0) {
    const double mean = sum / static_cast<double>(n);
    const double stddev = std::sqrt(std::max(0.0, sum_sq / static_cast<double>(n) - mean * mean));
    const double cutoff = mean - options.semantic_threshold * stddev;
    for (std::size_t i = 1; i < units.size(); ++i) {
      const double s = similarity[i];
      if (!std::isnan(s) && s < cutoff && mean - s > kMinDrop) units[i].break_before = true;
    }
  }
  return GroupUnits(text, units, options, tokenizer);
}

}  // namespace studio::chunk::detail
