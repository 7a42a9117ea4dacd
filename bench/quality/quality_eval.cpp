// Retrieval quality of keyword, vector (the local embedder) and hybrid search on a question set
// that nobody here wrote: known-item retrieval over Debian manual pages.
//
//   corpus=$(scripts/fetch-quality-corpus.sh)      # once: packages → plain-text pages
//   quality_eval [--corpus DIR] [--top-k 10] [--examples 5] [--threads 2] [--chunk-tokens N]
//                [--embedder local|openai] [--embedding-model M]
//
// --chunk-tokens N chunks with max_tokens N and overlap N/5 instead of the default (1000 / 200),
// to see how chunk size moves the numbers. --embedder openai measures an OpenAI-compatible
// embedder instead of the local one: OPENAI_API_KEY (required) and OPENAI_BASE_URL (optional) as
// the server reads them, --embedding-model (default text-embedding-3-small).
//
// The corpus directory holds <package>/<page>.txt (rendered by groff) and MANIFEST ("package
// version" per line). For every page:
//   question = the description of its NAME line ("ls - list directory contents" → "list directory
//              contents");
//   document = the page with its NAME section (heading and line) removed.
// Pages whose description is not unique in the corpus are still documents but ask no question
// (there would be several right answers). All documents go into one workspace; every question is
// searched with Retriever::Search in each mode (top 10 chunks, the server's default options), and
// a question is answered at rank r when the r-th hit is a chunk of its page (any chunk). Printed:
// recall@1/5/10 and MRR@10 per mode, the same per package, split by whether every question word
// occurs in the document, and examples where one mode finds the page and the other does not.
//
// How the documents are stored: with the pipeline's own steps, in this process — extract::Extract
// (the text extractor of a .txt upload), chunk::ChunkText with the default ChunkOptions, the local
// embedder, documents::Insert + chunks::Replace — which gives the chunks Ingestion::Run would
// store. Not through the job queue, because the queue assigns random document ids and runs jobs in
// an unspecified order, which would change chunk ids, the HNSW insertion order and tie-breaking
// from run to run; here ids and order follow the corpus, so the numbers are reproducible exactly.
// The pipeline's throughput is bench/ingest's business.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/error.hpp"
#include "ingest/chunk/chunk.hpp"
#include "ingest/extract/extract.hpp"
#include "obs/log.hpp"
#include "search/embed/embedder.hpp"
#include "search/embed/make_embedder.hpp"
#include "search/index/index_registry.hpp"
#include "search/retriever/embedding_codec.hpp"
#include "search/retriever/retriever.hpp"
#include "search/retriever/snippet.hpp"
#include "search/tokenizer/tokenizer.hpp"
#include "store/db.hpp"
#include "store/documents_repo.hpp"
#include "store/migrate.hpp"
#include "store/workspaces_repo.hpp"

namespace {

namespace fs = std::filesystem;
using namespace studio;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kWorkspace = "wks_quality";

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Args {
  fs::path corpus;
  int top_k = 10;
  int examples = 5;
  int threads = 2;
  chunk::ChunkOptions chunking;  // the server's default unless --chunk-tokens
  std::string embedder = "local";
  std::string embedding_model;
  search::RetrieverOptions retriever;  // the server's defaults unless --vector-weight
  double vector_weight = -1;           // < 0: the server's default for the embedder
};

fs::path DefaultCorpus() {
  if (const char* dir = std::getenv("STUDIO_CACHE_DIR"); dir != nullptr && *dir != '\0') {
    return fs::path(dir) / "quality" / "text";
  }
  if (const char* dir = std::getenv("XDG_CACHE_HOME"); dir != nullptr && *dir != '\0') {
    return fs::path(dir) / "studio" / "quality" / "text";
  }
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr ? home : ".") / ".cache" / "studio" / "quality" / "text";
}

