#pragma once
// The vector indexes of all workspaces, one directory each under <data_dir>/vectors/<workspace>/.
// An index is loaded on first use and stays in memory (idle workspaces are not evicted yet).
//
// Start-up / first use of a workspace:
//   auto opened = registry.Open(ws);
//   if (opened.status != LoadStatus::kLoaded)            // missing, other embedder, corrupt, …
//     opened.index = registry.Rebuild(ws, vectors_from_db, current_change_sequence);
//   replay database changes after opened.index->Watermark(), then AdvanceWatermark as you go.
// SaveAll() runs periodically and at shutdown.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "search/index/vector_index.hpp"

namespace studio::search {

class IndexRegistry {
 public:
  /// Every index holds vectors of `identity`; a saved one of another identity is rebuilt.
  IndexRegistry(const std::filesystem::path& data_dir, IndexIdentity identity, IndexParams params = {});
  ~IndexRegistry();
  IndexRegistry(const IndexRegistry&) = delete;
  IndexRegistry& operator=(const IndexRegistry&) = delete;

  /// 1..128 characters of [A-Za-z0-9_-]: safe as one path component.
  static bool IsValidWorkspaceId(std::string_view workspace_id);
  /// <data_dir>/vectors/<workspace_id>. Throws std::invalid_argument for an invalid id.
  std::filesystem::path DirectoryOf(std::string_view workspace_id) const;

  struct Opened {
    /// Set only when status is kLoaded.
    std::shared_ptr<VectorIndex> index;
    LoadStatus status = LoadStatus::kMissing;
    /// Why it could not be loaded (for logs).
    std::string reason;
  };
  /// The workspace's index, loaded from disk on first use. When it is missing or unusable
  /// nothing is cached and the caller is expected to Rebuild. Waits while a Rebuild of the
  /// same workspace runs. Throws std::invalid_argument for an invalid id.
  Opened Open(std::string_view workspace_id);

  /// Builds a new index from every (id, vector) `source` yields, stamps it with `watermark`
  /// (the database change sequence the source reflects), installs it in place of any current
  /// one and saves it. If the save throws, the index is installed anyway (and stays dirty, so
  /// SaveAll retries) and the exception propagates.
  std::shared_ptr<VectorIndex> Rebuild(std::string_view workspace_id, const VectorSource& source,
                                       std::int64_t watermark);

  struct SaveReport {
    std::size_t saved = 0;
    /// (workspace id, error message) of each save that failed; the others were still saved.
    std::vector<std::pair<std::string, std::string>> failures;
  };
  /// Saves every loaded index changed since its last save.
  SaveReport SaveAll();

  /// Forgets a workspace's index and deletes its directory (the workspace was deleted).
  void Drop(std::string_view workspace_id);

 private:
  struct Slot {
    // Exclusive while loading, rebuilding or dropping this workspace; shared while handing out
    // the index or saving it, so a save delays neither Open nor searches.
    std::shared_mutex mutex;
    std::shared_ptr<VectorIndex> index;  // guarded by mutex
  };
  std::shared_ptr<Slot> SlotOf(std::string_view workspace_id);

  std::filesystem::path root_;
  IndexIdentity identity_;
  IndexParams params_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Slot>, std::less<>> slots_;  // guarded by mutex_
};

}  // namespace studio::search
