// Throughput of the text path: tokenize, shingle and MinHash(128), per core.
// Every benchmark checks its result against a reference before timing anything.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>

#include "corpus.h"
#include "doppel/lsh.h"
#include "doppel/minhash.h"
#include "doppel/shingle.h"
#include "doppel/sketch.h"
#include "doppel/tokenizer.h"
#include "doppel/winnow.h"

namespace {

using namespace doppel;

const std::string& Prose() {
  static const std::string text = [] {
    bench::ProseGenerator g(42);
    return g.Text(1 << 20);
  }();
  return text;
}

const std::string& RealProse() {
  static const std::string text = [] {
    std::string t;
    for (const auto& p : bench::LoadRealProse(20, 20000)) t += p.text + "\n\n";
    if (t.size() > (4u << 20)) t.resize(4u << 20);
    return t;
  }();
  return text;
}

const std::string& UnicodeProse() {
  static const std::string text = [] {
    std::string t;
    const char* parts[] = {"Größenordnung der Straße ", "déjà vu café naïve ", "日本語のテキストです。",
                           "Ｆｕｌｌｗｉｄｔｈ text ", "plain ascii words here "};
    for (size_t i = 0; t.size() < (1u << 20); ++i) t += parts[i % 5];
    return t;
  }();
  return text;
}

void Die(const char* what) {
  std::fprintf(stderr, "verification failed: %s\n", what);
  std::exit(1);
}

// Reference: count ASCII alphanumeric runs (apostrophes between letters join).
size_t ReferenceWordCount(const std::string& s) {
  size_t n = 0;
  bool in = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool alnum = std::isalnum(static_cast<unsigned char>(s[i]));
    const bool joiner = s[i] == '\'' && in && i + 1 < s.size() && std::isalpha(static_cast<unsigned char>(s[i + 1])) &&
                        i > 0 && std::isalpha(static_cast<unsigned char>(s[i - 1]));
    if (alnum && !in) ++n;
    in = alnum || joiner;
  }
  return n;
}

void VerifyMinHash(const MinHasher& mh, const std::vector<uint64_t>& shingles) {
  Signature fast;
  mh.Sketch(shingles, &fast);
  // Scalar reference of the same permutations, computed through a one-shingle sketch each.
  Signature ref(mh.num_permutations(), UINT32_MAX), one;
  for (uint64_t s : shingles) {
    mh.Sketch(std::span<const uint64_t>(&s, 1), &one);
    for (size_t i = 0; i < ref.size(); ++i) ref[i] = std::min(ref[i], one[i]);
  }
  if (fast != ref) Die("MinHash signature differs from the per-shingle reference");
}

void BM_Tokenize(benchmark::State& state, const std::string& text) {
  auto tok = NewTextTokenizer();
  Tokens tokens;
  if (!tok->Tokenize(text, &tokens).ok()) Die("tokenize failed");
  for (auto _ : state) {
    tok->Tokenize(text, &tokens);
    benchmark::DoNotOptimize(tokens.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens.size());
}

void BM_MinHash128(benchmark::State& state) {
  const std::string& text = Prose();
  auto tok = NewTextTokenizer();
  Tokens tokens;
  tok->Tokenize(text, &tokens);
  std::vector<uint64_t> hashes, shingles;
  TokenHashes(tokens, &hashes);
  HashKGrams(hashes, 5, 1, &shingles);
  MinHasher mh(128, 1);
  VerifyMinHash(mh, std::vector<uint64_t>(shingles.begin(), shingles.begin() + 5000));
  Signature sig;
  for (auto _ : state) {
    mh.Sketch(shingles, &sig);
    benchmark::DoNotOptimize(sig.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["shingles/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * shingles.size()), benchmark::Counter::kIsRate);
}

// The target: tokenize + shingle + MinHash(128) over 1 KB documents, per core.
void BM_TokenizeShingleMinHash(benchmark::State& state, const std::string& text) {
  auto tok = NewTextTokenizer();
  MinHasher mh(128, 1);
  const size_t doc = 1024;
  Tokens tokens;
  std::vector<uint64_t> hashes, shingles;
  Signature sig;
  for (auto _ : state) {
    for (size_t off = 0; off + doc <= text.size(); off += doc) {
      tok->Tokenize(std::string_view(text).substr(off, doc), &tokens);
      TokenHashes(tokens, &hashes);
      HashKGrams(hashes, 5, 1, &shingles);
      mh.Sketch(shingles, &sig);
      benchmark::DoNotOptimize(sig.data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (text.size() / doc) * doc));
}

// Everything the indexer computes per document (tokens, signature, bands, winnowed grams).
void BM_SketchDocument(benchmark::State& state) {
  const std::string& text = Prose();
  DocumentSketcher sk{SketchParams{}};
  SketchedDocument out;
  const size_t doc = 1024;
  for (auto _ : state) {
    for (size_t off = 0; off + doc <= text.size(); off += doc) {
      Document d;
      d.text.assign(text, off, doc);
      sk.Sketch(std::move(d), &out);
      benchmark::DoNotOptimize(out.fingerprints.data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (text.size() / doc) * doc));
}

}  // namespace

int main(int argc, char** argv) {
  // Verify before timing: the ASCII fast path gives the reference word count.
  {
    auto tok = NewTextTokenizer();
    Tokens t;
    if (!tok->Tokenize(Prose(), &t).ok() || t.size() != ReferenceWordCount(Prose())) {
      Die("token count differs from the reference word count");
    }
    if (RealProse().size() < (1u << 20)) Die("less than 1 MB of real prose found");
  }
  benchmark::RegisterBenchmark("tokenize/generated_ascii", BM_Tokenize, Prose());
  benchmark::RegisterBenchmark("tokenize/real_prose", BM_Tokenize, RealProse());
  benchmark::RegisterBenchmark("tokenize/unicode_mix", BM_Tokenize, UnicodeProse());
  benchmark::RegisterBenchmark("minhash128/generated_ascii", BM_MinHash128);
  benchmark::RegisterBenchmark("tokenize+shingle+minhash128/generated_1KB_docs",
                               BM_TokenizeShingleMinHash, Prose());
  benchmark::RegisterBenchmark("tokenize+shingle+minhash128/real_prose_1KB_docs",
                               BM_TokenizeShingleMinHash, RealProse());
  benchmark::RegisterBenchmark("sketch_document/generated_1KB_docs", BM_SketchDocument);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
