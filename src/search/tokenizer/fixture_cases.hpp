#pragma once
// Test-only: the cases of tests/fixtures/tokenizer/cl100k_cases.json (generated with gpt-tokenizer
// by tests/tools/gen_tokenizer_fixture.mjs).

#include <nlohmann/json.hpp>

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace studio::search::test_support {

struct Cl100kCase {
  std::string name;
  std::string text;
  std::vector<std::string> pieces;
  std::vector<int> tokens;
};

inline const std::vector<Cl100kCase>& Cl100kCases() {
  static const std::vector<Cl100kCase> cases = [] {
    const std::string path = std::string(STUDIO_FIXTURES_DIR) + "/tokenizer/cl100k_cases.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    const nlohmann::json doc = nlohmann::json::parse(in);
    std::vector<Cl100kCase> out;
    for (const auto& c : doc.at("cases")) {
      out.push_back({c.at("name").get<std::string>(), c.at("text").get<std::string>(),
                     c.at("pieces").get<std::vector<std::string>>(), c.at("tokens").get<std::vector<int>>()});
    }
    return out;
  }();
  return cases;
}

}  // namespace studio::search::test_support
