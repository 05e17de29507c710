#include "doppel/minhash.h"

#include <xxhash.h>

#include <algorithm>
#include <limits>

namespace doppel {

MinHasher::MinHasher(uint32_t num_permutations, uint64_t seed)
    : xor_(num_permutations), mul_(num_permutations) {
  // Per-permutation constants drawn from a seeded stream (splitmix64), so the same seed always
  // gives the same permutations. These constants are part of the stored format.
  uint64_t state = seed;
  auto next = [&state]() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  for (uint32_t i = 0; i < num_permutations; ++i) {
    const uint64_t r = next();
    xor_[i] = static_cast<uint32_t>(r);
    mul_[i] = static_cast<uint32_t>(r >> 32) | 1u;  // odd, hence invertible mod 2^32
  }
}

namespace {

// Permutations are processed in blocks of kLanes with a compile-time trip count, so the inner
// loop becomes straight vector code (one AVX-512 register, two AVX2 registers) even under -O2's
// cheap vectorization model, and the block's minima stay in registers across shingles.
constexpr size_t kLanes = 16;

// p_i(v) = fmix((v ^ x_i) * m_i): a bijection of 32-bit values (xor, odd multiply and
// xorshift-multiply are each invertible), with only 32-bit lanes and no branches.
inline uint32_t Permute(uint32_t v, uint32_t x, uint32_t m) {
  uint32_t h = (v ^ x) * m;
  h ^= h >> 15;
  h *= 0x2c1b3c6du;
  h ^= h >> 12;
  return h;
}

}  // namespace

void MinHasher::Sketch(std::span<const uint64_t> shingles, Signature* out) const {
  const size_t n = mul_.size();
  out->assign(n, std::numeric_limits<uint32_t>::max());
  // Fold each 64-bit shingle hash to 32 bits once, in chunks that stay in L1 across blocks.
  constexpr size_t kChunk = 2048;
  uint32_t folded[kChunk];
  for (size_t c = 0; c < shingles.size(); c += kChunk) {
    const size_t len = std::min(kChunk, shingles.size() - c);
    for (size_t s = 0; s < len; ++s) {
      const uint64_t h64 = shingles[c + s];
      folded[s] = static_cast<uint32_t>(h64 ^ (h64 >> 32));
    }
    size_t p = 0;
    for (; p + kLanes <= n; p += kLanes) {
      uint32_t acc[kLanes], x[kLanes], m[kLanes];
      for (size_t j = 0; j < kLanes; ++j) {
        acc[j] = (*out)[p + j];
        x[j] = xor_[p + j];
        m[j] = mul_[p + j];
      }
      for (size_t s = 0; s < len; ++s) {
        const uint32_t v = folded[s];
        for (size_t j = 0; j < kLanes; ++j) acc[j] = std::min(acc[j], Permute(v, x[j], m[j]));
      }
      for (size_t j = 0; j < kLanes; ++j) (*out)[p + j] = acc[j];
    }
    for (; p < n; ++p) {  // permutations beyond the last full block
      uint32_t acc = (*out)[p];
      for (size_t s = 0; s < len; ++s) acc = std::min(acc, Permute(folded[s], xor_[p], mul_[p]));
      (*out)[p] = acc;
    }
  }
}

double EstimateJaccard(const Signature& a, const Signature& b) {
  if (a.size() != b.size() || a.empty()) return 0.0;
  size_t eq = 0;
  for (size_t i = 0; i < a.size(); ++i) eq += (a[i] == b[i]);
  return static_cast<double>(eq) / static_cast<double>(a.size());
}

}  // namespace doppel
