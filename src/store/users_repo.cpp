#include "store/users_repo.hpp"

namespace studio::store::users {
namespace {

constexpr Query kInsert{"users.insert",
                        "INSERT INTO users (id, email, name, password_hash, is_admin, disabled) "
                        "VALUES ($1, $2, $3, $4, $5, $6)"};
constexpr Query kById{"users.by_id",
                      "SELECT id, email, name, password_hash, is_admin, disabled, token_version, failed_logins, "
                      "locked_until FROM users WHERE id = $1"};
constexpr Query kByEmail{"users.by_email",
                         "SELECT id, email, name, password_hash, is_admin, disabled, token_version, failed_logins, "
                         "locked_until FROM users WHERE email = $1"};
constexpr Query kUpdateHash{"users.update_hash", "UPDATE users SET password_hash = $2 WHERE id = $1"};
constexpr Query kChangePassword{"users.change_password",
                                "UPDATE users SET password_hash = $2, token_version = token_version + 1 WHERE id = $1"};
constexpr Query kBumpVersion{"users.bump_token_version",
                             "UPDATE users SET token_version = token_version + 1 WHERE id = $1"};
// One statement, so concurrent failures cannot both read the same count and skip the lock.
// $2 now, $3 max failures, $4 lock seconds.
constexpr Query kFailedLogin{
    "users.failed_login",
    "UPDATE users SET "
    "locked_until = CASE WHEN failed_logins + 1 >= $3 THEN $2 + $4 ELSE locked_until END, "
    "failed_logins = CASE WHEN failed_logins + 1 >= $3 THEN 0 ELSE failed_logins + 1 END "
    "WHERE id = $1 RETURNING locked_until",
    "UPDATE users SET "
    "locked_until = CASE WHEN failed_logins + 1 >= $3::int THEN $2::bigint + $4::bigint ELSE locked_until END, "
    "failed_logins = CASE WHEN failed_logins + 1 >= $3::int THEN 0 ELSE failed_logins + 1 END "
    "WHERE id = $1 RETURNING locked_until"};
constexpr Query kResetFailures{"users.reset_failures",
                               "UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = $1"};
constexpr Query kSetAdmin{"users.set_admin", "UPDATE users SET is_admin = $2 WHERE id = $1"};

UserRecord FromRow(const Row& r) {
  UserRecord u;
  u.id = r.GetString(0);
  u.email = r.GetString(1);
  u.name = r.GetOptString(2);
  u.password_hash = r.GetOptString(3);
  u.is_admin = r.GetBool(4);
  u.disabled = r.GetBool(5);
  u.token_version = r.GetInt(6);
  u.failed_logins = r.GetInt(7);
  u.locked_until = r.GetInt(8);
  return u;
}

std::optional<UserRecord> One(const Result& r) {
  if (r.empty()) return std::nullopt;
  return FromRow(r.front());
}

// Booleans are BOOLEAN on PostgreSQL and INTEGER 0/1 on SQLite (db.hpp).
Param Flag(Tx& tx, bool v) { return tx.backend() == Backend::kPostgres ? Param(v) : Param(v ? 1 : 0); }

}  // namespace

void Insert(Tx& tx, const UserRecord& u) {
  tx.Exec(kInsert, {u.id, u.email, u.name, u.password_hash, Flag(tx, u.is_admin), Flag(tx, u.disabled)});
}

std::optional<UserRecord> FindById(Tx& tx, std::string_view id) { return One(tx.Exec(kById, {id})); }

std::optional<UserRecord> FindByEmail(Tx& tx, std::string_view email) { return One(tx.Exec(kByEmail, {email})); }

void UpdatePasswordHash(Tx& tx, std::string_view id, std::string_view hash) { tx.Exec(kUpdateHash, {id, hash}); }

void ChangePassword(Tx& tx, std::string_view id, std::string_view hash) { tx.Exec(kChangePassword, {id, hash}); }

void BumpTokenVersion(Tx& tx, std::string_view id) { tx.Exec(kBumpVersion, {id}); }

std::int64_t RecordFailedLogin(Tx& tx, std::string_view id, std::int64_t now, int max_failures,
                               std::int64_t lock_seconds) {
  Result r = tx.Exec(kFailedLogin, {id, now, max_failures, lock_seconds});
  return r.empty() ? 0 : r.front().GetInt(0);
}

void ResetFailedLogins(Tx& tx, std::string_view id) { tx.Exec(kResetFailures, {id}); }

void SetAdmin(Tx& tx, std::string_view id, bool is_admin) { tx.Exec(kSetAdmin, {id, Flag(tx, is_admin)}); }

}  // namespace studio::store::users
