#pragma once
// What the operator commands (`studio admin`, `ingest`, `dlq`) share: exit codes, error lines,
// and finding a workspace by id or slug.

#include <string>

#include "core/error.hpp"
#include "store/db.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::app {

// Exit codes: the operator fixes the input (2) or looks at the environment (1).
inline constexpr int kBadInput = 2;
inline constexpr int kRuntimeFailure = 1;

/// The problem's detail with its field errors, for one line on stderr.
std::string Describe(const Error& e);

/// Prints "studio COMMAND: message" on stderr and returns `code`.
int Fail(const char* command, const std::string& message, int code);

/// The workspace with this id or slug; NotFound (WORKSPACE_NOT_FOUND) otherwise.
store::WorkspaceRecord FindWorkspace(store::Db& db, const std::string& id_or_slug);

}  // namespace studio::app
