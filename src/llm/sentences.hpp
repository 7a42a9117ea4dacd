#pragma once
// Sentences of a retrieved passage, for the extractive model to choose from.

#include <string>
#include <string_view>
#include <vector>

namespace studio::llm {

/// The sentences of `passage` (UTF-8), in order, whitespace-trimmed and with runs of whitespace
/// collapsed to one space. Before ICU's sentence rules (en, with the standard abbreviation list so
/// "e.g." does not end a sentence) run, the text is cut into blocks the way documents are laid
/// out: a blank line ends a block, each list item ("- ", "* ", "• ", "1. ", "2) ") starts one (its
/// marker dropped), and Markdown headings ("# …") and table rows ("| … |") are left out, since
/// they are not answers. Other line breaks are wrapping and join lines with a space.
std::vector<std::string> SplitSentences(std::string_view passage);

}  // namespace studio::llm