Args Parse(int argc, char** argv) {
  Args args;
  args.corpus = DefaultCorpus();
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "quality_eval: %s needs a value\n", flag.c_str());
      std::exit(2);
    }
    const std::string value = argv[i + 1];
    if (flag == "--corpus") {
      args.corpus = value;
    } else if (flag == "--top-k") {
      args.top_k = std::stoi(value);
    } else if (flag == "--examples") {
      args.examples = std::stoi(value);
    } else if (flag == "--chunk-tokens") {
      // For comparison only: the product's default is what the headline numbers use.
      args.chunking.max_tokens = std::stoi(value);
      args.chunking.overlap_tokens = args.chunking.max_tokens / 5;
    } else if (flag == "--embedder") {
      args.embedder = value;
    } else if (flag == "--embedding-model") {
      args.embedding_model = value;
    } else if (flag == "--vector-weight") {
      // Hybrid fusion: the vector list's weight (the keyword list's is 1).
      args.vector_weight = std::stod(value);
    } else if (flag == "--threads") {
      args.threads = std::max(1, std::stoi(value));
    } else {
      std::fprintf(stderr, "quality_eval: unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  return args;
}

// ---------------------------------------------------------------------------------------------
// The corpus.

struct Page {
  std::string package;
  std::string file;      // "ls.1"
  std::string id;        // document id
  std::string names;     // "ls" (what the NAME line names; not part of the question)
  std::string question;  // "list directory contents"; empty when not asked
  std::string text;      // the page without its NAME section
};

std::string Trim(std::string_view s) {
  const auto begin = s.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return "";
  const auto end = s.find_last_not_of(" \t");
  return std::string(s.substr(begin, end - begin + 1));
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Splits a rendered page into its NAME line and the rest. The NAME section is the line "NAME"
// followed by indented lines up to the first blank line ("ls - list directory contents", which
// may wrap). Returns false when the page has no such section or no " - " in it.
bool SplitName(const std::string& rendered, Page& page) {
  std::vector<std::string> lines;
  std::stringstream in(rendered);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  const auto heading = std::find(lines.begin(), lines.end(), "NAME");
  if (heading == lines.end()) return false;
  auto end = heading + 1;
  std::string name_line;
  while (end != lines.end() && !Trim(*end).empty()) {
    name_line += (name_line.empty() ? "" : " ") + Trim(*end);
    ++end;
  }
  // groff renders the man macros' "\-" as an ASCII hyphen here; the others just in case.
  std::size_t dash = std::string::npos, dash_len = 0;
  for (const std::string_view sep : {" - ", " \u2212 ", " \u2010 ", " \u2014 "}) {
    const std::size_t at = name_line.find(sep);
    if (at != std::string::npos && at < dash) {
      dash = at;
      dash_len = sep.size();
    }
  }
  if (dash == std::string::npos) return false;
  page.names = Trim(name_line.substr(0, dash));
  page.question = Trim(name_line.substr(dash + dash_len));
  std::string text;
  for (auto it = lines.begin(); it != lines.end(); ++it) {
    if (it >= heading && it < end) continue;
    text += *it;
    text += '\n';
  }
  page.text = std::move(text);
  return !page.question.empty();
}

std::string DocumentId(const std::string& package, const std::string& file) {
  std::string id = "doc_" + package + "_" + file;
  for (char& c : id) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_') c = '_';
  }
  return id;
}

struct Corpus {
  std::vector<std::pair<std::string, std::string>> packages;  // name, version (MANIFEST order)
  std::vector<Page> pages;                                    // package order, then file name
  int unparsed = 0;                                           // pages without a NAME line: left out
  int ambiguous = 0;                                          // pages whose description is not unique
};

Corpus LoadCorpus(const fs::path& dir) {
  Corpus corpus;
  std::ifstream manifest(dir / "MANIFEST");
  if (!manifest)
    throw std::runtime_error("no " + (dir / "MANIFEST").string() + " (run scripts/fetch-quality-corpus.sh)");
  for (std::string line; std::getline(manifest, line);) {
    std::stringstream fields(line);
    std::string name, version;
    if (fields >> name >> version) corpus.packages.emplace_back(name, version);
  }
  for (const auto& [package, version] : corpus.packages) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir / package)) {
      if (entry.is_regular_file() && entry.path().extension() == ".txt") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
      std::ifstream in(path, std::ios::binary);
      const std::string rendered((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      Page page;
      page.package = package;
      page.file = path.stem().string();
      page.id = DocumentId(package, page.file);
      if (!SplitName(rendered, page)) {
        ++corpus.unparsed;
        continue;
      }
      corpus.pages.push_back(std::move(page));
    }
  }
  // A description shared by several pages has several right answers: those pages ask nothing.
  std::map<std::string, int> seen;
  for (const Page& p : corpus.pages) ++seen[Lower(p.question)];
  for (Page& p : corpus.pages) {
    if (seen[Lower(p.question)] > 1) {
      p.question.clear();
      ++corpus.ambiguous;
    }
  }
  return corpus;
}

