#pragma once
// The excerpt a search hit shows: a window of the chunk text around the query's words, with the
// matched words marked. Pure functions, no dependencies.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace studio::search {

/// A matched word inside Snippet::text (byte offsets).
struct Highlight {
  std::size_t offset = 0;
  std::size_t length = 0;

  bool operator==(const Highlight&) const = default;
};

struct Snippet {
  /// Whitespace collapsed to single spaces; "…" where the chunk text was cut.
  std::string text;
  std::vector<Highlight> highlights;
};

/// The words of a query worth looking for: runs of ASCII letters/digits and non-ASCII bytes (so
/// any script), ASCII-lowercased, without common English stop words and one-letter words, each
/// once, at most 32.
std::vector<std::string> QueryTerms(std::string_view query);

/// About `width` bytes of `text` (300 bytes is 300 characters of Latin text, fewer of other
/// scripts) around the place where the most distinct query terms occur close together; the start
/// of the text when none occurs. A text word matches a term when one is a prefix of the other (at
/// least 3 bytes), or they share a prefix of 5+ bytes that misses at most 2 bytes of the shorter
/// ("policy"/"policies"), a cheap stand-in for the stemming the keyword index does.
///
/// Cuts fall on word boundaries where possible and never inside a UTF-8 sequence, even when the
/// text is not valid UTF-8 or is one long word (e.g. Chinese without spaces).
Snippet MakeSnippet(std::string_view text, std::string_view query, std::size_t width = 300);

}  // namespace studio::search
