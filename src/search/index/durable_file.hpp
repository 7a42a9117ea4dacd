#pragma once
// Crash-safe file replacement: write a temporary file, fsync it, rename it over the target and
// fsync the directory, so a reader sees the old file or the new one, never a mix.

#include <filesystem>
#include <string_view>

namespace studio::search::detail {

/// Flushes a file's data to disk. Throws std::runtime_error naming the path and errno.
void FsyncFile(const std::filesystem::path& file);
/// Makes renames and creations inside `dir` durable.
void FsyncDir(const std::filesystem::path& dir);
/// Replaces `target` with `content` atomically (temp file next to it, fsync, rename, fsync dir).
void WriteFileAtomically(const std::filesystem::path& target, std::string_view content);

}  // namespace studio::search::detail
