// MinHash signatures (Broder 1997): for each of n hash permutations, the minimum over a
// document's shingles. The share of equal positions between two signatures estimates the
// Jaccard similarity of the shingle sets with standard error sqrt(J(1-J)/n).
//
// Each shingle is hashed once to 64 bits; permutation i is then a cheap bijective 32-bit mix of
// that hash with per-permutation constants, laid out so the compiler vectorizes the loop over
// permutations. Thread-safety: a MinHasher is immutable; Sketch may run concurrently.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace doppel {

using Signature = std::vector<uint32_t>;

class MinHasher {
 public:
  MinHasher(uint32_t num_permutations, uint64_t seed);
  uint32_t num_permutations() const { return static_cast<uint32_t>(mul_.size()); }

  // Signature of a set of shingle hashes (duplicates allowed). An empty set gives the all-max
  // signature, which matches nothing but another empty document.
  void Sketch(std::span<const uint64_t> shingles, Signature* out) const;

 private:
  std::vector<uint32_t> xor_;  // per-permutation constants
  std::vector<uint32_t> mul_;  // odd multipliers
};

// Share of equal positions; signatures of different lengths give 0.
double EstimateJaccard(const Signature& a, const Signature& b);

}  // namespace doppel
