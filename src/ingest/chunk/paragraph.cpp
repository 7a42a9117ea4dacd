// Paragraph chunking, and the greedy grouping it shares with semantic chunking.

#include <algorithm>

#include "ingest/chunk/strategies.hpp"
#include "search/tokenizer/tokenizer.hpp"

namespace studio::chunk::detail {

std::vector<Range> GroupUnits(std::string_view text, const std::vector<Unit>& units, const ChunkOptions& options,
                              const search::Tokenizer& tokenizer) {
  const auto max = static_cast<std::size_t>(options.max_tokens);
  auto count = [&](std::size_t b, std::size_t e) { return tokenizer.Count(text.substr(b, e - b)); };
  std::vector<Range> out;
  std::size_t i = 0;
  while (i < units.size()) {
    const Unit& first = units[i];
    if (static_cast<std::size_t>(first.tokens) > max) {
      const auto windows = FixedWindows(text, first.range, options.max_tokens, options.overlap_tokens, tokenizer);
      out.insert(out.end(), windows.begin(), windows.end());
      ++i;
      continue;
    }
    // Grow the group while the estimate fits: the group's count plus that of the separator and the
    // next unit together. Counting every candidate group whole would make merging quadratic.
    std::size_t j = i;
    std::size_t estimate = static_cast<std::size_t>(first.tokens);
    while (j + 1 < units.size()) {
      const Unit& next = units[j + 1];
      if (next.break_before || static_cast<std::size_t>(next.tokens) > max) break;
      const std::size_t added = count(units[j].range.end, next.range.end);
      if (estimate + added <= max) {
        estimate += added;
      } else {
        // The estimate runs a little high (".\n\n" is one token joined, two apart): ask the exact
        // count before giving up, so groups are as large as really fits.
        const std::size_t exact = count(first.range.begin, next.range.end);
        if (exact > max) break;
        estimate = exact;
      }
      ++j;
    }
    // Tokens can merge differently across the joins; check the real count and give back units if
    // it came out too high.
    while (j > i && count(first.range.begin, units[j].range.end) > max) --j;
    out.push_back({first.range.begin, units[j].range.end});
    i = j + 1;
  }
  return out;
}

std::vector<Range> SectionRegions(const ChunkInput& input) {
  std::vector<std::size_t> cuts;
  for (const auto& s : input.sections) {
    cuts.push_back(s.begin);
    cuts.push_back(s.end);
  }
  return Regions(input.text.size(), std::move(cuts));
}

std::vector<Range> ParagraphChunks(const ChunkInput& input, const ChunkOptions& options,
                                   const search::Tokenizer& tokenizer) {
  std::vector<Unit> units;
  for (const Range& region : SectionRegions(input)) {
    bool first = true;
    for (const Range& p : Paragraphs(input.text, region)) {
      const auto tokens = tokenizer.Count(input.text.substr(p.begin, p.end - p.begin));
      units.push_back({p, static_cast<int>(std::min<std::size_t>(tokens, 1u << 30)), first});
      first = false;
    }
  }
  return GroupUnits(input.text, units, options, tokenizer);
}

}  // namespace studio::chunk::detail
