#include "core/ids.hpp"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <random>
#include <stdexcept>

namespace studio {
namespace {

constexpr std::string_view kBase62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

std::mt19937_64& RequestIdEngine() {
  thread_local std::mt19937_64 engine = [] {
    std::uint64_t seed = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) != 1) {
      seed = std::random_device{}();
    }
    return std::mt19937_64(seed);
  }();
  return engine;
}

}  // namespace

std::string NewId(std::string_view prefix) {
  // 22 base62 characters drawn by rejection sampling (bytes >= 248 are discarded to keep every
  // character uniform): about 131 bits of entropy.
  std::string out(prefix);
  out.reserve(prefix.size() + 22);
  std::array<unsigned char, 32> bytes{};
  while (out.size() < prefix.size() + 22) {
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
      throw std::runtime_error("CSPRNG unavailable");
    }
    for (unsigned char b : bytes) {
      if (b >= 248) continue;
      out.push_back(kBase62[b % 62]);
      if (out.size() == prefix.size() + 22) break;
    }
  }
  return out;
}

std::string NewRequestId() {
  static constexpr char kHex[] = "0123456789abcdef";
  auto& engine = RequestIdEngine();
  std::uint64_t a = engine();
  std::uint32_t b = static_cast<std::uint32_t>(engine());
  std::string out = "req_";
  out.reserve(28);
  for (int i = 15; i >= 0; --i) out.push_back(kHex[(a >> (i * 4)) & 0xF]);
  for (int i = 7; i >= 0; --i) out.push_back(kHex[(b >> (i * 4)) & 0xF]);
  return out;
}

bool IsSaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

}  // namespace studio
