#include "ratelimit/limiter.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <stdexcept>
#include <unordered_map>

#include "core/error.hpp"

namespace studio::ratelimit {
namespace {

using Nanos = std::int64_t;

// Windows (emission interval × burst) are capped so that `now + 2 × window` can never overflow an
// int64 of nanoseconds; ~31 years is far beyond any sensible limit.
constexpr Nanos kMaxWindow = 1'000'000'000'000'000'000;
// Expired entries removed per Take: bounded so one call never pays for a whole flood, but more than
// one so that sweeping outpaces insertion (each Take inserts at most one entry).
constexpr int kSweepPerTake = 4;
constexpr std::size_t kMaxShards = 16;

struct Params {
  Nanos interval;  // T: time "cost" of one cell
  Nanos window;    // T × burst: how far ahead of now the TAT may run
};

Params Validate(const Limit& limit) {
  if (limit.requests == 0) throw std::invalid_argument("rate limit '" + limit.name + "': requests must be >= 1");
  if (limit.period <= std::chrono::milliseconds::zero())
    throw std::invalid_argument("rate limit '" + limit.name + "': period must be positive");
  if (limit.burst == 0) throw std::invalid_argument("rate limit '" + limit.name + "': burst must be >= 1");
  const Nanos period = std::chrono::duration_cast<std::chrono::nanoseconds>(limit.period).count();
  // Rounded up, not down: a slightly long interval under-admits by < 1 ns per cell, whereas a short
  // one would let a client creep past `requests` per `period`. It also keeps the interval >= 1 ns,
  // so rates above one per nanosecond degrade to that instead of to "unlimited".
  const Nanos interval = (period + limit.requests - 1) / limit.requests;
  Nanos window = 0;
  if (__builtin_mul_overflow(interval, static_cast<Nanos>(limit.burst), &window) || window > kMaxWindow)
    throw std::invalid_argument("rate limit '" + limit.name + "': period x burst is too large");
  return {interval, window};
}

std::chrono::milliseconds CeilMillis(Nanos ns) {
  if (ns <= 0) return std::chrono::milliseconds::zero();
  return std::chrono::milliseconds((ns + 999'999) / 1'000'000);
}

// Seconds for headers: rounded up so a client that waits the advertised time is never early.
std::int64_t CeilSeconds(std::chrono::milliseconds ms) {
  if (ms.count() <= 0) return 0;
  return (ms.count() + 999) / 1000;
}

std::int64_t RetryAfterSeconds(const Decision& d) { return std::max<std::int64_t>(1, CeilSeconds(d.retry_after)); }

}  // namespace

// ---------------------------------------------------------------------------------------------------
// InProcessLimiter

struct InProcessLimiter::Shard {
  // Secondary index ordered by TAT. It makes both sweeping (expired entries are at the front) and
  // eviction (earliest TAT is at the front) O(log n) instead of a scan. It points at the map's keys:
  // unordered_map never moves its nodes, even on rehash, so the pointers stay valid.
  using ByTat = std::multimap<Nanos, const std::string*>;
  struct Entry {
    Nanos tat;
    ByTat::iterator pos;
  };

  alignas(64) std::mutex mu;  // own cache line: shards are locked from different threads
  std::unordered_map<std::string, Entry> entries;
  ByTat by_tat;
  std::size_t cap = 0;

  void EraseFront() {
    auto front = by_tat.begin();
    // Find, then erase by iterator: erasing by a key reference that lives inside the very node being
    // destroyed is a lifetime trap.
    entries.erase(entries.find(*front->second));
    by_tat.erase(front);
  }

  void Sweep(Nanos now) {
    for (int i = 0; i < kSweepPerTake && !by_tat.empty() && by_tat.begin()->first <= now; ++i) EraseFront();
  }

  void SetTat(Entry& e, Nanos tat) {
    // Re-key the existing index node: no allocation on the hot path.
    auto node = by_tat.extract(e.pos);
    node.key() = tat;
    e.pos = by_tat.insert(std::move(node));
    e.tat = tat;
  }

  void Insert(std::string key, Nanos tat) {
    // The front of the index is an expired entry if there is any, else the earliest TAT: exactly the
    // eviction order documented in the header.
    while (entries.size() >= cap && !by_tat.empty()) EraseFront();
    auto [it, inserted] = entries.emplace(std::move(key), Entry{tat, {}});
    (void)inserted;  // the caller looked the key up under the same lock
    try {
      it->second.pos = by_tat.emplace(tat, &it->first);
    } catch (...) {
      entries.erase(it);  // never leave an entry without its index node
      throw;
    }
  }
};

InProcessLimiter::InProcessLimiter(std::size_t max_keys) {
  if (max_keys == 0) throw std::invalid_argument("InProcessLimiter: max_keys must be >= 1");
  // Fewer shards than keys would leave a shard with a cap of 0, i.e. keys that can never be tracked.
  shard_count_ = std::min(kMaxShards, max_keys);
  shards_ = std::make_unique<Shard[]>(shard_count_);
  // Split the cap exactly so that size() <= max_keys holds, not just approximately.
  for (std::size_t i = 0; i < shard_count_; ++i)
    shards_[i].cap = max_keys / shard_count_ + (i < max_keys % shard_count_ ? 1 : 0);
}

InProcessLimiter::~InProcessLimiter() = default;

std::size_t InProcessLimiter::size() const {
  std::size_t total = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    total += shards_[i].entries.size();
  }
  return total;
}

Decision InProcessLimiter::Take(const Limit& limit, std::string_view key, std::chrono::steady_clock::time_point now_tp,
                                std::uint32_t cost) {
  const Params p = Validate(limit);
  const Nanos now = std::chrono::duration_cast<std::chrono::nanoseconds>(now_tp.time_since_epoch()).count();

  // Length-prefix the name so ("a", "b:c") and ("a:b", "c") can never collide. Built before locking
  // so the allocation happens outside the critical section.
  std::string bucket = std::to_string(limit.name.size());
  bucket.reserve(bucket.size() + 1 + limit.name.size() + key.size());
  bucket += ':';
  bucket += limit.name;
  bucket += key;

  // The map hashes with the low bits; pick the shard from mixed high bits so shard and bucket choice
  // are not correlated.
  const std::uint64_t h = std::hash<std::string>{}(bucket);
  Shard& shard = shards_[((h ^ (h >> 32)) * 0x9E3779B97F4A7C15ULL >> 32) % shard_count_];

  Decision d;
  d.limit = limit.burst;

  std::lock_guard lock(shard.mu);
  shard.Sweep(now);

  auto it = shard.entries.find(bucket);
  // A TAT in the past means the bucket is full; clamp so idle time is not banked beyond the burst.
  const Nanos tat = it == shard.entries.end() ? now : std::max(it->second.tat, now);
  Nanos final_tat = tat;

  if (cost > limit.burst) {
    d.allowed = false;
    d.retry_after = CeilMillis(std::max(tat - now, p.interval));
  } else {
    // cost <= burst and interval × burst <= kMaxWindow, so neither line can overflow.
    const Nanos new_tat = tat + p.interval * static_cast<Nanos>(cost);
    const Nanos allow_at = new_tat - p.window;
    if (now < allow_at) {
      // Denied requests consume nothing: otherwise a client hammering while limited would push its
      // own TAT ever further out and never recover.
      d.allowed = false;
      d.retry_after = CeilMillis(allow_at - now);
    } else {
      d.allowed = true;
      final_tat = new_tat;
      if (cost > 0) {
        if (it != shard.entries.end()) {
          shard.SetTat(it->second, new_tat);
        } else {
          shard.Insert(std::move(bucket), new_tat);
        }
      }
    }
  }

  const Nanos available = (now + p.window - final_tat) / p.interval;
  d.remaining = static_cast<std::uint32_t>(std::clamp<Nanos>(available, 0, limit.burst));
  d.reset = CeilMillis(final_tat - now);
  return d;
}

// ---------------------------------------------------------------------------------------------------
// Headers and enforcement

std::vector<std::pair<std::string, std::string>> RateLimitHeaders(const Decision& d) {
  std::vector<std::pair<std::string, std::string>> h;
  h.reserve(4);
  h.emplace_back("RateLimit-Limit", std::to_string(d.limit));
  h.emplace_back("RateLimit-Remaining", std::to_string(d.remaining));
  h.emplace_back("RateLimit-Reset", std::to_string(CeilSeconds(d.reset)));
  // Retry-After: 0 would invite an immediate (and still denied) retry, hence at least 1.
  if (!d.allowed) h.emplace_back("Retry-After", std::to_string(RetryAfterSeconds(d)));
  return h;
}

void EnforceOrThrow(const Decision& d, std::string_view what) {
  if (d.allowed) return;
  const std::int64_t seconds = RetryAfterSeconds(d);
  std::string detail = what.empty() ? std::string("Too many requests") : "Too many " + std::string(what);
  detail += ". Try again in " + std::to_string(seconds) + (seconds == 1 ? " second." : " seconds.");
  TooManyRequests error(std::move(detail), static_cast<int>(std::min<std::int64_t>(seconds, INT_MAX)));
  // TooManyRequests already sets Retry-After; add the rest without duplicating it.
  for (auto& header : RateLimitHeaders(d))
    if (header.first != "Retry-After") error.headers().push_back(std::move(header));
  throw error;
}

// ---------------------------------------------------------------------------------------------------
// ClientIpResolver

namespace {

struct Address {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};
};

std::optional<Address> ParseIp(std::string_view text) {
  // inet_pton wants a NUL-terminated string; anything longer than the longest IPv6 text is garbage.
  char buf[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';

  Address a;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, a.bytes.data()) != 1) return std::nullopt;
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
  // Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d. Treat them as IPv4 so an IPv4 CIDR
  // matches them and the client gets the same rate-limit key either way.
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a.bytes.data(), kMapped, sizeof kMapped) == 0) {
    std::memmove(a.bytes.data(), a.bytes.data() + 12, 4);
    std::fill(a.bytes.begin() + 4, a.bytes.end(), std::uint8_t{0});
    return a;
  }
  a.v6 = true;
  return a;
}

