#include "search/index/fts_tokenizer.hpp"

#include <sqlite3.h>

#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace studio::search {
namespace {

// One FTS5 tokenizer instance on its own in-memory connection (the fts5_api lives as long as the
// connection). Not thread-safe: unicode61 and porter keep buffers in the instance.
class FtsTokenizer {
 public:
  FtsTokenizer() {
    if (sqlite3_open_v2(":memory:", &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      Close();
      throw std::runtime_error("tokenizer: cannot open an in-memory SQLite database");
    }
    // The documented way to reach the FTS5 API: SELECT fts5(?1) with a pointer binding.
    fts5_api* api = nullptr;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT fts5(?1)", -1, &stmt, nullptr) == SQLITE_OK) {
      sqlite3_bind_pointer(stmt, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
      sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    void* user_data = nullptr;
    if (api == nullptr || api->xFindTokenizer(api, "porter", &user_data, &module_) != SQLITE_OK) {
      Close();
      throw std::runtime_error("tokenizer: this SQLite has no FTS5 porter tokenizer");
    }
    // Must match the chunks' full-text configuration (migrations 0005_documents.sql).
    const char* args[] = {"unicode61", "remove_diacritics", "2"};
    if (module_.xCreate(user_data, args, 3, &tokenizer_) != SQLITE_OK) {
      Close();
      throw std::runtime_error("tokenizer: cannot create the FTS5 porter tokenizer");
    }
  }
  ~FtsTokenizer() { Close(); }
  FtsTokenizer(const FtsTokenizer&) = delete;
  FtsTokenizer& operator=(const FtsTokenizer&) = delete;

  void Run(std::string_view text, TokenizeFor purpose, const std::function<void(std::string_view)>& on_token) {
    const int flags = purpose == TokenizeFor::kQuery ? FTS5_TOKENIZE_QUERY : FTS5_TOKENIZE_DOCUMENT;
    // FTS5 takes an int length; texts longer than that are tokenised in slices at a space.
    while (!text.empty()) {
      std::size_t n = text.size();
      if (n > kMaxSlice) {
        const std::size_t space = text.rfind(' ', kMaxSlice);
        n = space == std::string_view::npos || space == 0 ? kMaxSlice : space;
      }
      Call call{on_token, nullptr};
      module_.xTokenize(tokenizer_, &call, flags, text.data(), static_cast<int>(n), &OnToken);
      // An exception must not unwind through SQLite's C frames: OnToken parks it, FTS5 stops.
      if (call.error) std::rethrow_exception(call.error);
      text.remove_prefix(n);
    }
  }

 private:
  static constexpr std::size_t kMaxSlice = 1U << 30;

  struct Call {
    const std::function<void(std::string_view)>& on_token;
    std::exception_ptr error;
  };

  static int OnToken(void* ctx, int tflags, const char* token, int size, int /*start*/, int /*end*/) {
    // Colocated tokens (synonyms) take no position of their own; porter/unicode61 emit none.
    if ((tflags & FTS5_TOKEN_COLOCATED) != 0 || size <= 0) return SQLITE_OK;
    auto* call = static_cast<Call*>(ctx);
    try {
      call->on_token(std::string_view(token, static_cast<std::size_t>(size)));
    } catch (...) {
      call->error = std::current_exception();
      return SQLITE_ERROR;
    }
    return SQLITE_OK;
  }

  void Close() {
    if (tokenizer_ != nullptr) module_.xDelete(tokenizer_);
    tokenizer_ = nullptr;
    if (db_ != nullptr) sqlite3_close(db_);
    db_ = nullptr;
  }

  sqlite3* db_ = nullptr;
  fts5_tokenizer module_{};
  Fts5Tokenizer* tokenizer_ = nullptr;
};

// A handful of tokenizers shared by every thread. A query takes microseconds, so a caller rarely
// waits; the cap keeps a thousand stream threads from each opening a connection.
class Pool {
 public:
  std::unique_ptr<FtsTokenizer> Take() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (!idle_.empty()) {
        auto tokenizer = std::move(idle_.back());
        idle_.pop_back();
        return tokenizer;
      }
      if (created_ < kMaxTokenizers) {
        ++created_;
        lock.unlock();
        try {
          return std::make_unique<FtsTokenizer>();
        } catch (...) {
          lock.lock();
          --created_;
          throw;
        }
      }
      returned_.wait(lock);
    }
  }

  void Give(std::unique_ptr<FtsTokenizer> tokenizer) {
    {
      std::lock_guard lock(mutex_);
      idle_.push_back(std::move(tokenizer));
    }
    returned_.notify_one();
  }

 private:
  static constexpr std::size_t kMaxTokenizers = 8;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<FtsTokenizer>> idle_;  // guarded by mutex_
  std::size_t created_ = 0;                          // guarded by mutex_
};

Pool& SharedPool() {
  static Pool pool;
  return pool;
}

}  // namespace

void Tokenize(std::string_view text, TokenizeFor purpose, const std::function<void(std::string_view)>& on_token) {
  Pool& pool = SharedPool();
  std::unique_ptr<FtsTokenizer> tokenizer = pool.Take();
  try {
    tokenizer->Run(text, purpose, on_token);
  } catch (...) {
    pool.Give(std::move(tokenizer));
    throw;
  }
  pool.Give(std::move(tokenizer));
}

}  // namespace studio::search
