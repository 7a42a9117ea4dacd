// `studio admin …`: operator tasks run straight against the database, for bootstrapping a fresh
// install (the first user, workspace and API key) and for recovery (granting platform admin).
// The same checks as the API apply (e-mail, password strength, slug, key input), so the CLI
// cannot create anything the API would have refused. Every change writes an audit event with a
// null actor and the user agent "studio-admin-cli".

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/v1/policy.hpp"
#include "app/commands.hpp"
#include "app/cli_support.hpp"
#include "app/database.hpp"
#include "auth/password.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "identity/api_key_service.hpp"
#include "identity/auth_service.hpp"
#include "store/db.hpp"
#include "store/users_repo.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::app {
namespace {

constexpr const char* kPasswordEnv = "STUDIO_ADMIN_PASSWORD";

[[noreturn]] void NoPassword(const std::string& why) {
  throw ValidationFailed(why, {{"password", std::string("pass --password-stdin or set ") + kPasswordEnv}});
}

// The first line of stdin, without its line ending. On a terminal the echo is turned off while
// typing, so the password does not stay on the screen.
std::string ReadPasswordFromStdin() {
  bool tty = ::isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (tty && ::tcgetattr(STDIN_FILENO, &saved) == 0) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    std::fputs("Password: ", stderr);
  } else {
    tty = false;
  }
  std::string line;
  bool got = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::fputs("\n", stderr);
  }
  if (!got) NoPassword("No password on stdin.");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Never from a flag: a command line is visible to every user of the machine (ps, /proc).
std::string ReadPassword(const AdminRequest& r) {
  if (r.password_stdin) return ReadPasswordFromStdin();
  if (const char* env = std::getenv(kPasswordEnv)) return env;
  NoPassword("A password is required.");
}

auth::HashParams HashParamsFor(const Config& c) {
  // The functional tests run with test routes on; the server then uses fast hashing too, and
  // either verifies the other's hashes (argon2id encodes its parameters in the hash).
  return c.test_routes ? auth::FastTestParams() : auth::OwaspParams();
}

store::UserRecord UserByEmail(store::Tx& tx, const std::string& email) {
  auto user = store::users::FindByEmail(tx, email);
  if (!user) throw NotFound("No user has the e-mail address " + email + ".", "USER_NOT_FOUND");
  return *user;
}

// Prints the new user's id.
void CreateUser(store::Db& db, const Config& c, const AdminRequest& r, const identity::RequestMeta& meta) {
  std::string email = identity::NormalizeEmail(r.email);
  std::optional<std::string> name;
  if (!r.name.empty()) name = r.name;
  auto email_taken = [&](store::Tx& tx) {
    if (store::users::FindByEmail(tx, email))
      throw Conflict("An account with this e-mail already exists.", "EMAIL_TAKEN");
  };
  db.Read(email_taken);  // before asking for a password that would be thrown away

  std::string password = ReadPassword(r);
  std::vector<std::string> hints{email};
  if (name) hints.push_back(*name);
  auth::CheckPasswordStrength(password, hints);
  std::string hash = auth::HashPassword(password, HashParamsFor(c));  // slow: outside the transaction

  std::string id = db.WriteValue([&](store::Tx& tx) {
    email_taken(tx);  // again: another process may have created it meanwhile
    store::UserRecord user;
    user.id = NewId("usr_");
    user.email = email;
    user.name = name;
    user.password_hash = hash;
    user.is_admin = r.admin;
    store::users::Insert(tx, user);
    identity::AppendAudit(tx, std::nullopt, std::nullopt, "user.create", "success", meta,
                          Json{{"userId", user.id}, {"isAdmin", r.admin}}.dump());
    return user.id;
  });
  std::printf("%s\n", id.c_str());
}

