// Search latency per mode over a large workspace in SQLite, with the real local model.
//   retriever_bench [--chunks N] [--words-per-chunk W] [--words licenses|model] [--queries Q]
//                   [--dir DIR] [--top-k K]
// Defaults: 100,000 chunks of 200 words in 2,000 documents, 200 queries, top 10, in a fresh
// temporary directory. With --dir an existing database and index there are reused (only the
// search part runs), which makes repeated runs cheap.
//
// Chunk texts are drawn word by word, embedded with the local model, from
//  - licenses (default): the word stream of /usr/share/common-licenses/*, i.e. the word
//    frequencies of real legal prose, but only ~2,100 distinct words, so every query word occurs
//    in a large share of the chunks: the worst case for keyword search;
//  - model: the 50,000 most frequent alphabetic words of the model's vocabulary with a Zipf law,
//    closer to the vocabulary of a real knowledge base.
// Each query is 4 distinct non-stop words of a random chunk. Prints the setup times, then per
// mode p50/p95/p99/max latency of Retriever::Search and the mean time per stage.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "search/embed/local_embedder.hpp"
#include "search/embed/make_embedder.hpp"
#include "search/embed/word_vectors.hpp"
#include "search/retriever/embedding_codec.hpp"
#include "search/retriever/retriever.hpp"
#include "search/retriever/snippet.hpp"
#include "store/db.hpp"
#include "store/documents_repo.hpp"
#include "store/migrate.hpp"
#include "store/workspaces_repo.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace studio;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Args {
  int chunks = 100'000;
  int words_per_chunk = 200;
  int chunks_per_document = 50;
  int queries = 200;
  int top_k = 10;
  std::string words = "licenses";
  std::string dir;
};

Args Parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--chunks") {
      args.chunks = std::stoi(value);
    } else if (flag == "--words-per-chunk") {
      args.words_per_chunk = std::stoi(value);
    } else if (flag == "--queries") {
      args.queries = std::stoi(value);
    } else if (flag == "--top-k") {
      args.top_k = std::stoi(value);
    } else if (flag == "--words" && (value == "licenses" || value == "model")) {
      args.words = value;
    } else if (flag == "--dir") {
      args.dir = value;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  return args;
}

// Every word of the license texts, in order (lowercased letters only): a real word stream.
std::vector<std::string> LicenseWords() {
  std::vector<std::string> words;
  for (const auto& entry : fs::directory_iterator("/usr/share/common-licenses")) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    std::string word;
    char c = 0;
    while (in.get(c)) {
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        word += static_cast<char>(c | 0x20);
      } else if (!word.empty()) {
        words.push_back(word);
        word.clear();
      }
    }
    if (!word.empty()) words.push_back(word);
  }
  if (words.empty()) {
    std::fprintf(stderr, "no words under /usr/share/common-licenses\n");
    std::exit(1);
  }
  return words;
}

// Draws words: uniformly from a word stream (its own frequencies), or by a Zipf law over a
// ranked vocabulary.
struct WordSource {
  std::vector<std::string> words;
  bool zipf = false;
  std::discrete_distribution<std::size_t> ranked;

  std::string Next(std::mt19937_64& rng) {
    if (zipf) return words[ranked(rng)];
    return words[std::uniform_int_distribution<std::size_t>(0, words.size() - 1)(rng)];
  }
};