// ---------------------------------------------------------------------------------------------
// Storing the documents (the pipeline's steps, see the header).

struct Prepared {
  std::vector<chunk::Chunk> chunks;
  std::vector<search::Vector> vectors;
  std::string refused;  // why DetectFormat refused the page, when it did
};

Prepared Prepare(const Page& page, const fs::path& temp_dir, const chunk::ChunkOptions& chunking,
                 const search::Tokenizer& tokenizer, search::Embedder& embedder) {
  // The extractor reads a file, as it does for an upload.
  const fs::path path = temp_dir / (page.id + ".txt");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << page.text;
  }
  const extract::ExtractLimits limits;
  Prepared out;
  extract::Format format = extract::Format::kText;
  try {
    format = extract::DetectFormat(path.string(), page.file + ".txt", "text/plain");
  } catch (const UnsupportedMediaType& e) {
    // libmagic calls a few of these plain-text pages HP-GL or an image, and DetectFormat then
    // refuses the upload (415) although it is valid UTF-8 declared as text/plain. That is a
    // detection bug, not a retrieval question: the page is extracted as the text it is, and
    // counted in the output.
    out.refused = e.detail();
  }
  const extract::ExtractedDocument extracted = extract::Extract(path.string(), format, limits);
  fs::remove(path);
  chunk::ChunkInput input;
  input.text = extracted.text;
  for (const auto& s : extracted.sections) input.sections.push_back({s.heading_path, s.begin, s.end});
  for (const auto& p : extracted.pages) input.pages.push_back({p.page, p.begin, p.end});
  out.chunks = chunk::ChunkText(input, chunking, tokenizer);
  std::vector<std::string> texts;
  for (const auto& c : out.chunks) texts.push_back(c.text);
  for (std::size_t first = 0; first < texts.size(); first += 100) {  // the pipeline's embed batch
    const std::size_t n = std::min<std::size_t>(100, texts.size() - first);
    for (auto& v : embedder.Embed(std::span<const std::string>(texts).subspan(first, n)))
      out.vectors.push_back(std::move(v));
  }
  return out;
}

struct StoreStats {
  std::int64_t chunks = 0;
  std::int64_t tokens = 0;
  std::vector<std::string> refused;  // "package/page: reason" of pages DetectFormat refused
};

