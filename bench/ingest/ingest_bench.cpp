// Ingestion throughput, end to end, through the code the server runs: Ingestion::Submit (one
// transaction per document, as one upload does), then a WorkerPool on the "ingest" queue with the
// server's handler: Ingestion::Run (extract in an isolated child process → chunk with the default
// options → embed with the local model → store the chunks and mark the document ready) followed by
// Retriever::CatchUp (the new vectors go into the workspace's HNSW index, as in
// app/knowledge_base.cpp). Prints documents/min and MB/min of source bytes.
//
//   ingest_bench [--text-docs N] [--words W] [--pdf-docs N] [--pdf-pages P] [--threads 1,2]
//                [--sample S] [--pg-docs N] [--sqlite-sync full|normal]
//
// Defaults: 2,000 plain-text documents of ~1,000 words and 200 PDFs of 10 pages, each set with 1
// and with 2 worker threads, on SQLite (a fresh temp dir per run, synchronous=FULL as in
// production). PostgreSQL runs too when STUDIO_BENCH_PG_URL (or STUDIO_TEST_PG_URL, which
// scripts/with-postgres.sh sets) names a throwaway database: it is migrated and every run uses a
// new workspace; nothing is deleted. --pg-docs (default: --text-docs) text documents per run there.
// Set a count to 0 to skip that part. --sqlite-sync normal: SQLite synchronous=NORMAL (no fsync
// per commit), to see what the same work costs with the disk's fsync latency taken out. Model
// data: scripts/fetch-models.sh (STUDIO_MODELS_DIR).
//
// Documents are sentences cut at random from the word stream of /usr/share/common-licenses/*
// (real prose; every document differs, so the duplicate check never short-cuts a submit). PDFs
// are the same kind of text drawn with cairo, ~600 words per A4 page.
//
// Where the time goes, per document: the run itself measures the handler, the database inside it
// (a timing wrapper around Db: every transaction, including waiting for the writer and the
// commit's fsync), embedding (a timing wrapper around the embedder), the index catch-up and the
// queue's own commits (lease, complete). Extraction and chunking are pure CPU work and are
// measured afterwards on a sample (--sample, default 100) with the same calls, one document at a
// time, after the first run of each document kind.

#include <cairo-pdf.h>
#include <cairo.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ingest/chunk/chunk.hpp"
#include "ingest/extract/extract.hpp"
#include "ingest/pipeline/ingestion.hpp"
#include "obs/log.hpp"
#include "queue/queue.hpp"
#include "queue/worker_pool.hpp"
#include "search/embed/embedder.hpp"
#include "search/embed/make_embedder.hpp"
#include "search/index/index_registry.hpp"
#include "search/retriever/embedding_codec.hpp"
#include "search/retriever/retriever.hpp"
#include "search/tokenizer/tokenizer.hpp"
#include "store/db.hpp"
#include "store/migrate.hpp"
#include "store/workspaces_repo.hpp"

namespace {

namespace fs = std::filesystem;
using namespace studio;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Millis(std::int64_t nanos) { return static_cast<double>(nanos) / 1e6; }

constexpr store::Query kDocStats{
    "bench.doc_stats",
    "SELECT COUNT(*), CAST(COALESCE(SUM(chunk_count), 0) AS BIGINT), CAST(COALESCE(SUM(token_count), 0) AS BIGINT) "
    "FROM documents WHERE workspace_id = $1 AND status = 'ready'"};
constexpr store::Query kWorkspaceExists{"bench.workspace_exists", "SELECT 1 FROM workspaces WHERE id = $1"};

struct Args {
  int text_docs = 2000;
  int words = 1000;
  int pdf_docs = 200;
  int pdf_pages = 10;
  std::vector<int> threads = {1, 2};
  int sample = 100;
  int pg_docs = -1;  // -1: same as text_docs
  bool sqlite_full = true;
};

std::vector<int> ParseList(const std::string& value) {
  std::vector<int> out;
  std::stringstream in(value);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::max(1, std::stoi(item)));
  return out;
}

