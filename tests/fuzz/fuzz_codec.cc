// libFuzzer target: every decoder of stored values (manifest, document records, posting lists,
// signatures, id keys, code token streams) on arbitrary bytes. The first byte picks the decoder.
// Decoded posting lists must be ascending; a token stream gets a valid checksum appended (so the
// fuzzer reaches the parser behind it), and one that decodes must re-encode and decode to the
// same tokens.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include <xxhash.h>

#include <string>

#include "doppel/token_stream.h"
#include "index/codec.h"

using namespace doppel;

namespace {
// The stored fields of two tokens are equal.
bool SameToken(const Token& a, const Token& b) {
  return a.hash == b.hash && a.name == b.name && a.begin == b.begin && a.end == b.end && a.line == b.line;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view v(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 6) {
    case 0: {
      SketchParams p;
      (void)codec::DecodeManifest(v, &p);
      break;
    }
    case 1:
      (void)codec::DecodeDocument(7, v);
      break;
    case 2: {
      std::vector<uint32_t> ids;
      bool saturated = false;
      if (codec::DecodePostingIds(v, &ids, &saturated).ok()) {
        for (size_t i = 1; i < ids.size(); ++i) {
          if (ids[i] <= ids[i - 1]) std::abort();  // ascending, no duplicates
        }
      }
      break;
    }
    case 3:
      (void)codec::DecodeSignature(v);
      break;
    case 4: {
      std::string stream(v);
      const uint64_t h = XXH3_64bits(stream.data(), stream.size());
      for (int i = 0; i < 8; ++i) stream.push_back(static_cast<char>(h >> (8 * i)));
      Tokens tokens, again;
      const bool whole = DecodeTokenStream(stream, &tokens).ok();
      // A stream that opens reads in bounds over any range, whatever its fields hold; one that
      // decodes whole gives its tokens over any range.
      TokenStreamReader reader;
      if (reader.Open(stream).ok()) {
        std::vector<uint64_t> hashes;
        reader.Hashes(&hashes);
        const size_t n = reader.size();
        if (whole && n != tokens.size()) std::abort();
        for (const size_t b : {size_t{0}, n / 3, n / 2, n}) {
          for (const size_t e : {n / 2, n}) {
            if (b > e) continue;
            Tokens part;
            const bool ok = reader.Decode(b, e, &part).ok();
            if (!whole) continue;
            if (!ok || part.size() != e - b) std::abort();
            for (size_t i = 0; i < part.size(); ++i) {
              if (!SameToken(part[i], tokens[b + i]) || hashes[b + i] != tokens[b + i].hash) std::abort();
            }
          }
        }
      } else if (whole) {
        std::abort();
      }
      if (!whole) break;
      std::string encoded;
      if (!EncodeTokenStream(tokens, &encoded) || !DecodeTokenStream(encoded, &again).ok() ||
          again.size() != tokens.size()) {
        std::abort();
      }
      for (size_t i = 0; i < tokens.size(); ++i) {
        if (!SameToken(again[i], tokens[i])) std::abort();
      }
      break;
    }
    default:
      (void)codec::DecodeIdKey(v);
  }
  return 0;
}
