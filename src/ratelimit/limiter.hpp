#pragma once
// Rate limiting with GCRA (generic cell rate algorithm).
//
// GCRA keeps one timestamp per key — the theoretical arrival time (TAT) of the next request if the
// client sent at exactly the steady rate — instead of a counter plus a window. That makes it smooth
// (no double-burst at window edges), O(1) state per key, and easy to port to Redis later (one
// GET/SET of an integer inside a script). The interface below is deliberately backend-agnostic:
// callers pass the limit, the key and the time; where the TAT lives is the implementation's business.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace studio::ratelimit {

struct Limit {
  /// Names the limit ("login:ip", "api:tenant"); the same key under two names is two buckets.
  std::string name;
  /// Steady rate: `requests` per `period`.
  std::uint32_t requests = 0;
  std::chrono::milliseconds period{0};
  /// Bucket capacity: how many requests may be made at once by a client that has been idle.
  /// Must be >= 1. After the burst is spent the client is held to the steady rate.
  std::uint32_t burst = 1;
};

struct Decision {
  bool allowed = false;
  std::uint32_t limit = 0;                   // RateLimit-Limit (the burst capacity)
  std::uint32_t remaining = 0;               // RateLimit-Remaining (cells available right now)
  std::chrono::milliseconds reset{0};        // RateLimit-Reset (time until the bucket is full again)
  std::chrono::milliseconds retry_after{0};  // 0 when allowed; otherwise the wait until `cost` fits
};

/// The interface. A Redis implementation will come later, so it stays small and backend-agnostic.
class Limiter {
 public:
  virtual ~Limiter() = default;
  /// Consumes `cost` cells for `key` under `limit` at time `now` (passed in for testability).
  /// A denied request consumes nothing. cost == 0 only reports the current state.
  /// cost > limit.burst can never be admitted: it is denied, consumes nothing, and `retry_after` is
  /// only a hint (the time until the bucket is full, at least one emission interval). Callers should
  /// cap cost at the burst.
  /// Throws std::invalid_argument for an invalid Limit (requests == 0, period <= 0, burst == 0,
  /// or a window too large to represent) — that is a configuration bug, not a client error.
  virtual Decision Take(const Limit& limit, std::string_view key, std::chrono::steady_clock::time_point now,
                        std::uint32_t cost = 1) = 0;
};

/// In-process limiter: up to 16 shards, each a mutex + hash map of key -> TAT, so threads working on
/// different keys rarely contend.
///
/// Memory stays bounded under key floods in two ways:
///  * Every Take sweeps a few (bounded) expired entries from its shard. An entry whose TAT is in the
///    past is indistinguishable from an absent one, so dropping it loses nothing.
///  * Each shard has a hard cap (max_keys split across shards; size() never exceeds max_keys). When a
///    new key arrives at a full shard we evict an expired entry if there is one, else the entry with
///    the earliest TAT.
///
/// Failing open vs closed when full: refusing new keys (closed) would let a flood of random keys lock
/// out every legitimate new client; not tracking new keys (open) would let the flood itself through.
/// We keep limiting every key and instead forget the entry whose TAT is earliest: it is the one
/// closest to a full bucket, so forgetting it grants the fewest extra requests, and it is never a
/// hot, heavily-limited key (those have TATs far in the future) while flood keys are around.
class InProcessLimiter final : public Limiter {
 public:
  /// Throws std::invalid_argument if max_keys == 0.
  explicit InProcessLimiter(std::size_t max_keys = 1'000'000);
  ~InProcessLimiter() override;
  InProcessLimiter(const InProcessLimiter&) = delete;
  InProcessLimiter& operator=(const InProcessLimiter&) = delete;

  Decision Take(const Limit& limit, std::string_view key, std::chrono::steady_clock::time_point now,
                std::uint32_t cost = 1) override;

  /// Number of tracked (key, limit name) entries, including expired ones not yet swept.
  std::size_t size() const;

 private:
  struct Shard;
  std::size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
};

/// Response headers for a decision: RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset (seconds,
/// rounded up), and Retry-After (seconds, rounded up, at least 1) when denied.
std::vector<std::pair<std::string, std::string>> RateLimitHeaders(const Decision& d);

/// Throws studio::TooManyRequests (429, code RATE_LIMITED, Retry-After) with the RateLimit-* headers
/// attached when !d.allowed; does nothing otherwise. `what` names what was limited for the client,
/// e.g. "login attempts" -> "Too many login attempts. Try again in 3 seconds."
void EnforceOrThrow(const Decision& d, std::string_view what);

/// Works out the client address for rate limiting behind reverse proxies.
///
/// X-Forwarded-For is client-controlled except for the entries our own proxies appended, so it is only
/// consulted when the socket peer is a trusted proxy, and then read from the right: each trusted hop
/// is skipped and the first untrusted address is the client. Anything left of it may be forged and is
/// never looked at. Addresses are returned in canonical text form (inet_ntop; IPv4-mapped IPv6 as
/// IPv4) so that one client always maps to one rate-limit key.
class ClientIpResolver {
 public:
  /// Each entry is an IP ("10.1.2.3", "::1") or a CIDR ("10.0.0.0/8", "fd00::/8").
  /// Throws std::invalid_argument on an unparsable entry or a CIDR with host bits set (a likely typo
  /// in a security-relevant list, better caught at startup).
  explicit ClientIpResolver(const std::vector<std::string>& trusted_proxies);

  /// `peer` is the socket's remote address; `x_forwarded_for` the header value (several header lines
  /// joined with ","). Returns the peer when it is not trusted or there is no header, the right-most
  /// untrusted hop otherwise, the left-most hop when every hop is trusted, and the peer when a hop that
  /// would have to be examined is malformed. An unparsable peer is returned unchanged.
  std::string Resolve(std::string_view peer, std::optional<std::string_view> x_forwarded_for) const;

 private:
  struct Network {
    bool v6;
    std::array<std::uint8_t, 16> bytes;  // IPv4 uses the first 4
    unsigned prefix;
  };
  std::vector<Network> trusted_;
};

}  // namespace studio::ratelimit