Args Parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "ingest_bench: %s needs a value\n", flag.c_str());
      std::exit(2);
    }
    const std::string value = argv[i + 1];
    if (flag == "--text-docs") {
      args.text_docs = std::stoi(value);
    } else if (flag == "--words") {
      args.words = std::stoi(value);
    } else if (flag == "--pdf-docs") {
      args.pdf_docs = std::stoi(value);
    } else if (flag == "--pdf-pages") {
      args.pdf_pages = std::stoi(value);
    } else if (flag == "--threads") {
      args.threads = ParseList(value);
    } else if (flag == "--sample") {
      args.sample = std::stoi(value);
    } else if (flag == "--pg-docs") {
      args.pg_docs = std::stoi(value);
    } else if (flag == "--sqlite-sync" && (value == "full" || value == "normal")) {
      args.sqlite_full = value == "full";
    } else {
      std::fprintf(stderr, "ingest_bench: unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  return args;
}

// ---------------------------------------------------------------------------------------------
// The documents.

// Every whitespace-separated token of the license texts that has a letter or digit, files in name
// order (symlinks such as GPL → GPL-3 skipped), so the stream is the same on every run.
std::vector<std::string> LicenseTokens() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator("/usr/share/common-licenses")) {
    if (entry.is_regular_file() && !entry.is_symlink()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> tokens;
  for (const auto& file : files) {
    std::ifstream in(file);
    std::string token;
    while (in >> token) {
      if (std::any_of(token.begin(), token.end(), [](unsigned char c) { return std::isalnum(c) != 0; })) {
        tokens.push_back(token);
      }
    }
  }
  if (tokens.size() < 1000) throw std::runtime_error("too few words under /usr/share/common-licenses");
  return tokens;
}

// One paragraph of 3-7 sentences, each 8-24 consecutive tokens from a random place in the stream.
std::string Paragraph(const std::vector<std::string>& tokens, std::mt19937_64& rng, int& words) {
  std::string out;
  const int sentences = std::uniform_int_distribution<int>(3, 7)(rng);
  for (int s = 0; s < sentences; ++s) {
    const int length = std::uniform_int_distribution<int>(8, 24)(rng);
    std::size_t at =
        std::uniform_int_distribution<std::size_t>(0, tokens.size() - static_cast<std::size_t>(length))(rng);
    for (int w = 0; w < length; ++w, ++at) {
      std::string token = tokens[at];
      if (w == 0) token[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(token[0])));
      out += token;
      out += w + 1 == length ? ". " : " ";
    }
    words += length;
  }
  out.pop_back();
  return out;
}

struct Doc {
  std::string bytes;
  std::string filename;
  std::string content_type;
  int words = 0;
  int pages = 0;
};

Doc TextDoc(const std::vector<std::string>& tokens, int index, int target_words) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(index) * 7919 + 17);
  Doc doc;
  doc.filename = "note-" + std::to_string(index) + ".txt";
  doc.content_type = "text/plain";
  doc.bytes = "Note " + std::to_string(index) + "\n\n";  // also makes every document unique
  while (doc.words < target_words) doc.bytes += Paragraph(tokens, rng, doc.words) + "\n\n";
  return doc;
}

