// Shingles: hashes of consecutive token k-grams.
//
// A shingle hash depends on the token hashes, k and the seed only, never on byte offsets, so
// the same words in any layout give the same shingles. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "doppel/token.h"

namespace doppel {

// Hashes of every k-gram of `hashes` (n - k + 1 of them); a sequence shorter than k gives one
// hash over all of it, and an empty one gives none.
void HashKGrams(const std::vector<uint64_t>& hashes, uint32_t k, uint64_t seed,
                std::vector<uint64_t>* out);
// The hash HashKGrams gives the k-gram hashes[0, k).
uint64_t HashKGram(const uint64_t* hashes, uint32_t k, uint64_t seed);

// Token hashes, in order.
void TokenHashes(const Tokens& tokens, std::vector<uint64_t>* out);

}  // namespace doppel
