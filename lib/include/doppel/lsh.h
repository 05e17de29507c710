// Locality-sensitive hashing of MinHash signatures by banding.
//
// The signature is cut into `bands` bands of `rows` consecutive values; each band hashes to one
// key. Two documents with Jaccard similarity s share some band key with probability
//   P(s) = 1 - (1 - s^rows)^bands,
// an S-curve whose threshold, where P rises fastest, is near t = (1/bands)^(1/rows).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "doppel/minhash.h"

namespace doppel {

struct BandKey {
  uint32_t band;
  uint64_t key;
};

// One key per band. Requires bands * rows <= signature size.
void BandKeys(const Signature& sig, uint32_t bands, uint32_t rows, uint64_t seed,
              std::vector<BandKey>* out);

// P(s) above: the probability that documents of similarity s become candidates.
double CandidateProbability(double s, uint32_t bands, uint32_t rows);

// The approximate threshold (1/bands)^(1/rows).
double LshThreshold(uint32_t bands, uint32_t rows);

}  // namespace doppel
