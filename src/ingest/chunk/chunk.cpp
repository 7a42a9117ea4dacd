#include "ingest/chunk/chunk.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "ingest/chunk/strategies.hpp"
#include "search/embed/embedder.hpp"
#include "search/tokenizer/tokenizer.hpp"

namespace studio::chunk {
namespace {

using detail::Range;

void Validate(const ChunkInput& input, const ChunkOptions& options, const EmbedFn& embed) {
  if (options.max_tokens < 8) throw std::invalid_argument("max_tokens must be at least 8");
  if (options.overlap_tokens < 0 || options.overlap_tokens > options.max_tokens / 2) {
    throw std::invalid_argument("overlap_tokens must be between 0 and max_tokens / 2");
  }
  if (!std::isfinite(options.semantic_threshold)) throw std::invalid_argument("semantic_threshold must be finite");
  if (options.strategy == ChunkOptions::kSemantic && !embed) {
    throw std::invalid_argument("semantic chunking needs an embed function");
  }
  for (const auto& s : input.sections) {
    if (s.begin > s.end || s.end > input.text.size()) throw std::invalid_argument("section outside the text");
  }
  for (const auto& p : input.pages) {
    if (p.begin > p.end || p.end > input.text.size()) throw std::invalid_argument("page span outside the text");
  }
}

/// The section holding byte `pos`: the last one (by begin) that starts at or before it, if it has
/// not ended by then. Sections are sorted by begin.
const Section* Containing(const std::vector<Section>& sorted, std::size_t pos) {
  auto it =
      std::upper_bound(sorted.begin(), sorted.end(), pos, [](std::size_t p, const Section& s) { return p < s.begin; });
  if (it == sorted.begin()) return nullptr;
  --it;
  return pos < it->end ? &*it : nullptr;
}

/// The lowest and highest page among the spans that overlap `r` (0, 0 when none does). Pages are
/// sorted by begin and expected not to overlap, so the scan starts at the span holding r.begin.
void PageRange(const std::vector<PageSpan>& sorted, Range r, int* first, int* last) {
  *first = 0;
  *last = 0;
  auto it = std::upper_bound(sorted.begin(), sorted.end(), r.begin,
                             [](std::size_t p, const PageSpan& span) { return p < span.begin; });
  if (it != sorted.begin()) --it;
  for (; it != sorted.end() && it->begin < r.end; ++it) {
    if (it->end <= r.begin || it->page <= 0) continue;
    *first = *first == 0 ? it->page : std::min(*first, it->page);
    *last = std::max(*last, it->page);
  }
}

}  // namespace

EmbedFn EmbedWith(search::Embedder& embedder) {
  return [&embedder](std::span<const std::string> texts) { return embedder.Embed(texts); };
}

std::vector<Chunk> ChunkText(const ChunkInput& input, const ChunkOptions& options, const search::Tokenizer& tokenizer,
                             const EmbedFn& embed) {
  Validate(input, options, embed);
  std::vector<Range> ranges;
  switch (options.strategy) {
    case ChunkOptions::kFixed: {
      const Range all = detail::Trim(input.text, {0, input.text.size()});
      ranges = detail::FixedWindows(input.text, all, options.max_tokens, options.overlap_tokens, tokenizer);
      break;
    }
    case ChunkOptions::kParagraph: ranges = detail::ParagraphChunks(input, options, tokenizer); break;
    case ChunkOptions::kSemantic: ranges = detail::SemanticChunks(input, options, tokenizer, embed); break;
    default: throw std::invalid_argument("unknown chunking strategy");
  }

  auto by_begin = [](const auto& a, const auto& b) { return a.begin < b.begin; };
  std::vector<Section> sections = input.sections;
  std::stable_sort(sections.begin(), sections.end(), by_begin);
  std::vector<PageSpan> pages = input.pages;
  std::stable_sort(pages.begin(), pages.end(), by_begin);

  std::vector<Chunk> chunks;
  for (const Range& r : ranges) {
    // Attribution goes by the first and last visible characters, not by surrounding whitespace.
    const Range visible = detail::Trim(input.text, r);
    if (visible.begin >= visible.end) continue;
    Chunk c;
    c.ordinal = static_cast<int>(chunks.size());
    c.begin = r.begin;
    c.end = r.end;
    c.text = std::string(input.text.substr(r.begin, r.end - r.begin));
    if (const Section* s = Containing(sections, visible.begin)) c.heading_path = s->heading_path;
    PageRange(pages, visible, &c.page_start, &c.page_end);
    c.token_count = static_cast<int>(tokenizer.Count(c.text));
    chunks.push_back(std::move(c));
  }
  return chunks;
}

}  // namespace studio::chunk
