// Code normalization speed against the raw tree-sitter parse, side by side, per language:
//   code_bench [CORPUS_DIR=/tmp/doppel-code-corpus] [MB_PER_LANGUAGE=8] [ROUNDS=5]
// CORPUS_DIR/<language>/ holds real code (bench/code_corpus.sh). For each language, on one core,
// ROUNDS rounds of one pass of each, interleaved (this machine's speed drifts by 15% and more
// within minutes, so passes far apart in time do not compare); the best pass of each is reported,
// and the ratio of the bests, with the range of the rounds' own ratios:
//   parse    ts_parser_parse_string + ts_tree_delete over every file, with the grammar's own
//            parse table (stock) and with the dense copy the tokenizer parses with (dense,
//            DenseParseTable: the same parse, each table lookup one load); dense is the ceiling
//            the ratios are taken against;
//   tokenize doppel's code tokenizer (parse + walk + normalize);
//   fingerprint  what the goal names (tokenize + normalize + fingerprint): the tokenizer, then the
//            token hashes, their k-grams and winnowing, as a check does with an answer;
//   sketch   everything the indexer computes for a code document (tokenize, MinHash, bands,
//            winnowed fingerprints);
//   decode   a check reading a candidate's stored tokens: every file's token stream (as the
//            index stores it) decoded into fresh Tokens, in nanoseconds a token (the round's best).
// Before timing, every file must tokenize without error into at least one token. The ratios are
// against the dense parse; "fingerprint / stock parse" is the fingerprint's best against the
// stock parse's best: tree-sitter as it is shipped.
#include <tree_sitter/api.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "code/dense_parse_table.h"
#include "doppel/code_tokenizer.h"
#include "doppel/language.h"
#include "doppel/shingle.h"
#include "doppel/sketch.h"
#include "doppel/token_stream.h"

using namespace doppel;
namespace fs = std::filesystem;

