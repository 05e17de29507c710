// Writes a deterministic JSONL corpus of synthetic prose documents:
//   gen_corpus OUT.jsonl DOCUMENTS [BYTES_PER_DOC=1000] [SEED=1]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "corpus.h"
#include "doppel/format.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: gen_corpus OUT.jsonl DOCUMENTS [BYTES_PER_DOC] [SEED]\n");
    return 2;
  }
  const size_t n = std::strtoull(argv[2], nullptr, 10);
  const size_t bytes = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1000;
  const uint64_t seed = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1;
  std::FILE* out = std::fopen(argv[1], "wb");
  if (!out) {
    std::perror(argv[1]);
    return 2;
  }
  doppel::bench::ProseGenerator g(seed);
  std::string line;
  for (size_t i = 0; i < n; ++i) {
    line = "{\"id\":\"doc-" + std::to_string(i) + "\",\"text\":";
    doppel::AppendJsonString(&line, g.Text(bytes));
    line += ",\"source\":\"synthetic\"}\n";
    std::fwrite(line.data(), 1, line.size(), out);
  }
  return std::fclose(out) == 0 ? 0 : 2;
}
