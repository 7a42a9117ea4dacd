// `studio ingest PATH…`: files and directories into a workspace's knowledge base, through the same
// pipeline as uploads (one transaction per file: document + source + job), then the jobs run
// here with a progress bar unless --no-wait leaves them to the servers' and workers' pools.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "app/cli_support.hpp"
#include "app/commands.hpp"
#include "app/database.hpp"
#include "app/knowledge_base.hpp"
#include "store/documents_repo.hpp"

namespace studio::app {
namespace {

namespace fs = std::filesystem;

struct Item {
  std::string path;
  std::string document_id;
  std::string status;  // queued … ready | failed | duplicate | skipped
  std::string detail;  // why it failed or was skipped
  int chunks = 0;
  std::int64_t tokens = 0;
};

bool Hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

// Every regular file under the paths, in a stable order; hidden files and directories skipped.
std::vector<std::string> Collect(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (Hidden(it->path())) {
          if (it->is_directory()) it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file()) found.push_back(it->path().string());
      }
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(p, ec)) {
      out.push_back(p);
    } else {
      throw BadRequest("'" + p + "' is neither a file nor a directory.");
    }
  }
  return out;
}

void DrawProgress(std::size_t done, std::size_t failed, std::size_t total, bool tty) {
  constexpr int kWidth = 30;
  const int filled = total == 0 ? kWidth : static_cast<int>(kWidth * done / total);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(kWidth - filled), '-');
  std::fprintf(stderr, "%s[%s] %zu/%zu done, %zu failed%s", tty ? "\r" : "", bar.c_str(), done, total, failed,
               tty ? "" : "\n");
  std::fflush(stderr);
}

}  // namespace

int RunIngest(const Config& c, const IngestRequest& r) {
  constexpr const char* kCmd = "ingest";
  std::unique_ptr<store::Db> db;
  std::unique_ptr<KnowledgeBase> kb;
  try {
    db = OpenAndMigrate(c, false);
    kb = std::make_unique<KnowledgeBase>(c, *db);
  } catch (const std::exception& e) {
    return Fail(kCmd, e.what(), kRuntimeFailure);
  }
  std::vector<Item> items;
  store::WorkspaceRecord ws;
  try {
    ws = FindWorkspace(*db, r.workspace);
    for (auto& path : Collect(r.paths)) {
      Item item;
      item.path = std::move(path);
      items.push_back(std::move(item));
    }
  } catch (const Error& e) {
    return Fail(kCmd, Describe(e), kBadInput);
  }
  if (items.empty()) return Fail(kCmd, "no files to ingest", kBadInput);

  const auto started = std::chrono::steady_clock::now();
  std::size_t to_wait = 0;
  for (auto& item : items) {
    try {
      std::error_code ec;
      if (fs::file_size(item.path, ec) > c.max_upload_bytes) {
        throw PayloadTooLarge("larger than the upload limit (" + std::to_string(c.max_upload_bytes) + " bytes)");
      }
      std::ifstream in(item.path, std::ios::binary);
      ingest::SourceInput src;
      src.workspace_id = ws.id;
      src.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) throw std::runtime_error("cannot read the file");
      src.filename = fs::path(item.path).filename().string();
      // The same file ingested again later, changed, becomes a new version of its document.
      src.external_id = "file://" + fs::weakly_canonical(item.path).string();
      ingest::Submitted s = kb->ingestion().Submit(src);
      item.document_id = s.document.id;
      item.status = s.duplicate ? "duplicate" : "queued";
      if (!s.duplicate) ++to_wait;
    } catch (const Error& e) {
      item.status = "skipped";
      item.detail = Describe(e);
    } catch (const std::exception& e) {
      item.status = "skipped";
      item.detail = e.what();
    }
  }

  std::size_t failed = 0;
  if (r.wait && to_wait > 0) {
    const int threads = c.workers > 0 ? c.workers : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    kb->Start(threads);
    kb->Notify();
    const bool tty = ::isatty(STDERR_FILENO) == 1;
    std::size_t done = 0;
    auto last_line = std::chrono::steady_clock::now();
    while (done < to_wait) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      db->Read([&](store::Tx& tx) {
        for (auto& item : items) {
          if (item.status != "queued") continue;
          auto doc = store::documents::Find(tx, ws.id, item.document_id);
          if (!doc) {
            item.status = "failed";
            item.detail = "deleted while ingesting";
          } else if (doc->status == "ready" || doc->status == "failed") {
            item.status = doc->status;
            item.chunks = doc->chunk_count;
            item.tokens = doc->token_count;
            if (doc->status == "failed") item.detail = doc->error_code.value_or("") + ": " + doc->error.value_or("");
          } else {
            continue;
          }
          ++done;
          if (item.status == "failed") ++failed;
        }
      });
      const auto now = std::chrono::steady_clock::now();
      if (tty || now - last_line > std::chrono::seconds(2) || done == to_wait) {
        DrawProgress(done, failed, to_wait, tty);
        last_line = now;
      }
    }
    if (tty) std::fputs("\n", stderr);
    kb->Stop(c.shutdown_grace);
  }

  std::size_t ready = 0, duplicates = 0, skipped = 0, queued = 0;
  int chunks = 0;
  std::int64_t tokens = 0;
  for (const auto& item : items) {
    ready += item.status == "ready";
    duplicates += item.status == "duplicate";
    skipped += item.status == "skipped";
    queued += item.status == "queued";
    chunks += item.chunks;
    tokens += item.tokens;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%zu files into workspace %s in %.1f s: %zu ready (%d chunks, %lld tokens), %zu queued, %zu duplicate, "
              "%zu failed, %zu skipped\n",
              items.size(), ws.slug.c_str(), seconds, ready, chunks, static_cast<long long>(tokens), queued,
              duplicates, failed, skipped);
  for (const auto& item : items) {
    if (item.status == "failed" || item.status == "skipped") {
      std::printf("  %s %s: %s\n", item.status.c_str(), item.path.c_str(), item.detail.c_str());
    }
  }
  db->Close();
  return failed + skipped > 0 ? kRuntimeFailure : 0;
}

}  // namespace studio::app
