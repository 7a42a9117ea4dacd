#include "llm/citations.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace studio::llm {
namespace {

// "1, 3" → {1, 3}; nullopt when the text between the brackets is not such a list.
std::optional<std::vector<int>> NumberList(std::string_view inside) {
  std::vector<int> numbers;
  std::size_t i = 0;
  auto skip_spaces = [&] {
    while (i < inside.size() && inside[i] == ' ') ++i;
  };
  while (true) {
    skip_spaces();
    const std::size_t start = i;
    long value = 0;
    while (i < inside.size() && std::isdigit(static_cast<unsigned char>(inside[i])) != 0) {
      value = value * 10 + (inside[i] - '0');
      if (value > 100'000) return std::nullopt;  // no request carries that many passages
      ++i;
    }
    if (i == start || value == 0) return std::nullopt;
    numbers.push_back(static_cast<int>(value));
    skip_spaces();
    if (i == inside.size()) return numbers;
    if (inside[i] != ',') return std::nullopt;
    ++i;
  }
}

}  // namespace

std::vector<int> CitedPassages(std::string_view reply) {
  std::vector<int> out;
  for (std::size_t open = reply.find('['); open != std::string_view::npos; open = reply.find('[', open + 1)) {
    const std::size_t close = reply.find(']', open + 1);
    if (close == std::string_view::npos) break;
    if (close - open > 64) continue;  // far too long to be a list of citations
    const auto numbers = NumberList(reply.substr(open + 1, close - open - 1));
    if (!numbers) continue;
    // "[1](https://…)" is a Markdown link whose text happens to be a number, not a citation.
    if (close + 1 < reply.size() && reply[close + 1] == '(') continue;
    for (const int n : *numbers) {
      if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    }
  }
  return out;
}

}  // namespace studio::llm
