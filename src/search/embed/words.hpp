#pragma once
// The local embedder's tokenizer: text → lower-case words, shaped like the vocabulary of the GloVe
// file (lower-case ASCII letters and digits, some hyphenated compounds; no clitics such as "n't").

#include <string>
#include <string_view>
#include <vector>

namespace studio::search {

/// Splits UTF-8 text into words. The rules, in order:
///  * A word is a maximal run of letters and digits (Unicode, via ICU). Combining marks after a
///    letter stay in the word; everything else separates words. Invalid UTF-8 separates words.
///  * One hyphen (-, U+2010, U+2011) or apostrophe (', U+2019) between two word characters joins
///    them: "e-mail", "don't". Two in a row, or one at either end, separate.
///  * Letters are lower-cased and stripped of accents (NFD, combining marks dropped): "Café" → "cafe".
///  * Apostrophes are then resolved like English clitics: "don't" → "do", "not" (and "can't" → "can",
///    "won't" → "will", "shan't" → "shall"); "'s", "'re", "'ll", "'ve", "'d", "'m" are dropped
///    ("john's" → "john"); any other apostrophe splits ("o'neill" → "o", "neill").
/// Hyphenated words are returned whole; the embedder falls back to their parts when the whole is not
/// in the vocabulary. Throws std::invalid_argument for text of 2 GiB or more.
std::vector<std::string> SplitWords(std::string_view text);

}  // namespace studio::search