// Prints "ID SLUG".
void CreateWorkspace(store::Db& db, const AdminRequest& r, const identity::RequestMeta& meta) {
  if (r.name.empty() || r.name.size() > 100) {
    throw ValidationFailed("The workspace name is required (at most 100 characters).",
                           {{"name", "must be 1 to 100 characters"}});
  }
  std::string owner_email = identity::NormalizeEmail(r.owner);
  std::string slug = r.slug.empty() ? identity::SlugFromName(r.name) : r.slug;
  identity::CheckSlug(slug);
  std::int64_t now = identity::AuthService::Now();
  auto ws = db.WriteValue([&](store::Tx& tx) {
    store::UserRecord owner = UserByEmail(tx, owner_email);
    // Unlike the API, a derived slug is not made unique with a random suffix: an operator
    // scripting this wants to know the slug, so a clash is reported and --slug picks another.
    if (store::workspaces::FindBySlug(tx, slug)) {
      throw Conflict("The workspace slug '" + slug + "' is taken; choose another with --slug.", "SLUG_TAKEN");
    }
    store::WorkspaceRecord w{NewId("wks_"), r.name, slug, "free"};
    store::workspaces::Insert(tx, w);
    store::memberships::Add(tx, w.id, owner.id, "owner", now);
    identity::AppendAudit(tx, w.id, std::nullopt, "workspace.create", "success", meta,
                          Json{{"ownerId", owner.id}}.dump());
    return w;
  });
  std::printf("%s %s\n", ws.id.c_str(), ws.slug.c_str());
}

// Prints the user's id. The flag is read from the database on every request, so the change
// applies to the user's existing sessions at once.
void GrantAdmin(store::Db& db, const AdminRequest& r, const identity::RequestMeta& meta) {
  std::string email = identity::NormalizeEmail(r.email);
  bool admin = !r.revoke;
  std::string id = db.WriteValue([&](store::Tx& tx) {
    store::UserRecord user = UserByEmail(tx, email);
    store::users::SetAdmin(tx, user.id, admin);
    identity::AppendAudit(tx, std::nullopt, std::nullopt, admin ? "user.admin_grant" : "user.admin_revoke", "success",
                          meta, Json{{"userId", user.id}, {"wasAdmin", user.is_admin}}.dump());
    return user.id;
  });
  std::printf("%s\n", id.c_str());
}

// Prints the key (the only time it exists in clear) as the only stdout line, so
// KEY=$(studio admin create-api-key …) captures exactly the key; its id and prefix go to stderr.
void CreateApiKey(store::Db& db, const AdminRequest& r, const identity::RequestMeta& meta) {
  auto ws = std::make_optional(FindWorkspace(db, r.workspace));
  for (const auto& scope : r.scopes) {
    if (!api::v1::IsKnownScope(scope)) {
      throw ValidationFailed("Unknown scope '" + scope + "'.", {{"scope", "unknown scope"}});
    }
  }
  identity::NewApiKeyInput input{r.name, r.role, r.scopes};
  identity::ApiKeyService keys(db);
  identity::IssuedApiKey issued = keys.Create(ws->id, input, std::nullopt, meta);
  std::printf("%s\n", issued.secret.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "created API key %s (prefix %s, role %s) in workspace %s (%s)\n", issued.record.id.c_str(),
               issued.record.prefix.c_str(), issued.record.role.c_str(), ws->id.c_str(), ws->slug.c_str());
}

// One line: the message, then what is wrong with each field.
int Fail(const std::string& message, int code) { return app::Fail("admin", message, code); }

}  // namespace

int RunAdmin(const Config& c, const AdminRequest& r) {
  std::unique_ptr<store::Db> db;
  try {
    db = OpenAndMigrate(c, false);
  } catch (const std::exception& e) {
    return Fail("cannot open the database " + store::RedactUrl(c.EffectiveDatabaseUrl()) + ": " + e.what(),
                kRuntimeFailure);
  }
  identity::RequestMeta meta{"", "studio-admin-cli", NewRequestId()};
  try {
    if (r.command == "create-user") {
      CreateUser(*db, c, r, meta);
    } else if (r.command == "create-workspace") {
      CreateWorkspace(*db, r, meta);
    } else if (r.command == "grant-admin") {
      GrantAdmin(*db, r, meta);
    } else if (r.command == "create-api-key") {
      CreateApiKey(*db, r, meta);
    } else {
      return Fail("unknown command '" + r.command + "'", kBadInput);
    }
  } catch (const Error& e) {
    // 4xx: the input was refused (invalid, weak, taken, unknown); anything else (503: the
    // database is unavailable) is the environment's fault.
    return Fail(Describe(e), e.status() >= 400 && e.status() < 500 ? kBadInput : kRuntimeFailure);
  } catch (const std::exception& e) {
    return Fail(e.what(), kRuntimeFailure);
  }
  db->Close();
  return 0;
}

}  // namespace studio::app
