// Fixed-size windows by tokens, with overlap.

#include <algorithm>

#include "ingest/chunk/strategies.hpp"
#include "search/tokenizer/tokenizer.hpp"

namespace studio::chunk::detail {
namespace {

bool IsSentenceEnd(int c) { return c == '.' || c == '!' || c == '?' || c == 0x2026; }
bool IsFullWidthSentenceEnd(int c) { return c == 0x3002 || c == 0xFF01 || c == 0xFF1F || c == 0xFF0E; }

/// How good a place `pos` (a code point boundary inside r, > r.begin) is to end a window:
/// 2 after a sentence or at a line break, 1 at whitespace, 0 otherwise.
int BoundaryQuality(std::string_view text, Range r, std::size_t pos) {
  const int before = PrevCodePoint(text, pos);
  const int after = pos < r.end ? CodePointAt(text, pos) : -1;
  if (before == '\n' || after == '\n' || before == '\r' || after == '\r') return 2;
  if (IsFullWidthSentenceEnd(before)) return 2;
  if (IsSentenceEnd(before) && (pos == r.end || IsWhitespace(after))) return 2;
  if (IsWhitespace(before) || IsWhitespace(after)) return 1;
  return 0;
}

}  // namespace

std::vector<Range> FixedWindows(std::string_view text, Range r, int max_tokens, int overlap_tokens,
                                const search::Tokenizer& tokenizer) {
  std::vector<Range> out;
  if (r.begin >= r.end) return out;
  const std::vector<int> tokens = tokenizer.Encode(text.substr(r.begin, r.end - r.begin));
  // offsets[i]: where token i starts; offsets[n] == r.end.
  const std::size_t n = tokens.size();
  std::vector<std::size_t> offsets(n + 1);
  offsets[0] = r.begin;
  for (std::size_t i = 0; i < n; ++i) offsets[i + 1] = offsets[i] + tokenizer.TokenBytes(tokens[i]).size();
  auto usable = [&](std::size_t i) { return IsCodePointBoundary(text, offsets[i]); };
  auto count = [&](std::size_t b, std::size_t e) {
    return tokenizer.Count(text.substr(offsets[b], offsets[e] - offsets[b]));
  };

  const auto max = static_cast<std::size_t>(max_tokens);
  const auto overlap = static_cast<std::size_t>(overlap_tokens);
  // Look for a good end in the window's last 10%.
  const std::size_t slack = std::max<std::size_t>(1, max / 10);
  std::size_t s = 0;
  while (s < n) {
    std::size_t e = n;
    if (n - s > max) {
      const std::size_t hard_end = s + max;
      std::size_t best = 0;
      int best_quality = -1;
      for (std::size_t i = hard_end; i > hard_end - slack; --i) {
        if (!usable(i)) continue;
        const int q = BoundaryQuality(text, r, offsets[i]);
        if (q > best_quality) {
          best = i;
          best_quality = q;
        }
        if (q == 2) break;
      }
      if (best_quality < 0) {
        // Every candidate is inside a code point: take the closest boundary before them.
        best = hard_end - slack;
        while (best > s + 1 && !usable(best)) --best;
        // A code point needs at most 4 byte tokens and max_tokens >= 8, so this is a boundary
        // unless the text is not UTF-8 at all; then going past max_tokens is the only way forward.
        if (!usable(best)) {
          best = hard_end;
          while (best < n && !usable(best)) ++best;
        }
      }
      e = best;
    }
    // The window's own tokenisation can differ at its edges from the whole range's; shrink in the
    // rare case that it comes out longer.
    while (e > s + 1 && count(s, e) > max) {
      --e;
      while (e > s + 1 && !usable(e)) --e;
    }
    out.push_back({offsets[s], offsets[e]});
    if (e >= n) break;
    std::size_t next = e > s + overlap ? e - overlap : s + 1;
    if (next <= s) next = s + 1;
    while (next < e && !usable(next)) ++next;
    s = next;
  }
  return out;
}

}  // namespace studio::chunk::detail
