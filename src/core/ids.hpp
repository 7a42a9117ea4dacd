#pragma once
#include <string>
#include <string_view>

namespace studio {

/// An unguessable identifier: prefix + 128 bits from the OS CSPRNG, base62 (22 chars),
/// e.g. NewId("wks_") → "wks_5Jx…". Used for every object id the API exposes.
std::string NewId(std::string_view prefix);

/// A request id: "req_" + 96 random bits, hex. Cheaper than NewId (a thread-local generator seeded
/// from the CSPRNG): request ids correlate logs, they guard nothing.
std::string NewRequestId();

/// True when an incoming X-Request-Id is safe to echo and log: 1..128 chars of [A-Za-z0-9._:-].
bool IsSaneRequestId(std::string_view id);

}  // namespace studio
