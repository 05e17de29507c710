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

struct AlignOptions {
  uint32_t seed_size = 3;
  uint32_t max_gap = 24;
  uint32_t max_drift = 12;
  uint32_t min_matched = 12;  // chains covering fewer query tokens are dropped
};

struct AlignedSpan {
  uint32_t q_begin, q_end;  // token positions, half-open
  uint32_t s_begin, s_end;
  uint32_t matched;         // query tokens inside shared seeds (plus extension)
  // Aligned token positions (query, source), ascending: the seeds' tokens and the extensions.
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
};

void Align(const std::vector<uint64_t>& query, const std::vector<uint64_t>& source,
           const AlignOptions& options, std::vector<AlignedSpan>* out);

}  // namespace doppel
