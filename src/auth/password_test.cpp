#include "auth/password.hpp"

#include <crypt.h>
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "core/error.hpp"

namespace studio::auth {
namespace {

const std::vector<std::string> kUser = {"alice.smith@example.com", "Alice Smith", "Acme Corp"};

/// The message for "password" when CheckPasswordStrength rejects, or "" when it accepts.
std::string Rejection(std::string_view pw, const std::vector<std::string>& inputs = kUser,
                      const PasswordPolicy& policy = {}) {
  try {
    CheckPasswordStrength(pw, inputs, policy);
  } catch (const ValidationFailed& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.errors().size(), 1u);
    if (e.errors().empty()) return "(no field errors)";
    EXPECT_EQ(e.errors()[0].field, "password");
    EXPECT_FALSE(e.errors()[0].message.empty());
    return e.errors()[0].message;
  }
  return "";
}

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// Distinct 4-byte emoji U+1F600.. (so zxcvbn sees no repeat pattern).
std::string Emoji(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    const unsigned cp = 0x1F600u + static_cast<unsigned>(i);
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

std::string BcryptHash(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  // Cost 4 is bcrypt's minimum: fast enough for a unit test.
  if (crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof salt) == nullptr) return "";
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(password.c_str(), salt, data.get(), sizeof(crypt_data));
  return out == nullptr ? "" : std::string(out);
}

// ---- hashing ----------------------------------------------------------------------------------------------------

TEST(HashPassword, RoundTripWithFastParams) {
  const auto hash = HashPassword("correct horse battery staple", FastTestParams());
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=8,t=1,p=1$", 0), 0u) << hash;
  EXPECT_EQ(VerifyPassword("correct horse battery staple", hash, FastTestParams()), VerifyResult::kMatch);
}

TEST(HashPassword, WrongPasswordMismatches) {
  const auto hash = HashPassword("correct horse battery staple", FastTestParams());
  EXPECT_EQ(VerifyPassword("correct horse battery stapler", hash, FastTestParams()), VerifyResult::kMismatch);
  EXPECT_EQ(VerifyPassword("", hash, FastTestParams()), VerifyResult::kMismatch);
}

TEST(HashPassword, IsSalted) {
  const auto a = HashPassword("same password here", FastTestParams());
  const auto b = HashPassword("same password here", FastTestParams());
  EXPECT_NE(a, b);
  EXPECT_EQ(VerifyPassword("same password here", a, FastTestParams()), VerifyResult::kMatch);
  EXPECT_EQ(VerifyPassword("same password here", b, FastTestParams()), VerifyResult::kMatch);
}

TEST(HashPassword, NeedsRehashWhenParamsChange) {
  const auto hash = HashPassword("correct horse battery staple", FastTestParams());
  const HashParams more_passes{FastTestParams().opslimit + 1, FastTestParams().memlimit};
  const HashParams more_memory{FastTestParams().opslimit, FastTestParams().memlimit * 2};
  EXPECT_EQ(VerifyPassword("correct horse battery staple", hash, more_passes), VerifyResult::kMatchNeedsRehash);
  EXPECT_EQ(VerifyPassword("correct horse battery staple", hash, more_memory), VerifyResult::kMatchNeedsRehash);
  EXPECT_EQ(VerifyPassword("correct horse battery staple", hash, OwaspParams()), VerifyResult::kMatchNeedsRehash);
  // A wrong password is a mismatch whatever the params.
  EXPECT_EQ(VerifyPassword("wrong", hash, more_passes), VerifyResult::kMismatch);
}

TEST(HashPassword, NoTruncationOfLongPasswords) {
  const std::string a = std::string(100, 'a') + std::string(100, 'b');
  std::string b = a;
  b[150] = 'c';  // same first 72 (and 100) bytes, differs late
  ASSERT_EQ(a.size(), 200u);
  const auto hash = HashPassword(a, FastTestParams());
  EXPECT_EQ(VerifyPassword(a, hash, FastTestParams()), VerifyResult::kMatch);
  EXPECT_EQ(VerifyPassword(b, hash, FastTestParams()), VerifyResult::kMismatch);
  EXPECT_EQ(VerifyPassword(a.substr(0, 72), hash, FastTestParams()), VerifyResult::kMismatch);
}

TEST(HashPassword, RejectsOutOfRangeParams) {
  EXPECT_THROW(HashPassword("x", HashParams{0, FastTestParams().memlimit}), std::invalid_argument);
  EXPECT_THROW(HashPassword("x", HashParams{1, 1024}), std::invalid_argument);
}

TEST(OwaspParams, AreExactlyOwaspMinimum) {
  const auto p = OwaspParams();
  EXPECT_EQ(p.opslimit, 2u);
  EXPECT_EQ(p.memlimit, 19922944u);
  EXPECT_EQ(p.memlimit, 19456u * 1024u);
}

TEST(OwaspParams, EncodedInHash) {
  const auto hash = HashPassword("correct horse battery staple");
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << hash;
  EXPECT_EQ(VerifyPassword("correct horse battery staple", hash), VerifyResult::kMatch);
}

// Not an assertion: a record of what one login costs in this (ASan) build. libsodium itself is not
// instrumented, so this is close to the production cost. Three rounds: the first in a process also pays for
// page-faulting 19 MiB of fresh memory; later ones reuse it, as a long-running server would.
TEST(OwaspParams, MeasureHashAndVerifyTime) {
  using Clock = std::chrono::steady_clock;
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  for (int round = 1; round <= 3; ++round) {
    const auto t0 = Clock::now();
    const auto hash = HashPassword("correct horse battery staple 42!");
    const auto t1 = Clock::now();
    const auto result = VerifyPassword("correct horse battery staple 42!", hash);
    const auto t2 = Clock::now();
    EXPECT_EQ(result, VerifyResult::kMatch);
    std::cout << "[argon2id m=19456 KiB t=2 p=1] round " << round << ": HashPassword " << ms(t1 - t0)
              << " ms, VerifyPassword " << ms(t2 - t1) << " ms, total " << ms(t2 - t0) << " ms\n";
  }
}

// ---- legacy bcrypt ----------------------------------------------------------------------------------------------

TEST(VerifyPassword, LegacyBcryptMatchNeedsRehash) {
  const auto hash = BcryptHash("hunter2 but longer");
  ASSERT_EQ(hash.rfind("$2b$04$", 0), 0u) << hash;
  ASSERT_EQ(hash.size(), 60u);
  EXPECT_EQ(VerifyPassword("hunter2 but longer", hash), VerifyResult::kMatchNeedsRehash);
  EXPECT_EQ(VerifyPassword("hunter2 but longer", hash, FastTestParams()), VerifyResult::kMatchNeedsRehash);
}

TEST(VerifyPassword, LegacyBcryptWrongPasswordMismatches) {
  const auto hash = BcryptHash("hunter2 but longer");
  ASSERT_FALSE(hash.empty());
  EXPECT_EQ(VerifyPassword("hunter3 but longer", hash), VerifyResult::kMismatch);
  EXPECT_EQ(VerifyPassword("", hash), VerifyResult::kMismatch);
  // crypt_rn sees C strings: a NUL must not cut the candidate down to the real password.
  EXPECT_EQ(VerifyPassword(std::string("hunter2 but longer\0xyz", 22), hash), VerifyResult::kMismatch);
}

TEST(VerifyPassword, LegacyBcryptVariantsAccepted) {
  // $2a$ and $2y$ are the same algorithm as $2b$ for these inputs; only the prefix differs.
  const auto hash = BcryptHash("hunter2 but longer");
  ASSERT_FALSE(hash.empty());
  for (const char* prefix : {"$2a$", "$2y$"}) {
    const std::string variant = prefix + hash.substr(4);
    EXPECT_EQ(VerifyPassword("hunter2 but longer", variant), VerifyResult::kMatchNeedsRehash) << variant;
  }
}

TEST(VerifyPassword, LegacyBcryptRejectsPasswordsBeyond72Bytes) {
  const std::string real(72, 'k');
  const auto hash = BcryptHash(real);
  ASSERT_FALSE(hash.empty());
  EXPECT_EQ(VerifyPassword(real, hash), VerifyResult::kMatchNeedsRehash);  // exactly 72 bytes is fine
  // bcrypt itself would accept these (it ignores everything after byte 72); we must not.
  EXPECT_EQ(VerifyPassword(real + "x", hash), VerifyResult::kMismatch);
  EXPECT_EQ(VerifyPassword(real + std::string(100, 'z'), hash), VerifyResult::kMismatch);

  // The price of that rule: a user whose legacy password was longer than 72 bytes cannot log in with it (they
  // must reset it), and neither can anything else sharing its first 72 bytes.
  const std::string long_pw = std::string(72, 'p') + "tail";
  const auto long_hash = BcryptHash(long_pw);
  ASSERT_FALSE(long_hash.empty());
  EXPECT_EQ(VerifyPassword(long_pw, long_hash), VerifyResult::kMismatch);
  EXPECT_EQ(VerifyPassword(std::string(72, 'p') + "other", long_hash), VerifyResult::kMismatch);
}

// ---- bad stored data --------------------------------------------------------------------------------------------

TEST(VerifyPassword, GarbageStoredHashMismatches) {
  const auto good = HashPassword("correct horse battery staple", FastTestParams());
  const auto bcrypt = BcryptHash("correct horse battery staple");
  ASSERT_FALSE(bcrypt.empty());
  const std::vector<std::string> garbage = {
      "",
      "correct horse battery staple",  // plaintext "hash"
      "*",
      "!",
      "$argon2id$",
      "$argon2id$v=19$m=8,t=1,p=1$",
      good.substr(0, good.size() - 1),
      good + "A",
      good + "\n",
      std::string(good.data(), 20) + std::string(1, '\0') + good.substr(21),
      "$argon2i$" + good.substr(10),                                                // argon2i: not a format we write
      "$argon2id$v=19$m=4294967295,t=1,p=1$" + good.substr(good.find("p=1$") + 4),  // absurd memory
      "$argon2id$v=19$m=-8,t=1,p=1$" + good.substr(good.find("p=1$") + 4),
      "$2b$04$" + std::string(53, '.'),
      "$2b$99$" + bcrypt.substr(7),  // invalid cost
      "$2x$" + bcrypt.substr(4),     // buggy-variant prefix we do not accept
      bcrypt.substr(0, 59),
      bcrypt + "x",
      "$1$abcdefgh$abcdefghijklmnopqrstuv",  // md5crypt
      "$6$salt$" + std::string(86, 'a'),     // sha512crypt
      std::string(1000, '$'),
  };
  for (const auto& stored : garbage) {
    EXPECT_EQ(VerifyPassword("correct horse battery staple", stored, FastTestParams()), VerifyResult::kMismatch)
        << "stored: " << stored;
  }
  // Sanity: the untampered originals do verify, so the rejections above are about the tampering.
  EXPECT_EQ(VerifyPassword("correct horse battery staple", good, FastTestParams()), VerifyResult::kMatch);
  EXPECT_EQ(VerifyPassword("correct horse battery staple", bcrypt), VerifyResult::kMatchNeedsRehash);
}

TEST(VerifyPassword, StoredArgon2CostIsBounded) {
  // A genuine hash with more passes than any configuration would use (a corrupted row, a hostile import) is
  // refused rather than allowed to tie up a login thread; the bound (64 passes) itself still verifies.
  const HashParams at_bound{64, FastTestParams().memlimit};
  const HashParams over_bound{65, FastTestParams().memlimit};
  EXPECT_EQ(VerifyPassword("pw", HashPassword("pw", at_bound), at_bound), VerifyResult::kMatch);
  EXPECT_EQ(VerifyPassword("pw", HashPassword("pw", over_bound), over_bound), VerifyResult::kMismatch);
}

// ---- dummy ------------------------------------------------------------------------------------------------------

TEST(VerifyDummy, RunsWithoutThrowing) {
  EXPECT_NO_THROW(VerifyDummy("whatever the attacker typed", FastTestParams()));
  EXPECT_NO_THROW(VerifyDummy("whatever the attacker typed", FastTestParams()));  // cached dummy
  EXPECT_NO_THROW(VerifyDummy(""));                                               // OWASP params
  EXPECT_NO_THROW(VerifyDummy(std::string(1000, 'x'), FastTestParams()));
}

// ---- strength ---------------------------------------------------------------------------------------------------

TEST(CheckPasswordStrength, RejectsCommonPasswords) {
  const auto msg = Rejection("password1234");
  EXPECT_NE(msg.find("commonly used password"), std::string::npos) << msg;
  EXPECT_NE(Rejection("qwertyuiop123"), "");
  EXPECT_NE(Rejection("Password123!"), "");
  EXPECT_NE(Rejection("aaaaaaaaaaaa"), "");
}

TEST(CheckPasswordStrength, RejectsUserInputs) {
  EXPECT_NE(Rejection("alice.smith@example.com"), "");
  // Words of the inputs, joined or with a few additions, count too (zxcvbn alone only matches whole entries).
  const auto msg = Rejection("acmecorp12345");
  EXPECT_NE(msg.find("name, email address or workspace name"), std::string::npos) << msg;
  EXPECT_NE(Rejection("AliceSmith2024!"), "");
  // Without the user's data, the same password passes: it is the personal context that makes it weak.
  EXPECT_EQ(Rejection("acmecorp12345", {}), "");
}

TEST(CheckPasswordStrength, AcceptsStrongPassphrase) {
  EXPECT_EQ(Rejection("correct horse battery staple 42!"), "");
  EXPECT_EQ(Rejection("kJ8#mQ2$vL9x"), "");
  EXPECT_NO_THROW(CheckPasswordStrength("correct horse battery staple 42!", kUser));
}

TEST(CheckPasswordStrength, LengthLimits) {
  // Random-looking so only length can be the reason.
  const std::string base = "kJ8#mQ2$vL9xR4!tZ7&wP1^nB5*hF3@cD6%gS0";
  EXPECT_NE(Rejection(base.substr(0, 11)).find("at least 12"), std::string::npos);
  EXPECT_EQ(Rejection(base.substr(0, 12)), "");
  const std::string long128 = Repeat(base, 4).substr(0, 128);
  const std::string long129 = Repeat(base, 4).substr(0, 129);
  EXPECT_EQ(Rejection(long128), "");
  EXPECT_NE(Rejection(long129).find("at most 128"), std::string::npos);
  // Policy is honoured.
  EXPECT_NE(Rejection(base.substr(0, 12), kUser, PasswordPolicy{16, 128, 3}).find("at least 16"), std::string::npos);
}

TEST(CheckPasswordStrength, LengthCountsCodePointsNotBytes) {
  const auto twelve = Emoji(12);  // 48 bytes
  ASSERT_EQ(twelve.size(), 48u);
  EXPECT_EQ(Rejection(twelve), "");
  EXPECT_NE(Rejection(Emoji(11)).find("at least 12"), std::string::npos);  // 44 bytes, still too short
  // 128 code points = 512 bytes is within the maximum; 129 is not.
  const std::string cjk = "\xE6\xBC\xA2";  // U+6F22, 3 bytes
  EXPECT_EQ(Rejection(Emoji(64) + Repeat("\xC3\xA9", 64), {}, PasswordPolicy{12, 128, 0}), "");
  EXPECT_NE(Rejection(Repeat(cjk, 129), {}, PasswordPolicy{12, 128, 0}).find("at most 128"), std::string::npos);
}

TEST(CheckPasswordStrength, RejectsInvalidUtf8AndNul) {
  const std::string strong = "correct horse battery staple 42!";
  for (const std::string& bad : {
           strong + "\xFF",              // never valid
           strong + "\xC3",              // truncated sequence
           strong + "\x80",              // stray continuation
           strong + "\xC0\xAF",          // overlong '/'
           strong + "\xE0\x80\xAF",      // overlong '/'
           strong + "\xED\xA0\x80",      // UTF-16 surrogate
           strong + "\xF4\x90\x80\x80",  // above U+10FFFF
       }) {
    EXPECT_NE(Rejection(bad).find("UTF-8"), std::string::npos) << bad;
  }
  EXPECT_NE(Rejection(std::string("correct horse\0battery staple 42!", 32)).find("NUL"), std::string::npos);
  // And valid multi-byte text is fine.
  EXPECT_EQ(Rejection("correct horse battery staple 42! \xC3\xA9\xE6\xBC\xA2\xF0\x9F\x98\x80"), "");
}

TEST(CheckPasswordStrength, ScoreThresholdFromPolicy) {
  // "qwertyuiop123" is weak; with the score requirement off only length applies.
  EXPECT_EQ(Rejection("qwertyuiop123", kUser, PasswordPolicy{12, 128, 0}), "");
  EXPECT_NE(Rejection("correct horse battery staple 42!", kUser, PasswordPolicy{12, 128, 5}), "");
  // ~21 bits = ~10^6.4 guesses: zxcvbn score 2. Below the default (3), enough for a policy asking for 2.
  EXPECT_NE(Rejection("AliceSmith2024!", {}), "");
  EXPECT_EQ(Rejection("AliceSmith2024!", {}, PasswordPolicy{12, 128, 2}), "");
}

}  // namespace
}  // namespace studio::auth
