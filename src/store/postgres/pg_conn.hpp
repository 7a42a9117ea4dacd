#pragma once
// One libpq connection: connect with timeouts, run statements with text parameters, convert
// results and map SQLSTATEs onto the store's error types. Internal to the store.

#include <chrono>
#include <span>
#include <string>
#include <string_view>

#include "store/db.hpp"

struct pg_conn;  // PGconn, without dragging libpq-fe.h into every includer

namespace studio::store::postgres {

struct ConnectSettings {
  std::string url;  ///< the libpq URI as configured (may contain a password: never log it)
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds statement_timeout{5000};
};

/// Used by one thread at a time (the pool guarantees it).
class Connection {
 public:
  /// Connects and sets the session up; throws DbUnavailable when the server cannot be reached
  /// or refuses the login.
  explicit Connection(const ConnectSettings& settings);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// One statement, $1… bound as text (the server infers their types).
  Result Exec(const Query& query, std::span<const Param> params);
  Result Exec(const Query& query) { return Exec(query, {}); }
  /// Several ;-separated statements without parameters (simple query protocol).
  void ExecScript(std::string_view name, std::string_view sql);

  /// The socket is gone (server restart, idle timeout, network): the connection is useless.
  bool broken() const;
  /// Not inside a transaction block, so it is safe to hand to the next caller.
  bool idle() const;

 private:
  pg_conn* conn_ = nullptr;
  std::string url_;  // only to scrub the password out of driver messages
};

/// Removes any password the URL carries from a driver message (libpq may echo parts of the
/// connection string, e.g. when it cannot parse it).
std::string ScrubSecrets(std::string message, std::string_view url);

/// Checks that url is a URI libpq can parse, without connecting; std::invalid_argument (with
/// the password redacted) when it is not.
void ValidateUrl(std::string_view url);

}  // namespace studio::store::postgres