std::string Format(const Address& a) {
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(a.v6 ? AF_INET6 : AF_INET, a.bytes.data(), buf, sizeof buf) == nullptr) return {};
  return buf;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsPort(std::string_view s) {
  return !s.empty() && s.size() <= 5 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// One X-Forwarded-For element. Some proxies append a port ("1.2.3.4:5678", "[2001:db8::1]:443");
// the port is irrelevant for identifying the client, so accept and drop it.
std::optional<Address> ParseHop(std::string_view hop) {
  hop = Trim(hop);
  if (!hop.empty() && hop.front() == '[') {
    const auto close = hop.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const auto rest = hop.substr(close + 1);
    if (!rest.empty() && !(rest.front() == ':' && IsPort(rest.substr(1)))) return std::nullopt;
    auto a = ParseIp(hop.substr(1, close - 1));
    if (a && !a->v6) return std::nullopt;  // brackets are only for IPv6
    return a;
  }
  const auto colon = hop.find(':');
  if (colon != std::string_view::npos && hop.find(':', colon + 1) == std::string_view::npos) {
    // Exactly one colon: IPv4 with a port (no IPv6 address has a single colon).
    if (!IsPort(hop.substr(colon + 1))) return std::nullopt;
    auto a = ParseIp(hop.substr(0, colon));
    if (a && a->v6) return std::nullopt;
    return a;
  }
  return ParseIp(hop);
}

}  // namespace