cairo_status_t AppendToString(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

// Lines of at most `width` characters, broken at spaces (cairo draws no line breaks itself).
std::vector<std::string> Wrap(const std::string& paragraph, std::size_t width) {
  std::vector<std::string> lines;
  std::string line;
  std::stringstream in(paragraph);
  std::string word;
  while (in >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(line);
      line.clear();
    }
    if (!line.empty()) line += ' ';
    line += word;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

// A4 pages, DejaVu Sans 10 pt on 14 pt lines inside 1-inch margins: 48 lines of up to 90
// characters, a blank line between paragraphs; ~600 words per page, like a dense report.
Doc PdfDoc(const std::vector<std::string>& tokens, int index, int pages) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(index) * 104729 + 5);
  Doc doc;
  doc.filename = "report-" + std::to_string(index) + ".pdf";
  doc.content_type = "application/pdf";
  doc.pages = pages;
  cairo_surface_t* surface = cairo_pdf_surface_create_for_stream(AppendToString, &doc.bytes, 595, 842);
  const std::string title = "Report " + std::to_string(index);
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title.c_str());
  cairo_t* cr = cairo_create(surface);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 10);
  constexpr int kLinesPerPage = 48;
  std::vector<std::string> pending = {title, ""};
  for (int page = 0; page < pages; ++page) {
    for (int line = 0; line < kLinesPerPage; ++line) {
      if (pending.empty()) {
        int words = 0;
        pending = Wrap(Paragraph(tokens, rng, words), 90);
        pending.emplace_back();  // the blank line after the paragraph
      }
      cairo_move_to(cr, 72, 80 + 14.0 * line);
      cairo_show_text(cr, pending.front().c_str());
      doc.words += static_cast<int>(std::count(pending.front().begin(), pending.front().end(), ' ')) +
                   (pending.front().empty() ? 0 : 1);
      pending.erase(pending.begin());
    }
    cairo_show_page(cr);
  }
  cairo_destroy(cr);
  cairo_surface_finish(surface);
  const cairo_status_t status = cairo_surface_status(surface);
  cairo_surface_destroy(surface);
  if (status != CAIRO_STATUS_SUCCESS) throw std::runtime_error(cairo_status_to_string(status));
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Measuring.

// Forwards to the real embedder and adds up the time spent in it (thread-safe).
class TimedEmbedder final : public search::Embedder {
 public:
  explicit TimedEmbedder(search::Embedder& inner) : inner_(inner) {}
  std::string_view name() const override { return inner_.name(); }
  std::string model() const override { return inner_.model(); }
  int dimension() const override { return inner_.dimension(); }
  std::vector<search::Vector> Embed(std::span<const std::string> texts) override {
    const auto start = Clock::now();
    std::vector<search::Vector> out = inner_.Embed(texts);
    nanos_ += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    return out;
  }
  std::int64_t nanos() const { return nanos_.load(); }

 private:
  search::Embedder& inner_;
  std::atomic<std::int64_t> nanos_{0};
};

/// Median time of a 4 KiB write + fdatasync in `dir` (as queue_bench prints): every SQLite commit
/// pays it, and a document takes several commits (submit, lease, progress, chunks, complete).
double FsyncMillis(const fs::path& dir) {
  const std::string path = (dir / "fsync-probe").string();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + path);
  std::vector<char> block(4096, 'x');
  std::vector<double> samples;
  for (int i = 0; i < 50; ++i) {
    const auto start = Clock::now();
    if (::pwrite(fd, block.data(), block.size(), 0) != static_cast<ssize_t>(block.size()) || ::fdatasync(fd) != 0) {
      ::close(fd);
      throw std::runtime_error("fsync probe failed");
    }
    samples.push_back(Seconds(Clock::now() - start) * 1000);
  }
  ::close(fd);
  fs::remove(path);
  std::nth_element(samples.begin(), samples.begin() + 25, samples.end());
  return samples[25];
}

// VmRSS of this process in MB: what fork() has to map again for every isolated extraction.
double RssMb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024;
  }
  return 0;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one.empty() ? "?" : one;
}

struct Models {
  std::shared_ptr<const search::Tokenizer> tokenizer;
  std::unique_ptr<search::Embedder> embedder;
};

struct Totals {
  std::uint64_t bytes = 0;
  std::int64_t words = 0;
  std::int64_t pages = 0;
};

Totals Sum(const std::vector<Doc>& docs) {
  Totals t;
  for (const Doc& d : docs) {
    t.bytes += d.bytes.size();
    t.words += d.words;
    t.pages += d.pages;
  }
  return t;
}

