// Token: one normalized unit of a document, with where it came from.
//
// Tokenizers produce tokens; everything downstream (shingles, fingerprints, alignment) sees only
// `hash`, and maps results back to the original text through `begin`/`end`/`line`.
// Thread-safety: plain value.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace doppel {

struct Token {
  uint64_t hash = 0;   // hash of the normalized form (what matching compares)
  uint64_t name = 0;   // code identifiers and literals: hash of the original spelling; 0 otherwise
  uint32_t begin = 0;  // byte offset of the first byte in the original text
  uint32_t end = 0;    // byte offset one past the last byte (half-open)
  uint32_t line = 0;   // 1-based line of `begin`
  // Code parsed with a grammar: inside an import statement (the table's `imports` node types),
  // 1 + the byte offset where the statement begins in the text tokenized, an id that tells
  // statements apart; 0 elsewhere. The matcher reads it on the query side only; not stored.
  uint32_t import = 0;
};

using Tokens = std::vector<Token>;

}  // namespace doppel
