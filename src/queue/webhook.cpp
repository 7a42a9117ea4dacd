#include "queue/webhook.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <cstdlib>
#include <stdexcept>

namespace studio::queue {

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  static const unsigned char kEmptyKey = 0;  // HMAC() wants a non-null key pointer even when empty
  const void* key_ptr = key.empty() ? static_cast<const void*>(&kEmptyKey) : static_cast<const void*>(key.data());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), mac, &mac_len) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(static_cast<std::size_t>(mac_len) * 2);
  for (unsigned int i = 0; i < mac_len; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 0x0f]);
  }
  return hex;
}

std::string SignWebhook(std::string_view secret, std::int64_t unix_seconds, std::string_view body) {
  std::string t = std::to_string(unix_seconds);
  std::string signed_text = t;
  signed_text.append(".").append(body);
  return "t=" + t + ",v1=" + HmacSha256Hex(secret, signed_text);
}

bool VerifyWebhookSignature(std::string_view secret, std::string_view header, std::string_view body,
                            std::int64_t now_unix_seconds, std::int64_t tolerance_seconds) {
  // Exactly "t=<digits>,v1=<64 hex>".
  if (!header.starts_with("t=")) return false;
  std::size_t comma = header.find(",v1=");
  if (comma == std::string_view::npos) return false;
  std::string_view t = header.substr(2, comma - 2);
  std::string_view mac = header.substr(comma + 4);
  std::int64_t timestamp = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), timestamp);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size()) return false;
  if (std::llabs(now_unix_seconds - timestamp) > tolerance_seconds) return false;
  std::string signed_text(t);
  signed_text.append(".").append(body);
  const std::string expected = HmacSha256Hex(secret, signed_text);
  return mac.size() == expected.size() && CRYPTO_memcmp(mac.data(), expected.data(), expected.size()) == 0;
}

}  // namespace studio::queue
