#include "doppel/shingle.h"

#include <xxhash.h>

namespace doppel {

void TokenHashes(const Tokens& tokens, std::vector<uint64_t>* out) {
  out->resize(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) (*out)[i] = tokens[i].hash;
}

void HashKGrams(const std::vector<uint64_t>& hashes, uint32_t k, uint64_t seed,
                std::vector<uint64_t>* out) {
  out->clear();
  if (hashes.empty() || k == 0) return;
  if (hashes.size() < k) {
    out->push_back(XXH3_64bits_withSeed(hashes.data(), hashes.size() * sizeof(uint64_t), seed));
    return;
  }
  const size_t n = hashes.size() - k + 1;
  out->resize(n);
  // One xxh3 over the k token hashes: order-sensitive and well mixed, ~1 ns per token hash.
  for (size_t i = 0; i < n; ++i) {
    (*out)[i] = HashKGram(hashes.data() + i, k, seed);
  }
}

uint64_t HashKGram(const uint64_t* hashes, uint32_t k, uint64_t seed) {
  return XXH3_64bits_withSeed(hashes, k * sizeof(uint64_t), seed);
}

}  // namespace doppel
