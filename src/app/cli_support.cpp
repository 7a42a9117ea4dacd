#include "app/cli_support.hpp"

#include <cstdio>

namespace studio::app {

std::string Describe(const Error& e) {
  std::string out = e.detail();
  for (const auto& f : e.errors()) out += " (" + f.field + ": " + f.message + ")";
  return out;
}

int Fail(const char* command, const std::string& message, int code) {
  std::fprintf(stderr, "studio %s: %s\n", command, message.c_str());
  return code;
}

store::WorkspaceRecord FindWorkspace(store::Db& db, const std::string& id_or_slug) {
  auto ws = db.ReadValue([&](store::Tx& tx) {
    auto found = store::workspaces::FindById(tx, id_or_slug);
    if (!found) found = store::workspaces::FindBySlug(tx, id_or_slug);
    return found;
  });
  if (!ws) throw NotFound("No workspace has the id or slug '" + id_or_slug + "'.", "WORKSPACE_NOT_FOUND");
  return *ws;
}

}  // namespace studio::app
