#pragma once
// For tests that need the real cl100k_base ranks (scripts/fetch-models.sh downloads them). When the
// file is absent those tests are skipped, or fail when STUDIO_REQUIRE_MODELS=1 (CI sets it after
// running fetch-models.sh, so a broken download cannot pass silently).

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "search/tokenizer/tokenizer.hpp"

namespace studio::search::test_support {

/// Loaded once per test binary from Tokenizer::DefaultPath(); nullptr when the file is absent.
inline const Tokenizer* SharedTokenizer() {
  static const std::shared_ptr<const Tokenizer> tokenizer = []() -> std::shared_ptr<const Tokenizer> {
    const std::string path = Tokenizer::DefaultPath();
    if (!std::filesystem::exists(path)) return nullptr;
    return Tokenizer::Load(path);
  }();
  return tokenizer.get();
}

inline bool ModelsRequired() {
  const char* v = std::getenv("STUDIO_REQUIRE_MODELS");
  return v != nullptr && std::string_view(v) == "1";
}

/// Fixture base: tok() is the real tokenizer; the test is skipped (or fails) without the file.
class TokenizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokenizer_ = SharedTokenizer();
    if (tokenizer_ != nullptr) return;
    if (ModelsRequired()) {
      FAIL() << "STUDIO_REQUIRE_MODELS=1 but " << Tokenizer::DefaultPath()
             << " is missing: run scripts/fetch-models.sh";
    }
    GTEST_SKIP() << Tokenizer::DefaultPath() << " is missing: run scripts/fetch-models.sh";
  }
  const Tokenizer& tok() const { return *tokenizer_; }

 private:
  const Tokenizer* tokenizer_ = nullptr;
};

}  // namespace studio::search::test_support
