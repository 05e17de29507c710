// Alignment of a query against one candidate source, in token positions.
//
// Seeds are the positions where the two token sequences share a k-gram (every k-gram, not only
// the winnowed ones). Seeds are chained as in minimap2's chaining (Li 2018), simplified: a seed
// may follow another when both its query and source positions advance, by at most max_gap + k
// tokens, and the diagonals (source − query position) differ by at most max_drift — so
// insertions and deletions of a few words keep one chain while unrelated matches do not join.
// Each chain becomes a span: its seeds' tokens, the tokens between two of its seeds on one
// diagonal when all of them agree (where a shape repeated too often to seed was skipped), and
// its ends extended token by token while the tokens agree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace doppel {

// A position pair where query and source share a winnowed fingerprint.
struct Anchor {
  uint32_t q, s;
};

struct AlignOptions {
  uint32_t seed_size = 3;
  uint32_t max_gap = 24;
  uint32_t max_drift = 12;
  uint32_t min_matched = 12;  // chains covering fewer query tokens are dropped
  // With anchors (sorted by q), only seeds within anchor_reach query tokens of an anchor and
  // within anchor_reach of its diagonal are chained: a copy shares fingerprints every few
  // tokens, while the seeds of common shapes scattered over a large source share none nearby.
  const std::vector<Anchor>* anchors = nullptr;
  uint32_t anchor_reach = 48;
  // How far from an anchor's diagonal a seed may lie (UINT32_MAX: anchor_reach). Anchors that
  // place a copy among repetitions of its shape a few dozen tokens apart take it narrower, so the
  // neighbouring repetitions' diagonals are not chained instead.
  uint32_t anchor_diagonal_reach = UINT32_MAX;
};

struct AlignedSpan {
  uint32_t q_begin, q_end;  // token positions, half-open
  uint32_t s_begin, s_end;
  uint32_t matched;         // query tokens inside shared seeds (plus extension)
  // Aligned token positions (query, source), ascending: the seeds' tokens and the extensions.
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
};

// A polynomial rolling hash of k consecutive token hashes (which are already well mixed): one
// multiply-add per position when sliding. For grams compared within one check, never stored
// (seed grams; the screen that finds where a source holds an answer's fingerprints).
class RollingHash {
 public:
  explicit RollingHash(uint32_t k) : k_(k) {
    for (uint32_t i = 1; i < k_; ++i) pow_ *= kBase;
  }
  uint32_t k() const { return k_; }
  // The value of t[0, k).
  uint64_t At(const uint64_t* t) const {
    uint64_t r = 0;
    for (uint32_t i = 0; i < k_; ++i) r = r * kBase + t[i];
    return r;
  }
  // The value one position on: `r` was the value of t[i, i + k); `out` is t[i], `in` t[i + k].
  uint64_t Slide(uint64_t r, uint64_t out, uint64_t in) const { return (r - out * pow_) * kBase + in; }

 private:
  static constexpr uint64_t kBase = 0x9E3779B97F4A7C15ull;
  uint32_t k_;
  uint64_t pow_ = 1;  // kBase^(k-1)
};

// The k-gram hashes of a token sequence (one per position, none when it is shorter than k): a
// rolling hash, for seeds compared within one check (never stored).
void SeedGrams(const std::vector<uint64_t>& tokens, uint32_t k, std::vector<uint64_t>* out);

// A query's k-grams in an open-addressing table, built once and aligned against many sources.
class QueryGrams {
 public:
  QueryGrams(const std::vector<uint64_t>& query, uint32_t k);
  uint32_t k() const { return k_; }

 private:
  friend void Align(const QueryGrams&, const std::vector<uint64_t>&, const std::vector<uint64_t>&,
                    const std::vector<uint64_t>*, const AlignOptions&, std::vector<AlignedSpan>*);
  // The slot of `gram`, or UINT32_MAX.
  uint32_t Find(uint64_t gram) const;

  uint32_t k_;
  std::vector<uint64_t> grams_;  // per query position
  uint64_t mask_ = 0;
  // A bit per hash value (the slot hash's top bits), set for every query gram: most source grams
  // are not the query's, and one bit in a small array tells so without probing the slots.
  uint32_t filter_shift_ = 0;
  std::vector<uint64_t> filter_;
  // The word of filter_ that holds slot hash `h`'s bit, and the bit.
  std::pair<std::size_t, uint64_t> FilterBit(uint64_t h) const {
    const uint64_t b = h >> filter_shift_;
    return {b / 64, uint64_t{1} << (b % 64)};
  }
  std::vector<uint64_t> keys_;   // per slot; kEmpty when free
  std::vector<uint32_t> last_;   // per slot: the gram's last query position
  std::vector<uint32_t> count_;  // per slot: its occurrences in the query
  std::vector<uint32_t> next_;   // per query position: the previous position of its gram
};

// `source_grams` is SeedGrams(source, q.k()), or null: then the grams are made where they are
// looked at (with anchors, only near them), which is cheaper than making them all for a large
// source aligned once.
void Align(const QueryGrams& q, const std::vector<uint64_t>& query, const std::vector<uint64_t>& source,
           const std::vector<uint64_t>* source_grams, const AlignOptions& options,
           std::vector<AlignedSpan>* out);

// The same, building both sides' grams (tests and one-off alignments).
void Align(const std::vector<uint64_t>& query, const std::vector<uint64_t>& source,
           const AlignOptions& options, std::vector<AlignedSpan>* out);

}  // namespace doppel