// Extraction and chunking, one document at a time outside the queue, with the same calls and
// options as Ingestion::Run. Both are CPU work, so a sample measured after the run is a fair
// estimate of their share of the handler (the database part, which depends on the disk's fsync
// latency of the moment, is measured during the run instead).
struct CpuSplit {
  double detect_ms = 0;     // DetectFormat (libmagic)
  double isolated_ms = 0;   // ExtractIsolated (fork, limits, result over a pipe)
  double inprocess_ms = 0;  // Extract in this process, for comparison
  double chunk_ms = 0;
};

CpuSplit MeasureExtractAndChunk(const Models& models, const std::vector<Doc>& docs, int sample, const fs::path& work) {
  CpuSplit split;
  const int n = std::min<int>(sample, static_cast<int>(docs.size()));
  if (n <= 0) return split;
  const extract::ExtractLimits limits;
  const chunk::ChunkOptions chunking;
  fs::create_directories(work / "split");
  double detect_s = 0, isolated_s = 0, inprocess_s = 0, chunk_s = 0;
  for (int i = 0; i < n; ++i) {
    const Doc& doc = docs[static_cast<std::size_t>(i)];
    const std::string path = (work / "split" / ("source-" + std::to_string(i))).string();
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(doc.bytes.data(), static_cast<std::streamsize>(doc.bytes.size()));
    }
    const auto t = Clock::now();
    const extract::Format format = extract::DetectFormat(path, doc.filename, doc.content_type);
    const auto t0 = Clock::now();
    detect_s += Seconds(t0 - t);
    const extract::ExtractedDocument extracted = extract::ExtractIsolated(path, format, limits);
    const auto t1 = Clock::now();
    isolated_s += Seconds(t1 - t0);
    extract::Extract(path, format, limits);
    const auto t2 = Clock::now();
    inprocess_s += Seconds(t2 - t1);
    fs::remove(path);
    chunk::ChunkInput input;
    input.text = extracted.text;
    for (const auto& s : extracted.sections) input.sections.push_back({s.heading_path, s.begin, s.end});
    for (const auto& p : extracted.pages) input.pages.push_back({p.page, p.begin, p.end});
    const std::vector<chunk::Chunk> chunks = chunk::ChunkText(input, chunking, *models.tokenizer);
    chunk_s += Seconds(Clock::now() - t2);
  }
  split.detect_ms = detect_s * 1000 / n;
  split.isolated_ms = isolated_s * 1000 / n;
  split.inprocess_ms = inprocess_s * 1000 / n;
  split.chunk_ms = chunk_s * 1000 / n;
  return split;
}

// Forwards to the real database and adds up the time and number of transactions, separately for
// those made inside the job handler and the rest (submit, lease, complete, index catch-up). The
// time of a write includes waiting for the single SQLite writer and the commit's fsync.
thread_local bool t_in_handler = false;

class TimedDb final : public store::Db {
 public:
  explicit TimedDb(store::Db& inner) : inner_(inner) {}
  store::Backend backend() const override { return inner_.backend(); }
  void Read(const std::function<void(store::Tx&)>& fn) override {
    const auto start = Clock::now();
    inner_.Read(fn);
    Add(t_in_handler ? handler_reads : other_reads, start);
  }
  void Write(const std::function<void(store::Tx&)>& fn) override {
    const auto start = Clock::now();
    inner_.Write(fn);
    Add(t_in_handler ? handler_writes : other_writes, start);
  }
  void Ping() override { inner_.Ping(); }
  store::PoolStats Stats() const override { return inner_.Stats(); }
  void Close() override { inner_.Close(); }

  struct Counter {
    std::atomic<std::int64_t> count{0};
    std::atomic<std::int64_t> nanos{0};
  };
  Counter handler_reads, handler_writes, other_reads, other_writes;

 private:
  static void Add(Counter& c, Clock::time_point start) {
    ++c.count;
    c.nanos += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
  }
  store::Db& inner_;
};

