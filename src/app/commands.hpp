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

/// `studio worker`: runs ingestion jobs from the shared database until SIGTERM/SIGINT, then
/// releases the leases of unfinished jobs (another worker takes them at once). 0 on a clean stop.
int RunWorker(const Config& config);

struct IngestRequest {
  std::vector<std::string> paths;  // files and directories (walked recursively, hidden entries skipped)
  std::string workspace;           // id or slug
  bool wait = true;                // process the jobs here and wait for them, with a progress bar
};

/// `studio ingest PATH…`: submits the files to a workspace's knowledge base and (by default) runs
/// the jobs in this process, showing progress, then a summary. 0 when every document is ready,
/// 1 when some failed (they are listed), 2 for bad input.
int RunIngest(const Config& config, const IngestRequest& request);

struct DlqRequest {
  std::string command;    // stats | list | inspect | retry | retry-all | purge
  std::string job_id;     // inspect, retry
  std::string queue;      // list, retry-all, purge: only this queue (empty = all)
  std::string workspace;  // only this workspace (id or slug; empty = the whole platform)
  int limit = 50;         // list
};

/// `studio dlq …`: the dead-letter queue from the command line (JSON on stdout).
int RunDlq(const Config& config, const DlqRequest& request);

struct ChatRequest {
  std::string workspace;  // id or slug
  bool one_shot = false;  // --message was given: answer `message` and exit
  std::string message;
  bool json = false;  // one JSON line per turn instead of the streamed text and sources
};

/// `studio chat --workspace W`: talks to the workspace's agent straight through the database, one
/// conversation (channel "cli") per run: questions are stdin's lines (or --message), answers are
/// streamed to stdout with their sources. 0 when every turn was answered, 1 otherwise (unknown
/// workspace, a turn that failed: the reason is on stderr).
int RunChat(const Config& config, const ChatRequest& request);

}  // namespace studio::app
