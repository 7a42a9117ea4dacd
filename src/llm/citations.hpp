#pragma once
// Reading a reply's citation markers back, so the agent can return exactly the sources the reply
// cites (and notice a model citing a passage it was never given).

#include <string_view>
#include <vector>

namespace studio::llm {

/// The passage numbers cited in `reply`, in order of first appearance, each once. A marker is a
/// bracketed list of positive numbers: "[2]", "[1, 3]", "[1][3]" (the forms models write).
/// Brackets holding anything else ("[note]", "[1a]", "[0]", a Markdown link's text) are not
/// markers.
std::vector<int> CitedPassages(std::string_view reply);

}  // namespace studio::llm
