#include "auth/secrets.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <stdexcept>

namespace studio::auth {
namespace {

constexpr std::string_view kBase64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kPrefixAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::size_t kSecretBytes = 32;       // 256 bits
constexpr std::size_t kSecretChars = 43;       // base64url of 32 bytes, unpadded
constexpr std::size_t kApiKeyPrefixChars = 8;  // ~41 bits: only needs to make lookups unique-ish
constexpr std::string_view kApiKeyScheme = "sk_";
constexpr std::size_t kApiKeyChars = kApiKeyScheme.size() + kApiKeyPrefixChars + 1 + kSecretChars;  // 55

std::string RandomBytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("CSPRNG unavailable");
  }
  return out;
}

/// Value of a base64url char, or -1.
int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::string Hex(const unsigned char* data, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0xF]);
  }
  return out;
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  auto byte = [&bytes](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out.push_back(kBase64Url[(v >> 18) & 63]);
    out.push_back(kBase64Url[(v >> 12) & 63]);
    out.push_back(kBase64Url[(v >> 6) & 63]);
    out.push_back(kBase64Url[v & 63]);
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    std::uint32_t v = byte(i) << 16;
    out.push_back(kBase64Url[(v >> 18) & 63]);
    out.push_back(kBase64Url[(v >> 12) & 63]);
  } else if (rest == 2) {
    std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out.push_back(kBase64Url[(v >> 18) & 63]);
    out.push_back(kBase64Url[(v >> 12) & 63]);
    out.push_back(kBase64Url[(v >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  // A trailing group of one char cannot encode a whole byte.
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = Base64UrlValue(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Leftover bits (2 or 4) must be zero; otherwise "Zg" and "Zh" would both decode to "f", and a
  // signature or key would have several accepted spellings.
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string NewRefreshToken() { return Base64UrlEncode(RandomBytes(kSecretBytes)); }

std::string HashSecret(std::string_view secret) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(secret.data(), secret.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 unavailable");
  }
  return Hex(md.data(), len);
}

ApiKey NewApiKey() {
  std::string prefix;
  prefix.reserve(kApiKeyPrefixChars);
  // Rejection sampling: 252 = 7 * 36, so accepted bytes map uniformly onto the 36 chars.
  while (prefix.size() < kApiKeyPrefixChars) {
    for (char b : RandomBytes(16)) {
      auto u = static_cast<unsigned char>(b);
      if (u >= 252) continue;
      prefix.push_back(kPrefixAlphabet[u % kPrefixAlphabet.size()]);
      if (prefix.size() == kApiKeyPrefixChars) break;
    }
  }
  ApiKey key;
  key.full = std::string(kApiKeyScheme) + prefix + "_" + NewRefreshToken();
  key.prefix = std::move(prefix);
  key.hash = HashSecret(key.full);
  return key;
}

std::optional<std::string> ApiKeyPrefix(std::string_view key) {
  // Split by position, not by searching for '_': the secret's alphabet contains '_' itself.
  if (key.size() != kApiKeyChars || key.substr(0, kApiKeyScheme.size()) != kApiKeyScheme) return std::nullopt;
  std::string_view prefix = key.substr(kApiKeyScheme.size(), kApiKeyPrefixChars);
  for (char c : prefix) {
    if (kPrefixAlphabet.find(c) == std::string_view::npos) return std::nullopt;
  }
  if (key[kApiKeyScheme.size() + kApiKeyPrefixChars] != '_') return std::nullopt;
  auto secret = Base64UrlDecode(key.substr(kApiKeyScheme.size() + kApiKeyPrefixChars + 1));
  if (!secret || secret->size() != kSecretBytes) return std::nullopt;
  return std::string(prefix);
}

bool SecretHashEquals(std::string_view a, std::string_view b) {
  // Lengths are public (every stored hash is 64 hex chars), so only the contents need constant time.
  if (a.empty() || a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string UserAgentHash(std::string_view user_agent) { return HashSecret(user_agent); }

}  // namespace studio::auth
