// Winnowing (Schleimer, Wilkerson, Aiken, "Winnowing: local algorithms for document
// fingerprinting", SIGMOD 2003).
//
// From the k-gram hashes h[0..n), every window of w consecutive hashes selects its minimum (the
// rightmost one on ties), and each selected position is recorded once. Guarantees, tested:
//   * every window of w hashes contains a selected position, so two documents sharing a run
//     of at least w + k - 1 tokens share at least one fingerprint;
//   * consecutive selected positions are at most w apart;
//   * on random hashes about 2 / (w + 1) of the positions are selected.
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <vector>

namespace doppel {

struct Fingerprint {
  uint64_t hash;
  uint32_t position;  // index of the k-gram, which is also the index of its first token
};

// Selects fingerprints from `grams`. Fewer than w hashes form one window.
void Winnow(const std::vector<uint64_t>& grams, uint32_t window, std::vector<Fingerprint>* out);

}  // namespace doppel
