#pragma once
// Passwords: strength policy (zxcvbn), hashing (argon2id via libsodium) and verification, including
// legacy bcrypt hashes imported from the previous system (verified with libxcrypt, then rehashed).
//
// Typical login flow:
//   user = find(email);
//   if (!user) { VerifyDummy(pw); throw Unauthorized(); }          // same cost as a real check
//   switch (VerifyPassword(pw, user.hash)) {
//     case kMismatch: throw Unauthorized();
//     case kMatchNeedsRehash: store(HashPassword(pw)); [[fallthrough]];
//     case kMatch: ...
//   }
// Hashing costs ~tens of milliseconds of CPU and 19 MiB of memory: call these off the I/O threads.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace studio::auth {

struct PasswordPolicy {
  std::size_t min_length = 12;   // Unicode code points
  std::size_t max_length = 128;  // Unicode code points
  int min_zxcvbn_score = 3;      // 0..4, zxcvbn's scale (3 = "safely unguessable", guesses >= 10^8)
};

/// argon2id cost. libsodium fixes parallelism at p=1.
struct HashParams {
  unsigned long long opslimit;  // t: passes over memory
  std::size_t memlimit;         // bytes (encoded in the hash as m = memlimit / 1024 KiB)
};

/// OWASP Password Storage Cheat Sheet argon2id minimum: m=19 MiB (19456 KiB), t=2, p=1.
HashParams OwaspParams();
/// The smallest parameters libsodium accepts (t=1, m=8 KiB). Tests only: offers no protection.
HashParams FastTestParams();

/// Checks length (in Unicode code points, not bytes; invalid UTF-8 and NUL are rejected) and strength with
/// zxcvbn, using user_inputs (email, name, workspace name) as extra dictionary words. Throws
/// studio::ValidationFailed with a FieldError for "password" whose message says what to change, e.g.
/// "This is a commonly used password. Add another word or two. Uncommon words are better."
void CheckPasswordStrength(std::string_view password, const std::vector<std::string>& user_inputs,
                           const PasswordPolicy& policy = {});

/// argon2id encoded hash ("$argon2id$v=19$m=...,t=...,p=1$salt$hash") with a fresh random salt. Hashes the
/// whole password (no truncation; argon2 pre-hashes input of any length). Throws std::invalid_argument for
/// params outside libsodium's bounds and std::runtime_error when the memory cannot be allocated.
std::string HashPassword(std::string_view password, const HashParams& params = OwaspParams());

enum class VerifyResult { kMismatch, kMatch, kMatchNeedsRehash };

/// Verifies a password against a stored hash:
///  - argon2id: kMatch, or kMatchNeedsRehash when the hash was made with parameters other than `params`.
///  - legacy bcrypt ($2a$, $2b$, $2y$): a match is always kMatchNeedsRehash (move it to argon2id). bcrypt only
///    reads the first 72 bytes, so any password longer than 72 bytes (or containing NUL) is kMismatch against a
///    bcrypt hash: a password that merely shares a 72-byte prefix with the real one can never log in.
///  - anything else (empty, unknown scheme, malformed, absurd cost parameters): kMismatch. Never throws for bad
///    stored data.
VerifyResult VerifyPassword(std::string_view password, std::string_view stored_hash,
                            const HashParams& params = OwaspParams());

/// For a login whose user does not exist: verifies against a fixed dummy argon2id hash made once (per params)
/// with `params`, so "unknown user" takes as long as "wrong password" and does not reveal which accounts exist.
void VerifyDummy(std::string_view password, const HashParams& params = OwaspParams());

}  // namespace studio::auth