struct RunSetup {
  store::DbOptions db;
  std::string backend;  // for the printed line
  std::string workspace;
  fs::path work;  // temp files and the vector index of this run
  int threads = 1;
  int split_sample = 0;  // documents for MeasureExtractAndChunk after the run; 0: none
};

void RunOnce(const RunSetup& setup, const Models& models, const std::vector<Doc>& docs, std::string_view kind) {
  fs::create_directories(setup.work);
  std::unique_ptr<store::Db> opened = store::OpenDb(setup.db);
  TimedDb db(*opened);
  store::Migrate(db);
  db.Write([&](store::Tx& tx) {
    if (tx.Exec(kWorkspaceExists, {setup.workspace}).empty()) {
      store::workspaces::Insert(tx, {setup.workspace, "Ingest bench", setup.workspace, "free"});
    }
  });

  queue::JobQueue jobs;
  TimedEmbedder embedder(*models.embedder);
  ingest::IngestionOptions options;  // production defaults: isolated extraction, default chunking
  options.temp_dir = setup.work / "tmp";
  ingest::Ingestion ingestion(db, jobs, *models.tokenizer, embedder, options);
  search::IndexRegistry registry(setup.work / "index", search::IdentityOf(*models.embedder));
  search::Retriever retriever(db, *models.embedder, registry);

  // Submit: one transaction per document, like one upload each.
  const auto submit_start = Clock::now();
  for (const Doc& doc : docs) {
    ingest::SourceInput in;
    in.workspace_id = setup.workspace;
    in.bytes = doc.bytes;
    in.filename = doc.filename;
    in.content_type = doc.content_type;
    if (ingestion.Submit(in).duplicate) throw std::runtime_error("a generated document was a duplicate");
  }
  const double submit_s = Seconds(Clock::now() - submit_start);
  const std::int64_t writes_before = db.other_writes.count.load();
  const std::int64_t write_ns_before = db.other_writes.nanos.load();

  std::atomic<int> completed{0}, dead{0};
  std::atomic<std::int64_t> handler_ns{0}, index_ns{0};
  queue::WorkerPoolOptions pool_options;
  pool_options.on_job_finished = [&](const queue::JobFinished& e) {
    if (e.outcome == queue::JobFinished::Outcome::kCompleted) ++completed;
    if (e.outcome == queue::JobFinished::Outcome::kDead) ++dead;
  };
  queue::WorkerPool pool(db, jobs, pool_options);
  // The server's queue settings and handler (app/knowledge_base.cpp).
  pool.AddQueue({.name = std::string(ingest::kIngestQueue),
                 .concurrency = setup.threads,
                 .lease_batch = 1,
                 .visibility = std::chrono::seconds(60)});
  pool.Handle(std::string(ingest::kIngestJobType), [&](queue::JobContext& job) {
    const auto t0 = Clock::now();
    t_in_handler = true;
    try {
      ingestion.Run(job);
    } catch (...) {
      t_in_handler = false;
      throw;
    }
    t_in_handler = false;
    const auto t1 = Clock::now();
    retriever.CatchUp(*job.workspace_id());
    handler_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
    index_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t1).count();
  });
  const int n = static_cast<int>(docs.size());
  const auto process_start = Clock::now();
  pool.Start();
  int last_done = -1;
  auto last_change = Clock::now();
  while (completed.load() + dead.load() < n) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const int done = completed.load() + dead.load();
    if (done != last_done) {
      last_done = done;
      last_change = Clock::now();
    } else if (Clock::now() - last_change > std::chrono::seconds(120)) {
      throw std::runtime_error("no job finished for 2 minutes (" + std::to_string(done) + " of " + std::to_string(n) +
                               " done)");
    }
  }
  const double process_s = Seconds(Clock::now() - process_start);
  pool.Stop(std::chrono::seconds(10));
  const double queue_writes = static_cast<double>(db.other_writes.count.load() - writes_before) / n;
  const double queue_write_ms = Millis(db.other_writes.nanos.load() - write_ns_before) / n;

  const auto stats = db.ReadValue([&](store::Tx& tx) {
    const auto row = tx.Exec(kDocStats, {setup.workspace}).front();
    return std::array<std::int64_t, 3>{row.GetInt(0), row.GetInt(1), row.GetInt(2)};
  });
  const Totals totals = Sum(docs);
  const double end_to_end_min = (submit_s + process_s) / 60;
  const double docs_per_min = n / end_to_end_min;
  std::printf("%-13s %-4s threads=%d docs=%d: %.0f docs/min end to end = %.0f per worker thread, %.1f MB/min",
              setup.backend.c_str(), std::string(kind).c_str(), setup.threads, n, docs_per_min,
              docs_per_min / setup.threads, static_cast<double>(totals.bytes) / 1e6 / end_to_end_min);
  if (totals.pages > 0) std::printf(", %.0f pages/min", static_cast<double>(totals.pages) / end_to_end_min);
  std::printf("\n  submit %.1f s (%.2f ms per document), process %.1f s (%.0f docs/min per worker thread)\n", submit_s,
              submit_s * 1000 / n, process_s, n / (process_s / 60) / setup.threads);

  // Per document, in worker time (summed over the threads).
  const double handler_ms = Millis(handler_ns.load()) / n;
  const double db_ms = Millis(db.handler_writes.nanos.load() + db.handler_reads.nanos.load()) / n;
  const double embed_ms = Millis(embedder.nanos()) / n;
  const double index_ms = Millis(index_ns.load()) / n;
  const double idle_ms = std::max(0.0, process_s * 1000 * setup.threads / n - handler_ms - index_ms - queue_write_ms);
  std::printf(
      "  per document, ms of worker time: Ingestion::Run %.2f = database %.2f (%.1f commits) + embed %.2f + "
      "extract, chunk and the rest %.2f; then index catch-up %.2f; queue lease + complete %.2f (%.1f commits); "
      "idle %.2f\n",
      handler_ms, db_ms, static_cast<double>(db.handler_writes.count.load()) / n, embed_ms,
      std::max(0.0, handler_ms - db_ms - embed_ms), index_ms, queue_write_ms, queue_writes, idle_ms);
  std::printf("  %.1f chunks and %.0f tokens per document",
              static_cast<double>(stats[1]) / std::max<std::int64_t>(stats[0], 1),
              static_cast<double>(stats[2]) / std::max<std::int64_t>(stats[0], 1));
  if (stats[0] != n || dead.load() != 0) {
    std::printf("; ONLY %lld of %d ready, %d dead", static_cast<long long>(stats[0]), n, dead.load());
  }
  std::printf("\n");
  std::fflush(stdout);

  if (setup.split_sample > 0) {
    const CpuSplit split = MeasureExtractAndChunk(models, docs, setup.split_sample, setup.work);
    std::printf(
        "  measured alone on %d of the documents: detect format %.2f ms, extract %.2f ms in a child process "
        "(%.2f ms in process; this process has %.0f MB resident), chunk %.2f ms\n",
        std::min<int>(setup.split_sample, n), split.detect_ms, split.isolated_ms, split.inprocess_ms, RssMb(),
        split.chunk_ms);
    std::fflush(stdout);
  }
  db.Close();
}

