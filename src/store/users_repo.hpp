#pragma once
// Users: identity, credentials and the lockout counters (migrations 0001 + 0002).
// Every function takes the transaction, so a service composes several repositories in one
// atomic unit (create user + workspace + membership, or count a failure + write the audit row).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/db.hpp"

namespace studio::store {

struct UserRecord {
  std::string id;
  std::string email;  // stored lower-cased; callers normalise
  std::optional<std::string> name;
  std::optional<std::string> password_hash;  // never leaves the server
  bool is_admin = false;
  bool disabled = false;
  std::int64_t token_version = 0;
  std::int64_t failed_logins = 0;
  std::int64_t locked_until = 0;  // Unix seconds; 0 = not locked
};

namespace users {

/// Inserts a user; ConstraintViolation(kUnique) when the email is taken.
void Insert(Tx& tx, const UserRecord& user);
std::optional<UserRecord> FindById(Tx& tx, std::string_view id);
std::optional<UserRecord> FindByEmail(Tx& tx, std::string_view email);
/// Replaces the password hash (e.g. a re-hash on login) without touching sessions.
void UpdatePasswordHash(Tx& tx, std::string_view id, std::string_view hash);
/// A password change: new hash and a new token version, so every issued access token dies.
void ChangePassword(Tx& tx, std::string_view id, std::string_view hash);
/// Invalidates every access token of the user (logout-all, disable, role change).
void BumpTokenVersion(Tx& tx, std::string_view id);
/// Counts a failed login in one atomic statement; once `max_failures` is reached the account is
/// locked until now + lock_seconds and the counter restarts. Returns the (new) locked_until.
std::int64_t RecordFailedLogin(Tx& tx, std::string_view id, std::int64_t now, int max_failures,
                               std::int64_t lock_seconds);
void ResetFailedLogins(Tx& tx, std::string_view id);
void SetAdmin(Tx& tx, std::string_view id, bool is_admin);

}  // namespace users
}  // namespace studio::store