StoreStats Store(store::Db& db, const std::vector<Page>& pages, const fs::path& temp_dir,
                 const chunk::ChunkOptions& chunking, const search::Tokenizer& tokenizer, search::Embedder& embedder,
                 int threads) {
  StoreStats stats;
  const std::string model_id = search::EmbeddingModelId(embedder);
  constexpr std::size_t kBatch = 64;
  for (std::size_t first = 0; first < pages.size(); first += kBatch) {
    const std::size_t last = std::min(pages.size(), first + kBatch);
    // Extract, chunk and embed on `threads` threads; store in corpus order.
    std::vector<Prepared> prepared(last - first);
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(threads));
    std::vector<std::thread> workers;
    workers.reserve(static_cast<std::size_t>(threads));
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        try {
          for (std::size_t i = first + static_cast<std::size_t>(t); i < last; i += static_cast<std::size_t>(threads)) {
            prepared[i - first] = Prepare(pages[i], temp_dir, chunking, tokenizer, embedder);
          }
        } catch (...) {
          errors[static_cast<std::size_t>(t)] = std::current_exception();
        }
      });
    }
    for (auto& w : workers) w.join();
    for (const auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
    for (std::size_t i = first; i < last; ++i) {
      if (!prepared[i - first].refused.empty()) {
        stats.refused.push_back(pages[i].package + "/" + pages[i].file + ": " + prepared[i - first].refused);
      }
    }
    db.Write([&](store::Tx& tx) {
      for (std::size_t i = first; i < last; ++i) {
        const Page& page = pages[i];
        const Prepared& p = prepared[i - first];
        store::DocumentRecord doc;
        doc.id = page.id;
        doc.workspace_id = std::string(kWorkspace);
        doc.title = page.file;
        doc.filename = page.file + ".txt";
        doc.format = "text";
        doc.size_bytes = static_cast<std::int64_t>(page.text.size());
        doc.content_hash = page.package + "/" + page.file;
        doc.status = "ready";
        doc.chunk_count = static_cast<int>(p.chunks.size());
        doc.created_at_ms = doc.updated_at_ms = 1'700'000'000'000;
        store::documents::Insert(tx, doc);
        std::vector<store::ChunkRecord> rows;
        for (std::size_t c = 0; c < p.chunks.size(); ++c) {
          const chunk::Chunk& ch = p.chunks[c];
          store::ChunkRecord r;
          r.workspace_id = doc.workspace_id;
          r.document_id = doc.id;
          r.version = 1;
          r.ordinal = ch.ordinal;
          r.text = ch.text;
          r.heading_path = ch.heading_path;
          r.page_start = ch.page_start;
          r.page_end = ch.page_end;
          r.char_begin = static_cast<std::int64_t>(ch.begin);
          r.char_end = static_cast<std::int64_t>(ch.end);
          r.token_count = ch.token_count;
          r.embedding_b64 = search::EncodeEmbedding(p.vectors[c]);
          r.embedding_model = model_id;
          r.created_at_ms = doc.created_at_ms;
          stats.tokens += ch.token_count;
          rows.push_back(std::move(r));
        }
        stats.chunks += static_cast<std::int64_t>(rows.size());
        store::chunks::Replace(tx, doc.workspace_id, doc.id, rows);
      }
    });
  }
  return stats;
}

// ---------------------------------------------------------------------------------------------
// Scoring.

// Whether the document has a word matching `term` by the snippet module's rule (one is a prefix
// of the other, at least 3 bytes; or a shared prefix of 5+ bytes missing at most 2 bytes of the
// shorter): a rough stand-in for the keyword index's stemming.
bool HasWord(const std::vector<std::string>& words, const std::string& term) {
  for (const std::string& w : words) {
    const std::size_t shorter = std::min(w.size(), term.size());
    std::size_t common = 0;
    while (common < shorter && w[common] == term[common]) ++common;
    if (common == shorter && shorter >= 3) return true;
    if (common >= 5 && common + 2 >= shorter) return true;
    if (w == term) return true;
  }
  return false;
}

std::vector<std::string> DistinctWords(std::string_view text) {
  std::unordered_set<std::string> set;
  std::string word;
  for (char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isalnum(u) != 0 || u >= 0x80) {
      word += static_cast<char>(std::tolower(u));
    } else if (!word.empty()) {
      set.insert(word);
      word.clear();
    }
  }
  if (!word.empty()) set.insert(word);
  std::vector<std::string> out(set.begin(), set.end());
  std::sort(out.begin(), out.end());
  return out;
}

