// Load time, memory and single-thread throughput of the local embedder on the real model.
//   embed_bench [MODEL_FILE] [CHUNKS]
// Chunks are 750 words drawn from the model's own vocabulary with a Zipf law (fixed seed), with
// capitals, punctuation and numbers mixed in, so tokenisation and lookups see realistic text.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "search/embed/local_embedder.hpp"
#include "search/embed/make_embedder.hpp"
#include "search/embed/word_vectors.hpp"

namespace {

long RssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

double Seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  const std::string path = argc > 1 ? argv[1] : studio::search::DefaultModelsDir() + "/glove-100d.bin";
  const int chunks = argc > 2 ? std::stoi(argv[2]) : 3000;

  const long rss_before = RssKib();
  auto t0 = Clock::now();
  studio::search::LocalEmbedder embedder(path);
  const double load_s = Seconds(Clock::now() - t0);
  const long rss_loaded = RssKib();

  const studio::search::WordVectors words(path);
  std::mt19937_64 rng(42);
  std::vector<double> zipf(50'000);
  for (std::size_t r = 0; r < zipf.size(); ++r) zipf[r] = 1.0 / static_cast<double>(r + 1);
  std::discrete_distribution<std::size_t> pick(zipf.begin(), zipf.end());
  std::vector<std::string> texts;
  for (int c = 0; c < 200; ++c) {
    std::string text;
    for (int w = 0; w < 750; ++w) {
      std::string word(words.Word(static_cast<std::uint32_t>(pick(rng))));
      if (w % 15 == 0 && !word.empty()) word[0] = static_cast<char>(word[0] & ~0x20);
      if (w % 40 == 39) word = std::to_string(rng() % 10'000);
      text += word;
      text += w % 12 == 11 ? ". " : " ";
    }
    texts.push_back(std::move(text));
  }

  t0 = Clock::now();
  (void)embedder.EmbedOne(texts[0]);
  const double first_s = Seconds(Clock::now() - t0);

  t0 = Clock::now();
  double checksum = 0;
  for (int i = 0; i < chunks; ++i) checksum += embedder.EmbedOne(texts[static_cast<std::size_t>(i) % texts.size()])[0];
  const double run_s = Seconds(Clock::now() - t0);

  std::printf("model            %s (%u words × %d)\n", path.c_str(), words.size(), words.dimension());
  std::printf("load             %.2f ms (mmap + table checks)\n", load_s * 1e3);
  std::printf("rss              %ld KiB before, %ld KiB after load, %ld KiB after %d chunks\n", rss_before, rss_loaded,
              RssKib(), chunks);
  std::printf("first chunk      %.2f ms\n", first_s * 1e3);
  std::printf("throughput       %.0f chunks/s (750 words each, one thread; %.3f ms/chunk)\n", chunks / run_s,
              run_s * 1e3 / chunks);
  std::printf("checksum         %.6f\n", checksum);
  return 0;
}
