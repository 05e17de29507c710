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

void MinHasher::Sketch(std::span<const uint64_t> shingles, Signature* out) const {
  const size_t n = mul_.size();
  out->assign(n, std::numeric_limits<uint32_t>::max());
  uint32_t* __restrict mins = out->data();
  const uint32_t* __restrict x = xor_.data();
  const uint32_t* __restrict m = mul_.data();
  for (const uint64_t h64 : shingles) {
    // Fold the 64-bit shingle hash once; each permutation is then
    //   p_i(v) = fmix(((v ^ x_i) * m_i)),
    // a bijection of 32-bit values (xor, odd multiply and xorshift-multiply are invertible).
    // The loop body has no branches and only 32-bit lanes, so it vectorizes (8 lanes on AVX2).
    const uint32_t v = static_cast<uint32_t>(h64 ^ (h64 >> 32));
    for (size_t i = 0; i < n; ++i) {
      uint32_t h = (v ^ x[i]) * m[i];
      h ^= h >> 15;
      h *= 0x2c1b3c6du;
      h ^= h >> 12;
      mins[i] = std::min(mins[i], h);
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
