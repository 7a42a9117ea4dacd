#include "auth/secrets.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

namespace studio::auth {
namespace {

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}
bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsLowerHex(char c) { return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9'); }

TEST(Base64Url, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"}};
  for (const auto& [raw, encoded] : vectors) {
    EXPECT_EQ(Base64UrlEncode(raw), encoded);
    EXPECT_EQ(Base64UrlDecode(encoded), raw) << encoded;
  }
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(all_bytes)), all_bytes);
}

TEST(Base64Url, DecodeIsStrict) {
  const std::string bads[] = {"Zg==", "Zm8=",   "Z",     "Zm9vY", "+_8",
                              "-/8",  "Zm9v\n", " Zm9v", "Zm 9v", std::string("Zm\0v", 4),
                              "Zh",   "Zm9",    "Zm+"};
  for (const std::string& bad : bads) {
    // "Zh" and "Zm9" carry set unused bits (non-canonical spellings of "f" and "fo").
    EXPECT_EQ(Base64UrlDecode(bad), std::nullopt) << bad;
  }
}

TEST(RefreshToken, Is43Base64UrlCharsOf32Bytes) {
  auto token = NewRefreshToken();
  ASSERT_EQ(token.size(), 43u);
  for (char c : token) EXPECT_TRUE(IsBase64UrlChar(c)) << c;
  auto bytes = Base64UrlDecode(token);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(bytes->size(), 32u);
}

TEST(RefreshToken, UniqueOver1000Draws) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(seen.insert(NewRefreshToken()).second);
}

TEST(HashSecret, KnownVectors) {
  EXPECT_EQ(HashSecret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HashSecret(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HashSecret("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(HashSecret, IsLowercaseHexAndBinarySafe) {
  auto h = HashSecret(std::string("a\0b", 3));
  ASSERT_EQ(h.size(), 64u);
  for (char c : h) EXPECT_TRUE(IsLowerHex(c));
  EXPECT_NE(h, HashSecret("a"));
  EXPECT_NE(HashSecret("token-1"), HashSecret("token-2"));
}

TEST(ApiKey, Shape) {
  ApiKey key = NewApiKey();
  ASSERT_EQ(key.full.size(), 55u);
  EXPECT_EQ(key.full.substr(0, 3), "sk_");
  ASSERT_EQ(key.prefix.size(), 8u);
  for (char c : key.prefix) EXPECT_TRUE(IsLowerAlnum(c)) << c;
  EXPECT_EQ(key.full.substr(3, 8), key.prefix);
  EXPECT_EQ(key.full[11], '_');
  std::string secret = key.full.substr(12);
  ASSERT_EQ(secret.size(), 43u);
  for (char c : secret) EXPECT_TRUE(IsBase64UrlChar(c)) << c;
  EXPECT_EQ(key.hash, HashSecret(key.full));
  EXPECT_EQ(ApiKeyPrefix(key.full), key.prefix);
}

TEST(ApiKey, UniqueOver1000Draws) {
  std::set<std::string> keys, prefixes, hashes;
  for (int i = 0; i < 1000; ++i) {
    ApiKey key = NewApiKey();
    ASSERT_TRUE(keys.insert(key.full).second);
    ASSERT_TRUE(hashes.insert(key.hash).second);
    // 36^8 ≈ 2.8e12 prefixes: a collision among 1000 has probability ~2e-7.
    ASSERT_TRUE(prefixes.insert(key.prefix).second);
    ASSERT_EQ(ApiKeyPrefix(key.full), key.prefix);
  }
}

TEST(ApiKeyPrefix, ParsesWellFormedKeys) {
  const std::string secret = "abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE";  // 43 chars, last 'E' = 4: canonical
  ASSERT_EQ(secret.size(), 43u);
  EXPECT_EQ(ApiKeyPrefix("sk_ab12cd34_" + secret), "ab12cd34");
  EXPECT_EQ(ApiKeyPrefix("sk_00000000_" + std::string(43, 'A')), "00000000");
  // The secret may itself contain '_', right after the separator too.
  EXPECT_EQ(ApiKeyPrefix("sk_zzzzzzzz__" + std::string(42, 'A')), "zzzzzzzz");
}

TEST(ApiKeyPrefix, RejectsMalformedKeys) {
  const std::string secret(43, 'A');
  const std::string good = "sk_ab12cd34_" + secret;
  ASSERT_TRUE(ApiKeyPrefix(good).has_value());
  for (const std::string& bad : {std::string(), std::string("sk_"), std::string("sk_ab12cd34_"),
                                 "pk_ab12cd34_" + secret,                  // wrong scheme
                                 "SK_ab12cd34_" + secret,                  // scheme is case-sensitive
                                 "sk_AB12cd34_" + secret,                  // uppercase prefix
                                 "sk_ab12cd3_" + secret + "A",             // 7-char prefix (length kept)
                                 "sk_ab12cd345_" + secret.substr(1),       // 9-char prefix (length kept)
                                 "sk_ab-2cd34_" + secret,                  // '-' in prefix
                                 "sk_ab12cd34-" + secret,                  // wrong separator
                                 "sk_ab12cd34_" + secret.substr(1),        // secret too short
                                 "sk_ab12cd34_" + secret + "A",            // secret too long
                                 "sk_ab12cd34_" + secret.substr(1) + "=",  // padding
                                 "sk_ab12cd34_+" + secret.substr(1),       // standard base64 alphabet
                                 "sk_ab12cd34_/" + secret.substr(1),
                                 "sk_ab12cd34_" + secret.substr(1) + "B",          // non-canonical last char
                                 " " + good.substr(1), good.substr(0, 54) + "\n",  // whitespace
                                 "sk_ab12cd34_" + secret.substr(1) + std::string(1, '\0')}) {
    EXPECT_EQ(ApiKeyPrefix(bad), std::nullopt) << bad;
  }
}

TEST(SecretHashEquals, ComparesExactly) {
  std::string a = HashSecret("one");
  std::string b = HashSecret("two");
  EXPECT_TRUE(SecretHashEquals(a, a));
  EXPECT_TRUE(SecretHashEquals(a, std::string(a)));
  EXPECT_FALSE(SecretHashEquals(a, b));
  std::string last_differs = a;
  last_differs.back() = last_differs.back() == '0' ? '1' : '0';
  EXPECT_FALSE(SecretHashEquals(a, last_differs));
  EXPECT_FALSE(SecretHashEquals(a, a.substr(0, 63)));
  EXPECT_FALSE(SecretHashEquals(a, a + "0"));
  EXPECT_FALSE(SecretHashEquals("", ""));  // an empty stored hash matches nothing
  EXPECT_FALSE(SecretHashEquals(a, ""));
  std::string upper = a;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_FALSE(SecretHashEquals(a, upper));  // stored hashes are lowercase; no case folding
}

TEST(UserAgentHash, IsSha256Hex) {
  EXPECT_EQ(UserAgentHash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
  EXPECT_EQ(UserAgentHash(firefox), HashSecret(firefox));
  EXPECT_EQ(UserAgentHash(firefox).size(), 64u);
  EXPECT_NE(UserAgentHash(firefox), UserAgentHash(firefox + " "));
  EXPECT_EQ(UserAgentHash(""), HashSecret(""));
}

}  // namespace
}  // namespace studio::auth