ClientIpResolver::ClientIpResolver(const std::vector<std::string>& trusted_proxies) {
  trusted_.reserve(trusted_proxies.size());
  for (const auto& entry : trusted_proxies) {
    const std::string_view text = entry;
    const auto slash = text.find('/');
    const auto addr = ParseIp(text.substr(0, slash));
    if (!addr) throw std::invalid_argument("trusted proxy '" + entry + "': not an IP address or CIDR");

    // A plain IPv4-mapped IPv6 text was normalised to IPv4 by ParseIp, so its width follows.
    const unsigned width = addr->v6 ? 128 : 32;
    unsigned prefix = width;
    if (slash != std::string_view::npos) {
      const auto digits = text.substr(slash + 1);
      if (digits.empty() || digits.size() > 3 ||
          !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        throw std::invalid_argument("trusted proxy '" + entry + "': bad prefix length");
      prefix = 0;
      for (char c : digits) prefix = prefix * 10 + static_cast<unsigned>(c - '0');
      // "::ffff:10.0.0.0/104" was normalised to 10.0.0.0, so its prefix is counted in IPv6 bits.
      const bool mapped = !addr->v6 && text.substr(0, slash).find(':') != std::string_view::npos;
      if (mapped) {
        if (prefix < 96 || prefix > 128)
          throw std::invalid_argument("trusted proxy '" + entry + "': IPv4-mapped prefix must be 96..128");
        prefix -= 96;
      }
      if (prefix > width) throw std::invalid_argument("trusted proxy '" + entry + "': prefix length too large");
    }

    Network net{addr->v6, addr->bytes, prefix};
    // Host bits set ("192.168.1.1/16") usually means the author meant something else; in a list that
    // decides whose X-Forwarded-For we believe, refuse it rather than guess.
    for (unsigned bit = prefix; bit < width; ++bit) {
      if (net.bytes[bit / 8] & (0x80u >> (bit % 8)))
        throw std::invalid_argument("trusted proxy '" + entry + "': host bits set in CIDR");
    }
    trusted_.push_back(net);
  }
}

namespace {

bool InNetwork(const Address& a, bool v6, const std::array<std::uint8_t, 16>& bytes, unsigned prefix) {
  if (a.v6 != v6) return false;
  const unsigned whole = prefix / 8;
  if (std::memcmp(a.bytes.data(), bytes.data(), whole) != 0) return false;
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFFu << (8 - rest));
  return (a.bytes[whole] & mask) == (bytes[whole] & mask);
}

}  // namespace

