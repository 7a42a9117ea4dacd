#pragma once
// cl100k_base pre-tokenisation: splits text into the pieces that BPE then encodes one by one.
//
// The pieces are those of the split pattern used by tiktoken (since 0.8) and by gpt-tokenizer,
// the reference our tests compare against:
//
//   '(?i:[sdmt]|ll|ve|re) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,3} | ?[^\s\p{L}\p{N}]+[\r\n]*
//   | \s+$ | \s*[\r\n] | \s+(?!\S) | \s
//
// It differs from the older, often quoted form (`...|\s*[\r\n]+|\s+(?!\S)|\s+`) in one case
// only: whitespace at the very end of the input that contains a newline followed by other
// whitespace ("a\n  " is "a", "\n  " here and "a", "\n", "  " there).
//
// Character classes: \p{L} is General_Category Letter, \p{N} is Number, \s is White_Space (all from
// ICU). JavaScript's \s, which gpt-tokenizer uses, differs from White_Space (and from tiktoken's
// Rust \s) on two code points: U+0085 is not whitespace there and U+FEFF is; we follow tiktoken.
// The contraction alternatives are ASCII-case-insensitive. Bytes that are not valid UTF-8 form
// one-byte "other" characters (like punctuation), so any byte string can be encoded.

#include <cstddef>
#include <string_view>

namespace studio::search::detail {

/// The end (exclusive byte offset) of the piece that starts at `begin` (< text.size()).
/// Always > begin, and always at a code point boundary.
std::size_t NextPieceEnd(std::string_view text, std::size_t begin);

}  // namespace studio::search::detail