WordSource ModelWords(const std::string& model_path) {
  const search::WordVectors vectors(model_path);
  WordSource source;
  source.zipf = true;
  for (std::uint32_t i = 0; i < vectors.size() && source.words.size() < 50'000; ++i) {
    const std::string_view word = vectors.Word(i);
    if (!word.empty() && std::all_of(word.begin(), word.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
      source.words.emplace_back(word);
    }
  }
  std::vector<double> weights(source.words.size());
  for (std::size_t r = 0; r < weights.size(); ++r) weights[r] = 1.0 / static_cast<double>(r + 1);
  source.ranked = std::discrete_distribution<std::size_t>(weights.begin(), weights.end());
  return source;
}

std::string ChunkText(WordSource& source, std::mt19937_64& rng, int words) {
  std::string text;
  for (int w = 0; w < words; ++w) {
    std::string word = source.Next(rng);
    if (w % 15 == 0) word[0] = static_cast<char>(word[0] & ~0x20);
    text += word;
    text += w % 14 == 13 ? ". " : " ";
  }
  return text;
}

void Populate(store::Db& db, search::LocalEmbedder& embedder, const Args& args, const std::string& model_path) {
  WordSource source;
  if (args.words == "model") {
    source = ModelWords(model_path);
    std::printf("words: the model's %zu most frequent, Zipf\n", source.words.size());
  } else {
    source.words = LicenseWords();
    std::printf("words: license texts, %zu words, %zu distinct\n", source.words.size(),
                std::set<std::string>(source.words.begin(), source.words.end()).size());
  }
  const int documents = (args.chunks + args.chunks_per_document - 1) / args.chunks_per_document;
  const std::string model_id = search::EmbeddingModelId(embedder);

  double embed_s = 0, write_s = 0;
  constexpr int kDocsPerTx = 20;
  for (int first = 0; first < documents; first += kDocsPerTx) {
    const int last = std::min(documents, first + kDocsPerTx);
    // Texts for this batch of documents, embedded on two threads.
    std::vector<std::vector<std::string>> texts(static_cast<std::size_t>(last - first));
    for (int d = first; d < last; ++d) {
      std::mt19937_64 rng(static_cast<std::uint64_t>(d) * 7919 + 1);
      const int n = std::min(args.chunks_per_document, args.chunks - d * args.chunks_per_document);
      for (int c = 0; c < n; ++c)
        texts[static_cast<std::size_t>(d - first)].push_back(ChunkText(source, rng, args.words_per_chunk));
    }
    auto t0 = Clock::now();
    std::vector<std::vector<search::Vector>> vectors(texts.size());
    {
      std::vector<std::thread> threads;
      threads.reserve(2);
      for (int t = 0; t < 2; ++t) {
        threads.emplace_back([&, t] {
          for (std::size_t i = static_cast<std::size_t>(t); i < texts.size(); i += 2)
            vectors[i] = embedder.Embed(texts[i]);
        });
      }
      for (auto& t : threads) t.join();
    }
    embed_s += Seconds(Clock::now() - t0);
    t0 = Clock::now();
    db.Write([&](store::Tx& tx) {
      for (int d = first; d < last; ++d) {
        const auto& doc_texts = texts[static_cast<std::size_t>(d - first)];
        const auto& doc_vectors = vectors[static_cast<std::size_t>(d - first)];
        store::DocumentRecord doc;
        doc.id = "doc_" + std::to_string(d);
        doc.workspace_id = "wks_bench";
        doc.title = "Document " + std::to_string(d);
        doc.content_hash = "hash-" + std::to_string(d);
        doc.status = "ready";
        doc.metadata_json = d % 10 == 0 ? R"({"tags":["tenth"]})" : "{}";
        doc.created_at_ms = doc.updated_at_ms = 1'700'000'000'000 + d;
        store::documents::Insert(tx, doc);
        std::vector<store::ChunkRecord> rows;
        for (std::size_t c = 0; c < doc_texts.size(); ++c) {
          store::ChunkRecord row;
          row.workspace_id = "wks_bench";
          row.document_id = doc.id;
          row.version = 1;
          row.ordinal = static_cast<int>(c);
          row.text = doc_texts[c];
          row.char_end = static_cast<std::int64_t>(doc_texts[c].size());
          row.token_count = args.words_per_chunk * 4 / 3;
          row.embedding_b64 = search::EncodeEmbedding(doc_vectors[c]);
          row.embedding_model = model_id;
          row.created_at_ms = doc.created_at_ms;
          rows.push_back(std::move(row));
        }
        store::chunks::Replace(tx, "wks_bench", doc.id, rows);
      }
    });
    write_s += Seconds(Clock::now() - t0);
  }
  std::printf("populate: %d chunks in %d documents; embed %.1f s (2 threads), write %.1f s\n", args.chunks, documents,
              embed_s, write_s);
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto i = static_cast<std::size_t>(std::lround(p / 100.0 * static_cast<double>(values.size() - 1)));
  return values[std::min(i, values.size() - 1)];
}

search::SearchRequest Request(const std::string& query, search::SearchMode mode, int top_k) {
  search::SearchRequest request;
  request.query = query;
  request.mode = mode;
  request.top_k = top_k;
  return request;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = Parse(argc, argv);
  const bool fresh_dir = args.dir.empty();
  const fs::path dir =
      fresh_dir ? fs::temp_directory_path() / ("retriever-bench-" + std::to_string(::getpid())) : fs::path(args.dir);
  fs::create_directories(dir);
  const bool existing = fs::exists(dir / "bench.db");

  const std::string model_path = search::DefaultModelsDir() + "/" + std::string(search::LocalEmbedder::kFileName);
  search::LocalEmbedder embedder(model_path);
  store::DbOptions options;
  options.url = "sqlite:" + (dir / "bench.db").string();
  options.sqlite_synchronous_full = false;
  options.statement_timeout = std::chrono::milliseconds(0);
  auto db = store::OpenDb(options);
  store::Migrate(*db);
  if (!existing) {
    db->Write([](store::Tx& tx) { store::workspaces::Insert(tx, {"wks_bench", "Bench", "bench", "free"}); });
    Populate(*db, embedder, args, model_path);
  } else {
    std::printf("reusing %s\n", (dir / "bench.db").c_str());
  }

  search::IndexRegistry registry(dir, search::IdentityOf(embedder));
  search::Retriever retriever(*db, embedder, registry);
  auto t0 = Clock::now();
  retriever.CatchUp("wks_bench");
  std::printf("index open/rebuild + catch-up: %.1f s, %zu vectors\n", Seconds(Clock::now() - t0),
              registry.Open("wks_bench").index->Size());
  registry.SaveAll();

  // Queries: 4 distinct non-stop words of random chunks.
  std::mt19937_64 rng(12345);
  const std::int64_t max_id = db->ReadValue([](store::Tx& tx) { return store::chunks::MaxId(tx, "wks_bench"); });
  std::uniform_int_distribution<std::int64_t> pick_chunk(1, max_id);
  std::vector<std::string> queries;
  while (static_cast<int>(queries.size()) < args.queries) {
    auto rows =
        db->ReadValue([&](store::Tx& tx) { return store::chunks::Hydrate(tx, "wks_bench", {pick_chunk(rng)}); });
    if (rows.empty()) continue;
    std::vector<std::string> terms = search::QueryTerms(rows[0].chunk.text);
    std::shuffle(terms.begin(), terms.end(), rng);
    if (terms.size() < 4) continue;
    queries.push_back(terms[0] + " " + terms[1] + " " + terms[2] + " " + terms[3]);
  }

  std::printf("\n%d queries, top %d, %s\n", args.queries, args.top_k, "latency of Retriever::Search in ms");
  std::printf("%-8s %7s %7s %7s %7s | mean per stage: %6s %6s %6s %6s %6s %6s\n", "mode", "p50", "p95", "p99", "max",
              "embed", "catch", "vector", "keywrd", "hydrat", "rank");
  for (search::SearchMode mode :
       {search::SearchMode::kVector, search::SearchMode::kKeyword, search::SearchMode::kHybrid}) {
    for (int i = 0; i < 5; ++i)
      retriever.Search("wks_bench", Request(queries[static_cast<std::size_t>(i)], mode, args.top_k));
    std::vector<double> ms;
    double stage[6] = {0, 0, 0, 0, 0, 0};
    for (const std::string& query : queries) {
      const auto start = Clock::now();
      const search::SearchResult result = retriever.Search("wks_bench", Request(query, mode, args.top_k));
      ms.push_back(Seconds(Clock::now() - start) * 1000);
      const auto& t = result.timings;
      const std::chrono::microseconds parts[6] = {t.embed, t.catch_up, t.vector, t.keyword, t.hydrate, t.rank};
      for (int s = 0; s < 6; ++s) stage[s] += static_cast<double>(parts[s].count()) / 1000;
    }
    const double n = static_cast<double>(ms.size());
    std::printf("%-8s %7.2f %7.2f %7.2f %7.2f | %21.2f %6.2f %6.2f %6.2f %6.2f %6.2f\n",
                std::string(search::SearchModeName(mode)).c_str(), Percentile(ms, 50), Percentile(ms, 95),
                Percentile(ms, 99), Percentile(ms, 100), stage[0] / n, stage[1] / n, stage[2] / n, stage[3] / n,
                stage[4] / n, stage[5] / n);
  }

  // A filtered hybrid search (tag on every tenth document) for reference.
  std::vector<double> ms;
  for (const std::string& query : queries) {
    search::SearchRequest request = Request(query, search::SearchMode::kHybrid, args.top_k);
    request.filter.tags = {"tenth"};
    const auto start = Clock::now();
    retriever.Search("wks_bench", request);
    ms.push_back(Seconds(Clock::now() - start) * 1000);
  }
  std::printf("%-8s %7.2f %7.2f %7.2f %7.2f   (hybrid, tag filter matching 10%% of documents)\n", "filtered",
              Percentile(ms, 50), Percentile(ms, 95), Percentile(ms, 99), Percentile(ms, 100));

  db->Close();
  if (fresh_dir) fs::remove_all(dir);
  return 0;
}