std::string ClientIpResolver::Resolve(std::string_view peer, std::optional<std::string_view> x_forwarded_for) const {
  const auto trusted = [this](const Address& a) {
    return std::any_of(trusted_.begin(), trusted_.end(),
                       [&](const Network& n) { return InNetwork(a, n.v6, n.bytes, n.prefix); });
  };

  const auto peer_addr = ParseIp(Trim(peer));
  if (!peer_addr) return std::string(peer);  // nothing better to offer; the caller still gets a key
  // An untrusted peer could have written any X-Forwarded-For it likes, so it is ignored entirely.
  if (!trusted(*peer_addr) || !x_forwarded_for) return Format(*peer_addr);

  // Walk from the right: each element was appended by the hop to its right, so an element is only
  // believable while everything to its right is one of our proxies.
  const std::string_view header = *x_forwarded_for;
  std::size_t end = header.size();
  Address leftmost = *peer_addr;
  for (;;) {
    const auto comma = header.substr(0, end).rfind(',');
    const std::size_t start = comma == std::string_view::npos ? 0 : comma + 1;
    const auto hop = ParseHop(header.substr(start, end - start));
    // A garbled element means the chain cannot be trusted beyond our own proxy: use the peer.
    if (!hop) return Format(*peer_addr);
    if (!trusted(*hop)) return Format(*hop);
    leftmost = *hop;
    if (comma == std::string_view::npos) break;
    end = comma;
  }
  // Every hop is one of ours (e.g. an internal health check): the furthest one is the origin.
  return Format(leftmost);
}

}  // namespace studio::ratelimit
