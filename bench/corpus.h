// Deterministic text for benchmarks: a synthetic English-like corpus (Zipf-distributed words
// from a generated vocabulary) and helpers to load real prose found on a Debian machine.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "doppel/document.h"
#include "doppel/index.h"
#include "doppel/status.h"

namespace doppel::bench {

// A generator of pseudo-prose: sentences of Zipf-distributed words with punctuation and line
// breaks. Same seed, same text.
class ProseGenerator {
 public:
  explicit ProseGenerator(uint64_t seed, size_t vocabulary = 50000);
  // About `bytes` bytes of text ending at a sentence boundary.
  std::string Text(size_t bytes);
  std::mt19937_64& rng() { return rng_; }

 private:
  std::string Word();
  std::mt19937_64 rng_;
  std::vector<std::string> vocab_;
  std::vector<double> cdf_;
};

// Paragraphs of real prose from the machine: Perl's POD documentation and the README/NEWS
// files under /usr/share/doc (plain or .gz), excluding /usr/share/common-licenses (the demo's
// corpus). Each paragraph has at least `min_words` words. Sorted by source path, so the result
// is deterministic for a given machine.
struct Paragraph {
  std::string source;  // file path
  std::string text;
};
std::vector<Paragraph> LoadRealProse(size_t min_words, size_t max_paragraphs);

// Builds a fresh index in `dir` from `docs` (bulk load, batches of 512) and returns it open for
// reading and writing; errors name the document or the index.
Result<std::shared_ptr<Index>> BuildBenchIndex(const std::string& dir, std::vector<Document> docs);

// A file's bytes ("" when it cannot be read).
std::string ReadWholeFile(const std::string& path);

// Splits text into words (whitespace-separated) and joins them back.
std::vector<std::string> SplitWords(const std::string& text);
std::string JoinWords(const std::vector<std::string>& words, size_t begin, size_t end);

}  // namespace doppel::bench