fs::path MakeTempDir() {
  std::string dir = (fs::temp_directory_path() / "ingest-bench-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return dir;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = Parse(argc, argv);
  obs::SetLevel(obs::Level::kWarn);  // no info line per vector-index rebuild between the results
  try {
    Models models;
    models.tokenizer = search::Tokenizer::Load(search::Tokenizer::DefaultPath());
    search::EmbedderConfig embedder_config;  // local by default; models from DefaultModelsDir()
    models.embedder = search::MakeEmbedder(embedder_config);
    const fs::path root = MakeTempDir();
    std::printf("machine: %u cores, load average %s; disk: 4 KiB write + fdatasync in %s takes %.3f ms (median)\n",
                std::thread::hardware_concurrency(), LoadAverage().c_str(), root.c_str(), FsyncMillis(root));

    const std::vector<std::string> tokens = LicenseTokens();
    auto t0 = Clock::now();
    std::vector<Doc> texts, pdfs;
    const int text_docs = std::max(args.text_docs, args.pg_docs);
    for (int i = 0; i < text_docs; ++i) texts.push_back(TextDoc(tokens, i, args.words));
    const double text_gen_s = Seconds(Clock::now() - t0);
    t0 = Clock::now();
    for (int i = 0; i < args.pdf_docs; ++i) pdfs.push_back(PdfDoc(tokens, i, args.pdf_pages));
    const double pdf_gen_s = Seconds(Clock::now() - t0);
    if (!texts.empty()) {
      const Totals t = Sum(texts);
      std::printf("text: %zu documents, %.0f words and %.1f KB each on average (generated in %.1f s)\n", texts.size(),
                  static_cast<double>(t.words) / static_cast<double>(texts.size()),
                  static_cast<double>(t.bytes) / 1e3 / static_cast<double>(texts.size()), text_gen_s);
    }
    if (!pdfs.empty()) {
      const Totals t = Sum(pdfs);
      std::printf("pdf:  %zu documents of %d pages, %.0f words and %.1f KB each on average (drawn in %.1f s)\n",
                  pdfs.size(), args.pdf_pages, static_cast<double>(t.words) / static_cast<double>(pdfs.size()),
                  static_cast<double>(t.bytes) / 1e3 / static_cast<double>(pdfs.size()), pdf_gen_s);
    }
    std::printf(
        "stages per document: submit (1 transaction) → lease → Ingestion::Run [extract in a child process → "
        "chunk (paragraph, 1000 tokens) → embed (%s/%s) → store] → complete, then index catch-up (HNSW)\n\n",
        std::string(models.embedder->name()).c_str(), models.embedder->model().c_str());
    std::fflush(stdout);

    int run = 0;
    auto sqlite_runs = [&](const std::vector<Doc>& docs, int count, std::string_view kind) {
      if (count <= 0) return;
      const std::vector<Doc> subset(docs.begin(), docs.begin() + count);
      for (const int threads : args.threads) {
        RunSetup setup;
        setup.work = root / ("run-" + std::to_string(++run));
        setup.db.url = "sqlite:" + (setup.work / "studio.db").string();
        setup.db.sqlite_synchronous_full = args.sqlite_full;  // FULL by default, as in production
        setup.backend = args.sqlite_full ? "sqlite" : "sqlite-normal";
        setup.workspace = "wks_ingest";
        setup.threads = threads;
        setup.split_sample = threads == args.threads.front() ? args.sample : 0;
        RunOnce(setup, models, subset, kind);
        fs::remove_all(setup.work);
      }
    };
    sqlite_runs(texts, args.text_docs, "text");
    sqlite_runs(pdfs, args.pdf_docs, "pdf");

    const char* pg = std::getenv("STUDIO_BENCH_PG_URL");
    if (pg == nullptr || *pg == '\0') pg = std::getenv("STUDIO_TEST_PG_URL");
    const int pg_docs = args.pg_docs < 0 ? args.text_docs : args.pg_docs;
    if (pg == nullptr || *pg == '\0') {
      std::printf("postgres skipped (set STUDIO_BENCH_PG_URL)\n");
    } else if (pg_docs > 0) {
      const std::vector<Doc> subset(texts.begin(), texts.begin() + pg_docs);
      for (const int threads : args.threads) {
        RunSetup setup;
        setup.work = root / ("run-" + std::to_string(++run));
        setup.db.url = pg;
        setup.db.pool_size = 8;
        setup.backend = "postgres";
        // A new workspace per run: nothing of an earlier run is touched or counted.
        setup.workspace = "wks_ingest_" + std::to_string(::getpid()) + "_" + std::to_string(run);
        setup.threads = threads;
        RunOnce(setup, models, subset, "text");
        fs::remove_all(setup.work);
      }
    }
    fs::remove_all(root);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ingest_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
