// libFuzzer target: the JSON Lines reader over plain, gzip and zstd files (the first byte picks
// the format; the rest is the file's bytes, compressed or not), and the JSON line parser.
// Invariants: no crash; every error names the file; reading ends.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "doppel/reader.h"
#include "doppel/streams.h"

using namespace doppel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* kExt[] = {".jsonl", ".jsonl.gz", ".jsonl.zst"};
  const std::string path = "/tmp/doppel-fuzz-" + std::to_string(::getpid()) + kExt[data[0] % 3];
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data + 1, 1, size - 1, f);
  std::fclose(f);
  ReaderOptions o;
  o.max_document_bytes = 1 << 16;
  auto reader = DocumentReader::Open({path}, o);
  if (reader.ok()) {
    Document d;
    for (int i = 0; i < 100000; ++i) {  // bounded: every call consumes input or ends
      auto more = (*reader)->Next(&d);
      if (!more.ok()) {
        if (more.status().message().find(path) == std::string::npos) std::abort();
        continue;
      }
      if (!*more) break;
    }
  }
  std::remove(path.c_str());
  // The line parser alone, on the raw bytes.
  simdjson::dom::parser parser;
  Document d;
  double priority = 0;
  (void)ParseJsonLineDocument(std::string_view(reinterpret_cast<const char*>(data), size), o, "fuzz", &parser, &d,
                              "priority", &priority);
  return 0;
}
