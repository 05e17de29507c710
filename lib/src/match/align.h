// Alignment of a query against one candidate source, in token positions.
//
// Seeds are the positions where the two token sequences share a k-gram (every k-gram, not only
// the winnowed ones). Seeds are chained as in minimap2's chaining (Li 2018), simplified: a seed
// may follow another when both its query and source positions advance, by at most max_gap + k
// tokens, and the diagonals (source − query position) differ by at most max_drift — so
// insertions and deletions of a few words keep one chain while unrelated matches do not join.
// Each chain becomes a span, whose ends are then extended token by token while the tokens agree.
#pragma once

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
};

struct AlignedSpan {
  uint32_t q_begin, q_end;  // token positions, half-open
  uint32_t s_begin, s_end;
  uint32_t matched;         // query tokens inside shared seeds (plus extension)
  // Aligned token positions (query, source), ascending: the seeds' tokens and the extensions.
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
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
