#include "doppel/lsh.h"

#include <xxhash.h>

#include <cmath>

namespace doppel {

void BandKeys(const Signature& sig, uint32_t bands, uint32_t rows, uint64_t seed,
              std::vector<BandKey>* out) {
  out->clear();
  if (static_cast<size_t>(bands) * rows > sig.size()) return;
  out->reserve(bands);
  for (uint32_t b = 0; b < bands; ++b) {
    // The band number is mixed into the seed so equal rows in different bands never collide.
    out->push_back(BandKey{
        b, XXH3_64bits_withSeed(sig.data() + static_cast<size_t>(b) * rows,
                                rows * sizeof(uint32_t), seed + 0x9e3779b97f4a7c15ULL * (b + 1))});
  }
}

double CandidateProbability(double s, uint32_t bands, uint32_t rows) {
  return 1.0 - std::pow(1.0 - std::pow(s, rows), bands);
}

double LshThreshold(uint32_t bands, uint32_t rows) {
  return std::pow(1.0 / bands, 1.0 / rows);
}

}  // namespace doppel
