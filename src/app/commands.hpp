#pragma once
// The subcommands main() dispatches to. Each returns the process exit code.

#include <string>
#include <vector>

#include "app/config.hpp"

namespace studio::app {

/// `studio serve`: opens the database, applies migrations, serves HTTP until SIGTERM/SIGINT,
/// drains, closes the database. 0 on a clean shutdown.
int RunServe(const Config& config);

/// `studio migrate`: applies pending migrations and prints what it applied.
int RunMigrate(const Config& config);

/// What `studio admin SUBCOMMAND` was asked to do; main() fills it from the command line.
/// Passwords are deliberately not here: they come from stdin or STUDIO_ADMIN_PASSWORD only.
struct AdminRequest {
  std::string command;          // create-user | create-workspace | grant-admin | create-api-key
  std::string email;            // create-user, grant-admin
  std::string name;             // create-user: display name (optional); workspace or key name
  bool admin = false;           // create-user --admin
  bool password_stdin = false;  // create-user: the password is the first line of stdin
  std::string slug;             // create-workspace (empty: derived from the name)
  std::string owner;            // create-workspace: the owner's e-mail
  bool revoke = false;          // grant-admin --revoke
  std::string workspace;        // create-api-key: workspace id or slug
  std::string role = "service";
  std::vector<std::string> scopes;
};

/// `studio admin …`: operator tasks straight against the database (migrating it first). Prints
/// the result on stdout; one line on stderr on failure. 0 ok, 2 bad input, 1 runtime failure.
int RunAdmin(const Config& config, const AdminRequest& request);

}  // namespace studio::app
