#include "search/index/index_registry.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>

namespace studio::search {
namespace {

constexpr std::size_t kMaxWorkspaceIdLength = 128;
constexpr std::size_t kRebuildBatch = 256;

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

}  // namespace

IndexRegistry::IndexRegistry(const std::filesystem::path& data_dir, IndexIdentity identity, IndexParams params)
    : root_(data_dir / "vectors"), identity_(std::move(identity)), params_(params) {}

IndexRegistry::~IndexRegistry() = default;

bool IndexRegistry::IsValidWorkspaceId(std::string_view workspace_id) {
  return !workspace_id.empty() && workspace_id.size() <= kMaxWorkspaceIdLength &&
         std::all_of(workspace_id.begin(), workspace_id.end(), IsIdChar);
}

std::filesystem::path IndexRegistry::DirectoryOf(std::string_view workspace_id) const {
  if (!IsValidWorkspaceId(workspace_id)) throw std::invalid_argument("IndexRegistry: invalid workspace id");
  return root_ / std::string(workspace_id);
}

std::shared_ptr<IndexRegistry::Slot> IndexRegistry::SlotOf(std::string_view workspace_id) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(workspace_id);
  if (it == slots_.end()) it = slots_.emplace(std::string(workspace_id), std::make_shared<Slot>()).first;
  return it->second;
}

IndexRegistry::Opened IndexRegistry::Open(std::string_view workspace_id) {
  const std::filesystem::path dir = DirectoryOf(workspace_id);
  std::shared_ptr<Slot> slot = SlotOf(workspace_id);
  {
    std::shared_lock lock(slot->mutex);
    if (slot->index) return {slot->index, LoadStatus::kLoaded, {}};
  }
  std::unique_lock lock(slot->mutex);
  if (slot->index) return {slot->index, LoadStatus::kLoaded, {}};  // another thread loaded it meanwhile
  LoadResult loaded = VectorIndex::Load(dir, identity_, params_);
  if (loaded.status != LoadStatus::kLoaded) return {nullptr, loaded.status, std::move(loaded.reason)};
  slot->index = std::move(loaded.index);
  return {slot->index, LoadStatus::kLoaded, {}};
}

std::shared_ptr<VectorIndex> IndexRegistry::Rebuild(std::string_view workspace_id, const VectorSource& source,
                                                    std::int64_t watermark) {
  const std::filesystem::path dir = DirectoryOf(workspace_id);
  std::shared_ptr<Slot> slot = SlotOf(workspace_id);
  std::unique_lock lock(slot->mutex);

  auto index = std::make_shared<VectorIndex>(identity_, params_);
  std::vector<IdVector> batch;
  batch.reserve(kRebuildBatch);
  while (std::optional<IdVector> item = source()) {
    batch.push_back(std::move(*item));
    if (batch.size() == kRebuildBatch) {
      index->AddBatch(batch);
      batch.clear();
    }
  }
  index->AddBatch(batch);
  index->AdvanceWatermark(watermark);
  slot->index = index;
  index->Save(dir);
  return index;
}

IndexRegistry::SaveReport IndexRegistry::SaveAll() {
  std::vector<std::pair<std::string, std::shared_ptr<Slot>>> slots;
  {
    std::lock_guard lock(mutex_);
    slots.assign(slots_.begin(), slots_.end());
  }
  SaveReport report;
  for (const auto& [workspace_id, slot] : slots) {
    // Held through the save so that Drop, which takes it exclusively, cannot delete the
    // directory and then see this save recreate it.
    std::shared_lock lock(slot->mutex);
    if (!slot->index || !slot->index->Dirty()) continue;
    try {
      slot->index->Save(DirectoryOf(workspace_id));
      ++report.saved;
    } catch (const std::exception& e) {
      report.failures.emplace_back(workspace_id, e.what());
    }
  }
  return report;
}

void IndexRegistry::Drop(std::string_view workspace_id) {
  const std::filesystem::path dir = DirectoryOf(workspace_id);
  std::shared_ptr<Slot> slot;
  {
    std::lock_guard lock(mutex_);
    auto it = slots_.find(workspace_id);
    if (it != slots_.end()) {
      slot = it->second;
      slots_.erase(it);
    }
  }
  if (!slot) {
    std::filesystem::remove_all(dir);
    return;
  }
  // Waits for a load, rebuild or save in progress, which would otherwise recreate the directory.
  std::unique_lock lock(slot->mutex);
  slot->index.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace studio::search
