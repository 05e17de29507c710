// The raw tree-sitter parse rate of a set of code files on N threads: the ceiling that code
// scanning is measured against (bench/run_scan.sh).
//   parse_rate THREADS FILE...
// Each file is parsed with the pinned grammar of its extension (ts_parser_parse_string +
// ts_tree_delete), in parallel over files, three times; the best pass is reported. The parsers
// read the grammar's dense parse table, as doppel's tokenizers do (DenseParseTable: the same
// parse, 2-21% faster on whole files than the grammar's own table in bench/code_bench.cc).
#include <tbb/global_control.h>
#include <tbb/parallel_for_each.h>
#include <tree_sitter/api.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "code/dense_parse_table.h"
#include "doppel/language.h"

using namespace doppel;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: parse_rate THREADS FILE...\n");
    return 2;
  }
  const int threads = std::atoi(argv[1]);
  struct File {
    const Language* lang;
    std::string text;
  };
  std::vector<File> files;
  size_t bytes = 0;
  for (int i = 2; i < argc; ++i) {
    const Language* l = LanguageForPath(argv[i]);
    if (l == nullptr || l->grammar == nullptr) continue;
    std::ifstream in(argv[i], std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    files.push_back({l, ss.str()});
    bytes += files.back().text.size();
  }
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));
  double best = 1e30;
  for (int pass = 0; pass < 3; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    tbb::parallel_for_each(files.begin(), files.end(), [](const File& f) {
      thread_local TSParser* parser = ts_parser_new();
      ts_parser_set_language(parser, DenseParseTable(f.lang->grammar));
      ts_tree_delete(ts_parser_parse_string(parser, nullptr, f.text.data(), static_cast<uint32_t>(f.text.size())));
    });
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("raw parse: %zu files, %.1f MB in %.2f s on %d thread(s) = %.1f MB/s\n", files.size(), bytes / 1e6, best,
              threads, bytes / 1e6 / best);
  return 0;
}
