#pragma once
// Byte-range helpers shared by the chunking strategies. All offsets are bytes into the document's
// UTF-8 text; whitespace means Unicode White_Space.

#include <cstddef>
#include <string_view>
#include <vector>

namespace studio::chunk::detail {

struct Range {
  std::size_t begin = 0;
  std::size_t end = 0;
  bool operator==(const Range&) const = default;
};

/// True when `pos` is not inside a UTF-8 sequence (0 and text.size() are boundaries).
bool IsCodePointBoundary(std::string_view text, std::size_t pos);
/// The range without leading and trailing whitespace (empty, at r.end, when all of it is).
Range Trim(std::string_view text, Range r);
bool IsBlank(std::string_view text, Range r);

/// [0, text.size()) cut at every `cuts` offset (unsorted, may repeat): the regions between.
std::vector<Range> Regions(std::size_t text_size, std::vector<std::size_t> cuts);

/// The paragraphs of `r`: text separated by a whitespace run holding a blank line (two line breaks),
/// a form feed or U+2029. Trimmed; blank ones are dropped.
std::vector<Range> Paragraphs(std::string_view text, Range r);

/// The code point before `pos` (> 0) and the one at `pos` (< size); -1 for ill-formed bytes.
int PrevCodePoint(std::string_view text, std::size_t pos);
int CodePointAt(std::string_view text, std::size_t pos);
bool IsWhitespace(int code_point);

}  // namespace studio::chunk::detail