struct Score {
  int questions = 0;
  int at1 = 0, at5 = 0, at10 = 0;
  double reciprocal = 0;

  void Add(int rank) {  // 0: not in the top 10
    ++questions;
    if (rank == 0) return;
    at1 += rank <= 1;
    at5 += rank <= 5;
    at10 += rank <= 10;
    reciprocal += 1.0 / rank;
  }
  double R(int hits) const { return questions == 0 ? 0 : static_cast<double>(hits) / questions; }
  double Mrr() const { return questions == 0 ? 0 : reciprocal / questions; }
};

constexpr search::SearchMode kModes[] = {search::SearchMode::kKeyword, search::SearchMode::kVector,
                                         search::SearchMode::kHybrid};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::lround(p / 100 * static_cast<double>(v.size() - 1)));
  return v[std::min(v.size() - 1, i)];
}

std::string RankText(int rank) { return rank == 0 ? "-" : std::to_string(rank); }

}  // namespace

int main(int argc, char** argv) {
  const Args args = Parse(argc, argv);
  obs::SetLevel(obs::Level::kWarn);  // no info line for the index build between the results
  try {
    const auto start = Clock::now();
    const Corpus corpus = LoadCorpus(args.corpus);
    std::vector<std::size_t> asked;  // indexes of pages with a question
    for (std::size_t i = 0; i < corpus.pages.size(); ++i) {
      if (!corpus.pages[i].question.empty()) asked.push_back(i);
    }

    std::printf("corpus: %s (Debian 12 manual pages rendered by scripts/fetch-quality-corpus.sh)\n",
                args.corpus.c_str());
    std::map<std::string, int> pages_of;
    for (const Page& p : corpus.pages) ++pages_of[p.package];
    for (const auto& [name, version] : corpus.packages) {
      std::printf("  %-16s %-28s %4d pages\n", name.c_str(), version.c_str(), pages_of[name]);
    }

    const auto tokenizer = search::Tokenizer::Load(search::Tokenizer::DefaultPath());
    search::EmbedderConfig embedder_config;  // local, models from STUDIO_MODELS_DIR
    embedder_config.kind = search::ParseEmbedderKind(args.embedder);
    if (embedder_config.kind == search::EmbedderKind::kOpenAI) {
      const char* key = std::getenv("OPENAI_API_KEY");
      if (key == nullptr || *key == '\0') throw std::runtime_error("--embedder openai needs OPENAI_API_KEY");
      embedder_config.api_key = key;
      if (const char* url = std::getenv("OPENAI_BASE_URL"); url != nullptr && *url != '\0')
        embedder_config.base_url = url;
      if (!args.embedding_model.empty()) embedder_config.model = args.embedding_model;
    }
    const std::unique_ptr<search::Embedder> embedder = search::MakeEmbedder(embedder_config);
    std::string dir = (fs::temp_directory_path() / "quality-eval-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    store::DbOptions db_options;
    db_options.url = "sqlite:" + dir + "/quality.db";
    db_options.sqlite_synchronous_full = false;  // a scratch database
    db_options.statement_timeout = std::chrono::milliseconds(0);
    auto db = store::OpenDb(db_options);
    store::Migrate(*db);
    db->Write([](store::Tx& tx) {
      store::workspaces::Insert(tx, {std::string(kWorkspace), "Quality", "quality", "free"});
    });

    auto t0 = Clock::now();
    const StoreStats stored = Store(*db, corpus.pages, dir, args.chunking, *tokenizer, *embedder, args.threads);
    const double store_s = Seconds(Clock::now() - t0);
    search::IndexRegistry registry(fs::path(dir) / "index", search::IdentityOf(*embedder));
    search::RetrieverOptions options = args.retriever;
    options.vector_weight =
        args.vector_weight >= 0 ? args.vector_weight : search::DefaultHybridVectorWeight(*embedder);
    search::Retriever retriever(*db, *embedder, registry, options);
    t0 = Clock::now();
    retriever.CatchUp(kWorkspace);
    const double index_s = Seconds(Clock::now() - t0);
    std::printf(
        "documents: %zu (%d pages without a NAME line left out), chunks: %lld (%.1f per document, %lld tokens), "
        "questions: %zu (%d pages share their description with another page and ask nothing)\n",
        corpus.pages.size(), corpus.unparsed, static_cast<long long>(stored.chunks),
        static_cast<double>(stored.chunks) / static_cast<double>(std::max<std::size_t>(corpus.pages.size(), 1)),
        static_cast<long long>(stored.tokens), asked.size(), corpus.ambiguous);
    std::printf(
        "stored in %.1f s (extract → chunk: paragraph, max %d tokens, overlap %d%s → embed %s/%s, %d threads), "
        "HNSW index built in %.1f s\n",
        store_s, args.chunking.max_tokens, args.chunking.overlap_tokens,
        args.chunking.max_tokens == chunk::ChunkOptions{}.max_tokens ? " (the default)" : " (NOT the default)",
        std::string(embedder->name()).c_str(), embedder->model().c_str(), args.threads, index_s);
    if (!stored.refused.empty()) {
      std::printf(
          "%zu pages were refused by format detection as an upload would be (415), and extracted as the "
          "plain text they are:\n",
          stored.refused.size());
      for (const std::string& r : stored.refused) std::printf("  %s\n", r.c_str());
    }

    // ranks[mode][question]: 1-based rank of the first chunk of the right page, 0 when absent.
    std::vector<std::vector<int>> ranks(std::size(kModes), std::vector<int>(asked.size(), 0));
    std::vector<std::vector<double>> latency(std::size(kModes));
    for (std::size_t m = 0; m < std::size(kModes); ++m) {
      for (std::size_t q = 0; q < asked.size(); ++q) {
        const Page& page = corpus.pages[asked[q]];
        search::SearchRequest request;
        request.query = page.question;
        request.mode = kModes[m];
        request.top_k = args.top_k;
        const auto s = Clock::now();
        const search::SearchResult result = retriever.Search(kWorkspace, request);
        latency[m].push_back(Seconds(Clock::now() - s) * 1000);
        for (std::size_t h = 0; h < result.hits.size(); ++h) {
          if (result.hits[h].document_id == page.id) {
            ranks[m][q] = static_cast<int>(h + 1);
            break;
          }
        }
      }
    }

    std::printf("\n%zu questions, top %d chunks; a hit is any chunk of the page\n", asked.size(), args.top_k);
    std::printf("%-8s %9s %9s %9s %8s %10s\n", "mode", "recall@1", "recall@5", "recall@10", "MRR@10", "p50 ms");
    for (std::size_t m = 0; m < std::size(kModes); ++m) {
      Score s;
      for (int r : ranks[m]) s.Add(r);
      std::printf("%-8s %9.3f %9.3f %9.3f %8.3f %10.2f\n", std::string(search::SearchModeName(kModes[m])).c_str(),
                  s.R(s.at1), s.R(s.at5), s.R(s.at10), s.Mrr(), Percentile(latency[m], 50));
    }

    std::printf("\nby package: recall@10 / MRR@10\n%-16s %9s %15s %15s %15s\n", "package", "questions", "keyword",
                "vector", "hybrid");
    for (const auto& [name, version] : corpus.packages) {
      Score per[std::size(kModes)];
      for (std::size_t q = 0; q < asked.size(); ++q) {
        if (corpus.pages[asked[q]].package != name) continue;
        for (std::size_t m = 0; m < std::size(kModes); ++m) per[m].Add(ranks[m][q]);
      }
      if (per[0].questions == 0) continue;
      std::printf("%-16s %9d", name.c_str(), per[0].questions);
      for (const Score& s : per) std::printf("   %5.3f / %5.3f", s.R(s.at10), s.Mrr());
      std::printf("\n");
    }

    // Lexical overlap: do the question's words (without stop words) occur in the document?
    Score overlap[2][std::size(kModes)];  // [0] every word occurs, [1] some word does not
    for (std::size_t q = 0; q < asked.size(); ++q) {
      const Page& page = corpus.pages[asked[q]];
      const std::vector<std::string> words = DistinctWords(page.text);
      bool all = true;
      for (const std::string& term : search::QueryTerms(page.question)) all = all && HasWord(words, term);
      for (std::size_t m = 0; m < std::size(kModes); ++m) overlap[all ? 0 : 1][m].Add(ranks[m][q]);
    }
    std::printf(
        "\nby word overlap (question words without stop words, matched roughly like the stemmer): "
        "recall@10 / MRR@10\n");
    const char* overlap_names[2] = {"every question word is in the page", "some question word is not"};
    for (int o = 0; o < 2; ++o) {
      std::printf("%-36s %4d questions", overlap_names[o], overlap[o][0].questions);
      for (const Score& s : overlap[o]) std::printf("   %5.3f / %5.3f", s.R(s.at10), s.Mrr());
      std::printf("\n");
    }

    // Head to head: which of two modes puts the page higher (absent counts as rank k + 1).
    auto head_to_head = [&](std::size_t a, std::size_t b) {
      int better = 0, worse = 0, same = 0, both_miss = 0;
      const int absent = args.top_k + 1;
      for (std::size_t q = 0; q < asked.size(); ++q) {
        const int ra = ranks[a][q] == 0 ? absent : ranks[a][q];
        const int rb = ranks[b][q] == 0 ? absent : ranks[b][q];
        if (ra < rb) {
          ++better;
        } else if (ra > rb) {
          ++worse;
        } else {
          ++same;
          both_miss += ra == absent;
        }
      }
      std::printf(
          "%s ranks the page higher than %s for %d questions, lower for %d, the same for %d "
          "(%d of them: both miss it)\n",
          std::string(search::SearchModeName(kModes[a])).c_str(),
          std::string(search::SearchModeName(kModes[b])).c_str(), better, worse, same, both_miss);
    };
    std::printf("\n");
    head_to_head(1, 0);
    head_to_head(2, 0);

    // Where one mode finds the page in the top k and the other does not.
    auto differences = [&](std::size_t found, std::size_t missed) {
      std::vector<std::size_t> qs;
      for (std::size_t q = 0; q < asked.size(); ++q) {
        if (ranks[found][q] != 0 && ranks[missed][q] == 0) qs.push_back(q);
      }
      const std::string a(search::SearchModeName(kModes[found])), b(search::SearchModeName(kModes[missed]));
      std::printf("\nfound by %s but not by %s: %zu questions", a.c_str(), b.c_str(), qs.size());
      if (args.examples > 0 && !qs.empty()) std::printf(", e.g. (rank %s / %s)", a.c_str(), b.c_str());
      std::printf("\n");
      // Evenly spread over the list, so the examples are not all from the first package.
      const std::size_t shown = std::min<std::size_t>(static_cast<std::size_t>(std::max(args.examples, 0)), qs.size());
      for (std::size_t e = 0; e < shown; ++e) {
        const std::size_t q = qs[e * qs.size() / shown];
        const Page& page = corpus.pages[asked[q]];
        std::printf("  %-28s \"%s\" (%s / %s)\n", (page.package + "/" + page.file).c_str(), page.question.c_str(),
                    RankText(ranks[found][q]).c_str(), RankText(ranks[missed][q]).c_str());
      }
    };
    differences(1, 0);
    differences(0, 1);
    differences(2, 0);
    differences(0, 2);

    std::printf("\ntotal %.1f s\n", Seconds(Clock::now() - start));
    db->Close();
    fs::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "quality_eval: %s\n", e.what());
    return 1;
  }
  return 0;
}