namespace {

// MB/s of one pass of fn over `bytes`.
template <typename F>
double MBps(size_t bytes, F&& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return bytes / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp/doppel-code-corpus";
  const size_t limit = (argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 8) << 20;
  auto langs = Languages();
  if (!langs.ok()) return 2;
  DocumentSketcher sketcher{SketchParams{}};
  const int rounds = argc > 3 ? std::max(1, std::atoi(argv[3])) : 5;
  std::printf("| language | files | MB | stock parse MB/s | dense parse MB/s | tokenize MB/s | fingerprint MB/s | sketch MB/s | fingerprint / dense parse | rounds' ratios | fingerprint / stock parse | sketch / dense parse | rounds' ratios | decode ns/token |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const Language& lang : **langs) {
    std::vector<std::string> files;
    size_t bytes = 0;
    std::error_code ec;
    std::vector<fs::path> paths;
    for (const auto& e : fs::directory_iterator(fs::path(dir) / lang.name, ec)) paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    for (const auto& p : paths) {
      if (bytes >= limit) break;
      std::ifstream in(p, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      if (ValidateUtf8(ss.str()).ok()) {
        files.push_back(ss.str());
        bytes += files.back().size();
      }
    }
    if (files.empty()) {
      std::printf("| %s | 0 | | no corpus | | | | | | | | | |\n", lang.name.c_str());
      continue;
    }
    auto tokenizer = NewCodeTokenizer(&lang);
    Tokens tokens;
    size_t total_tokens = 0;
    uint64_t digest = 0;  // of every token's fields: a speedup must leave it unchanged
    std::vector<std::string> streams;  // each file's tokens as the index stores them
    for (const auto& f : files) {
      if (!tokenizer->Tokenize(f, &tokens).ok()) {
        std::fprintf(stderr, "verification failed: a %s file did not tokenize\n", lang.name.c_str());
        return 1;
      }
      total_tokens += tokens.size();
      streams.emplace_back();
      Tokens back;
      if (!EncodeTokenStream(tokens, &streams.back()) || !DecodeTokenStream(streams.back(), &back).ok() ||
          back.size() != tokens.size() ||
          !std::equal(back.begin(), back.end(), tokens.begin(), [](const Token& a, const Token& b) {
            return a.hash == b.hash && a.name == b.name && a.begin == b.begin && a.end == b.end && a.line == b.line;
          })) {
        std::fprintf(stderr, "verification failed: a %s file's token stream does not decode to its tokens\n",
                     lang.name.c_str());
        return 1;
      }
      for (const Token& t : tokens) {
        const uint64_t fields[5] = {t.hash, t.name, uint64_t{t.begin} << 32 | t.end, t.line, t.import};
        digest = XXH3_64bits_withSeed(fields, sizeof fields, digest);
      }
    }
    std::fprintf(stderr, "%s: %zu tokens, digest %016llx\n", lang.name.c_str(), total_tokens,
                 static_cast<unsigned long long>(digest));
    if (total_tokens < bytes / 20) {  // real code has a token every 4-8 bytes
      std::fprintf(stderr, "verification failed: %zu tokens from %zu bytes of %s\n", total_tokens, bytes,
                   lang.name.c_str());
      return 1;
    }
    TSParser* parser = ts_parser_new();
    if (!ts_parser_set_language(parser, DenseParseTable(lang.grammar))) return 1;
    TSParser* stock_parser = ts_parser_new();
    if (!ts_parser_set_language(stock_parser, lang.grammar)) return 1;
    SketchedDocument out;
    std::vector<uint64_t> hashes;
    std::vector<Fingerprint> fps;
    double stock = 0, parse = 0, tok = 0, fp = 0, sketch = 0, fp_low = 1e9, fp_high = 0, low = 1e9, high = 0, decode = 1e9;
    for (int r = 0; r < rounds; ++r) {
      auto parse_all = [&](TSParser* with) {
        return MBps(bytes, [&] {
          for (const auto& f : files) {
            ts_tree_delete(ts_parser_parse_string(with, nullptr, f.data(), static_cast<uint32_t>(f.size())));
          }
        });
      };
      // Stock and dense in turns, each first in every other round.
      double ps = 0, p = 0;
      if (r % 2 == 0) {
        ps = parse_all(stock_parser);
        p = parse_all(parser);
      } else {
        p = parse_all(parser);
        ps = parse_all(stock_parser);
      }
      const double t = MBps(bytes, [&] {
        for (const auto& f : files) tokenizer->Tokenize(f, &tokens);
      });
      const double g = MBps(bytes, [&] {
        for (const auto& f : files) {
          tokenizer->Tokenize(f, &tokens);
          TokenHashes(tokens, &hashes);
          sketcher.FingerprintsOf(hashes, Kind::kCode, &fps);
        }
      });
      const double k = MBps(bytes, [&] {
        for (const auto& f : files) {
          Document d;
          d.text = f;
          d.kind = Kind::kCode;
          d.language = lang.name;
          sketcher.Sketch(std::move(d), &out);
        }
      });
      const auto d0 = std::chrono::steady_clock::now();
      for (const auto& stream : streams) {
        Tokens fresh;  // as a candidate's tokens are read: into a new vector
        if (!DecodeTokenStream(stream, &fresh).ok()) return 1;
      }
      decode = std::min(decode, std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - d0).count() /
                                    static_cast<double>(total_tokens));
      stock = std::max(stock, ps);
      parse = std::max(parse, p);
      tok = std::max(tok, t);
      fp = std::max(fp, g);
      fp_low = std::min(fp_low, g / p);
      fp_high = std::max(fp_high, g / p);
      sketch = std::max(sketch, k);
      low = std::min(low, k / p);
      high = std::max(high, k / p);
    }
    ts_parser_delete(parser);
    ts_parser_delete(stock_parser);
    std::printf("| %s | %zu | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f%% | %.0f–%.0f%% | %.0f%% | %.0f%% | %.0f–%.0f%% | %.2f |\n",
                lang.name.c_str(), files.size(), bytes / 1e6, stock, parse, tok, fp, sketch, 100 * fp / parse,
                100 * fp_low, 100 * fp_high, 100 * fp / stock, 100 * sketch / parse, 100 * low, 100 * high, decode);
    std::fflush(stdout);
  }
  return 0;
}
